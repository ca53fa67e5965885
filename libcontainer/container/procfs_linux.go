package container

import (
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// writeProc writes value to /proc/<rel> (rel like "sys/net/ipv4/ip_forward")
// only if the file really is procfs's: the config controls the container's
// mounts, and a directory or symlink mounted over part of /proc could turn a
// runtime write into one on the host (CVE-2025-52881 class). /proc must be a
// procfs mount, and the path is resolved without symlinks and without
// crossing into another mount.
func writeProc(rel, value string) error {
	dir, err := unix.Open("/proc", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open /proc: %w", err)
	}
	defer unix.Close(dir)
	var st unix.Statfs_t
	if err := unix.Fstatfs(dir, &st); err != nil {
		return fmt.Errorf("statfs /proc: %w", err)
	}
	if st.Type != unix.PROC_SUPER_MAGIC {
		return fmt.Errorf("/proc is not procfs")
	}
	fd, err := unix.Openat2(dir, strings.TrimPrefix(rel, "/"), &unix.OpenHow{
		Flags:   unix.O_WRONLY | unix.O_CLOEXEC | unix.O_NOFOLLOW,
		Resolve: unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_BENEATH | unix.RESOLVE_NO_XDEV | unix.RESOLVE_NO_MAGICLINKS,
	})
	if err != nil {
		return fmt.Errorf("open /proc/%s: %w", rel, err)
	}
	defer unix.Close(fd)
	if err := unix.Fstatfs(fd, &st); err != nil || st.Type != unix.PROC_SUPER_MAGIC {
		return fmt.Errorf("/proc/%s is not on procfs", rel)
	}
	if _, err := unix.Write(fd, []byte(value)); err != nil {
		return fmt.Errorf("write /proc/%s: %w", rel, err)
	}
	return nil
}
