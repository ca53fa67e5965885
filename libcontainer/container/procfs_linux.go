package container

import (
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// procRootIno is the inode number of procfs's root directory (PROC_ROOT_INO
// in the kernel's fs/proc/internal.h).
const procRootIno = 1

// writeProc writes value to /proc/<rel> (rel like "sys/net/ipv4/ip_forward")
// through openProcAt: in the procfs at proc, or at "/proc" when proc is -1.
func writeProc(proc int, rel, value string) error {
	f, err := openProcAt(proc, rel, unix.O_WRONLY)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.WriteString(value)
	return err
}

// openProc opens /proc/<rel> only if it is procfs's own file: the config
// controls the container's mounts, and a directory, file or symlink mounted
// over part of /proc could turn a runtime write into one on the host
// (CVE-2025-52881 class) or into one that changes nothing, such as an LSM
// label written to a plain file (CVE-2019-16884). /proc must be the root of
// a procfs mount, and the path is resolved beneath it without symlinks and
// without crossing into another mount, which also refuses a file mounted
// over the target itself.
//
// rel may start with "self/" or "thread-self/": those are procfs's own
// symlinks, to <pid> and <pid>/task/<tid> as this procfs numbers the
// caller. They are followed, on the same mount only, because unlike
// getpid() they name the caller even when /proc belongs to another pid
// namespace, where /proc/<getpid()> is some other process (or none: then
// the open fails).
//
// The file is returned named /proc/<rel>, so its errors read
// "write /proc/<rel>: ...".
func openProc(rel string, flags int) (*os.File, error) {
	return openProcAt(-1, rel, flags)
}

// openProcAt is openProc in the procfs whose root directory proc is open
// on (the runtime's /proc, kept by an init that chrooted into a rootfs
// with nothing mounted), or at "/proc" when proc is -1. The checks are the
// same: proc too must be the root of a procfs.
func openProcAt(proc int, rel string, flags int) (*os.File, error) {
	rel = strings.TrimPrefix(rel, "/")
	name := "/proc/" + rel
	dir := proc
	if dir < 0 {
		var err error
		if dir, err = unix.Open("/proc", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0); err != nil {
			return nil, fmt.Errorf("open /proc: %w", err)
		}
		defer unix.Close(dir)
	}
	var sfs unix.Statfs_t
	if err := unix.Fstatfs(dir, &sfs); err != nil {
		return nil, fmt.Errorf("statfs /proc: %w", err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(dir, &st); err != nil {
		return nil, fmt.Errorf("stat /proc: %w", err)
	}
	if sfs.Type != unix.PROC_SUPER_MAGIC || st.Ino != procRootIno {
		return nil, fmt.Errorf("open %s: /proc is not the root of a procfs", name)
	}
	const strict = unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_BENEATH | unix.RESOLVE_NO_XDEV | unix.RESOLVE_NO_MAGICLINKS
	base, path := dir, rel
	if first, after, ok := strings.Cut(rel, "/"); ok && (first == "self" || first == "thread-self") {
		sub, err := unix.Openat2(dir, first, &unix.OpenHow{
			Flags:   unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC,
			Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_XDEV | unix.RESOLVE_NO_MAGICLINKS,
		})
		if err != nil {
			return nil, fmt.Errorf("open %s: %s: %w", name, first, err)
		}
		defer unix.Close(sub)
		base, path = sub, after
	}
	fd, err := unix.Openat2(base, path, &unix.OpenHow{Flags: uint64(flags) | unix.O_CLOEXEC | unix.O_NOFOLLOW, Resolve: strict})
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", name, err)
	}
	if err := unix.Fstatfs(fd, &sfs); err != nil || sfs.Type != unix.PROC_SUPER_MAGIC {
		unix.Close(fd)
		return nil, fmt.Errorf("open %s: not on procfs", name)
	}
	return os.NewFile(uintptr(fd), name), nil
}
