package container

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// sealedExe returns tupper's own binary on a read-only, detached bind mount,
// to execute the init (and exec's process) from.
//
// CVE-2019-5736: a process in the container can open /proc/PID/exe of a
// runtime process that runs in its pid namespace (the init before it
// executes the container's process, or `tupper exec` joining it) and, once
// that process has executed something else, write through that fd to the
// runtime binary on the host. Executed from a read-only mount, the binary
// cannot be opened for writing (EROFS) through any of these paths. The mount
// is cloned with open_tree(OPEN_TREE_CLONE) and made read-only with
// mount_setattr: it is attached to no mount namespace, so nothing is left to
// clean up, and it costs two system calls where a copy of the binary per
// container (memfd) would cost milliseconds. The child gets the fd as one of
// its ExtraFiles and is executed as /proc/self/fd/N.
//
// open_tree needs CAP_SYS_ADMIN over the mount namespace; a rootless
// runtime without it gets a sealed memfd copy instead (sealedCopy).
func sealedExe() (*os.File, error) {
	fd, err := unix.OpenTree(unix.AT_FDCWD, "/proc/self/exe", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
	if err == unix.EPERM {
		return sealedCopy()
	}
	if err != nil {
		return nil, fmt.Errorf("seal runtime binary: open_tree: %w", err)
	}
	attr := &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV}
	if err := unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH, attr); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("seal runtime binary: mount_setattr: %w", err)
	}
	return os.NewFile(uintptr(fd), "tupper-sealed"), nil
}

// sealedCopy copies the binary into a memfd sealed against any write,
// growth or shrinking, and against new seals: the fd a container might
// reach through /proc/PID/exe then names this copy, which cannot be
// written (EPERM), and never the file on the host. It costs a copy of the
// binary per container, so it is only the fallback.
func sealedCopy() (_ *os.File, retErr error) {
	fd, err := unix.MemfdCreate("tupper", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING|unix.MFD_EXEC)
	if err == unix.EINVAL {
		fd, err = unix.MemfdCreate("tupper", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING) // before Linux 6.3
	}
	if err != nil {
		return nil, fmt.Errorf("seal runtime binary: memfd_create: %w", err)
	}
	mem := os.NewFile(uintptr(fd), "tupper-sealed")
	defer func() {
		if retErr != nil {
			mem.Close()
		}
	}()
	self, err := os.Open("/proc/self/exe")
	if err != nil {
		return nil, fmt.Errorf("seal runtime binary: %w", err)
	}
	defer self.Close()
	if _, err := io.Copy(mem, self); err != nil {
		return nil, fmt.Errorf("seal runtime binary: copy: %w", err)
	}
	seals := unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	if _, err := unix.FcntlInt(mem.Fd(), unix.F_ADD_SEALS, seals); err != nil {
		return nil, fmt.Errorf("seal runtime binary: add seals: %w", err)
	}
	return mem, nil
}
