package rootfs

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// copyUp fills the tmpfs just mounted at dest with the contents of lower, the
// directory it covers ("tmpcopyup: copy up the contents to a tmpfs"
// -runtime-spec config.md): files, directories, symlinks and nodes, with their
// owners and modes. Timestamps and extended attributes are not copied.
func (r *root) copyUp(lower int, dest string) error {
	fd, err := r.open(dest)
	if err != nil {
		return err
	}
	upper, err := unix.Openat(fd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	unix.Close(fd)
	if err != nil {
		return err
	}
	defer unix.Close(upper)
	return copyDir(lower, upper)
}

// copyDir copies the entries of the directory src into dst. Neither side is
// ever followed through a symlink.
func copyDir(src, dst int) error {
	dup, err := unix.Dup(src)
	if err != nil {
		return err
	}
	f := os.NewFile(uintptr(dup), "lower")
	names, err := f.Readdirnames(-1)
	f.Close()
	if err != nil {
		return err
	}
	for _, name := range names {
		if err := copyEntry(src, dst, name); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

func copyEntry(src, dst int, name string) error {
	var st unix.Stat_t
	if err := unix.Fstatat(src, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return err
	}
	perm := st.Mode & 0o7777
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		if err := unix.Mkdirat(dst, name, 0o700); err != nil {
			return err
		}
		s, err := unix.Openat(src, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(s)
		d, err := unix.Openat(dst, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(d)
		if err := copyDir(s, d); err != nil {
			return err
		}
	case unix.S_IFREG:
		if err := copyFile(src, dst, name); err != nil {
			return err
		}
	case unix.S_IFLNK:
		buf := make([]byte, unix.PathMax)
		n, err := unix.Readlinkat(src, name, buf)
		if err != nil {
			return err
		}
		if err := unix.Symlinkat(string(buf[:n]), dst, name); err != nil {
			return err
		}
	default: // devices, fifos, sockets
		if err := unix.Mknodat(dst, name, st.Mode, int(st.Rdev)); err != nil {
			return err
		}
	}
	// An owner outside the user namespace's mapping cannot be given (EINVAL);
	// the copy then stays root's, like anything else the runtime creates.
	if err := unix.Fchownat(dst, name, int(st.Uid), int(st.Gid), unix.AT_SYMLINK_NOFOLLOW); err != nil && err != unix.EINVAL {
		return err
	}
	if st.Mode&unix.S_IFMT == unix.S_IFLNK {
		return nil
	}
	// After the chown, which clears set-user-ID and set-group-ID.
	return unix.Fchmodat(dst, name, perm, 0)
}

func copyFile(src, dst int, name string) error {
	s, err := unix.Openat(src, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	in := os.NewFile(uintptr(s), name)
	defer in.Close()
	d, err := unix.Openat(dst, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return err
	}
	out := os.NewFile(uintptr(d), name)
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
