package container

import (
	"fmt"
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
func sealedExe() (*os.File, error) {
	fd, err := unix.OpenTree(unix.AT_FDCWD, "/proc/self/exe", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
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
