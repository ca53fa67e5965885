package rootfs

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// Finalize runs after Pivot, in the container's root: it applies
// linux.rootfsPropagation to "/", points stdio that is the host's /dev/null at
// the container's, makes linux.readonlyPaths read-only, masks
// linux.maskedPaths, and makes /dev (when its mount asked for ro) and, for
// root.readonly, "/" read-only. Paths that do not exist are skipped.
func Finalize(cfg *Config) error {
	spec := cfg.Spec
	if spec == nil {
		return errors.New("finalize rootfs: no spec")
	}
	r, err := openRoot("/", procFDUsable())
	if err != nil {
		return fmt.Errorf("open /: %w", err)
	}
	defer r.close()
	if lin := spec.Linux; lin != nil {
		prop, err := rootPropagation(lin.RootfsPropagation)
		if err != nil {
			return err
		}
		if prop != 0 {
			if err := unix.Mount("", "/", "", prop, ""); err != nil {
				return fmt.Errorf("set propagation of / to %s: %w", lin.RootfsPropagation, err)
			}
		}
	}
	if err := ReopenDevNull(); err != nil {
		return fmt.Errorf("reopen /dev/null for stdio: %w", err)
	}
	if lin := spec.Linux; lin != nil {
		for _, p := range lin.ReadonlyPaths {
			if err := r.readonlyPath(p); err != nil {
				return fmt.Errorf("make %s read-only: %w", p, err)
			}
		}
		null := -1
		defer func() {
			if null >= 0 {
				unix.Close(null)
			}
		}()
		for _, p := range lin.MaskedPaths {
			if err := r.maskPath(p, &null); err != nil {
				return fmt.Errorf("mask %s: %w", p, err)
			}
		}
	}
	if flags, ok := devReadonlyFlags(cfg); ok {
		fd, err := r.open("/dev")
		if err != nil {
			return fmt.Errorf("remount /dev read-only: %w", err)
		}
		err = r.remountBind(fd, "/dev", flags)
		unix.Close(fd)
		if err != nil {
			return fmt.Errorf("remount /dev read-only: %w", err)
		}
	}
	if spec.Root != nil && spec.Root.Readonly {
		if err := remountRootReadonly(); err != nil {
			return fmt.Errorf("remount / read-only: %w", err)
		}
	}
	return nil
}

// readonlyPath binds p onto itself and remounts the bind ro,nosuid,nodev,noexec.
func (r *root) readonlyPath(p string) error {
	fd, err := r.open(p)
	if missing(err) {
		return nil
	}
	if err != nil {
		return err
	}
	target := r.target(fd, p)
	err = unix.Mount(target, target, "", unix.MS_BIND|unix.MS_REC, "")
	unix.Close(fd)
	if err != nil {
		return err
	}
	// fd names what is under the new bind; reach the bind itself.
	if fd, err = r.open(p); err != nil {
		return err
	}
	defer unix.Close(fd)
	return r.remountBind(fd, p, unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC)
}

// maskPath hides p: a file under a bind of /dev/null, a directory under an
// empty read-only tmpfs. *null caches the checked /dev/null descriptor.
func (r *root) maskPath(p string, null *int) error {
	fd, err := r.open(p)
	if missing(err) {
		return nil
	}
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return unix.Mount("tmpfs", r.target(fd, p), "tmpfs", unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "")
	}
	if *null < 0 {
		// The image controls /dev when it is not a tmpfs: make sure this is
		// the null device and not a symlink to something we would then mount
		// over every masked path (CVE-2025-31133).
		n, err := openNode("/dev/null", unix.S_IFCHR)
		if err != nil {
			return err
		}
		var st unix.Stat_t
		if err := unix.Fstat(n, &st); err != nil || st.Rdev != unix.Mkdev(1, 3) {
			unix.Close(n)
			return errors.New("/dev/null is not the null device")
		}
		*null = n
	}
	return unix.Mount(r.target(*null, "/dev/null"), r.target(fd, p), "", unix.MS_BIND, "")
}

// devReadonlyFlags returns the flags to remount /dev with when its mount asked
// for ro; Mount left it writable to create the devices.
func devReadonlyFlags(cfg *Config) (uintptr, bool) {
	var flags uintptr
	found := false
	for _, m := range cfg.Spec.Mounts {
		if isDev(m.Destination) {
			o, err := parseOptions(m.Options)
			if err != nil {
				continue
			}
			flags, found = o.flags&remountFlags, true
		}
	}
	return flags, found && flags&unix.MS_RDONLY != 0
}

// remountRootReadonly remounts "/" read-only, keeping its nosuid, nodev and
// noexec: a bind remount sets all the per-mount flags at once.
func remountRootReadonly() error {
	var st unix.Statfs_t
	if err := unix.Statfs("/", &st); err != nil {
		return err
	}
	flags := unix.MS_BIND | unix.MS_REMOUNT | unix.MS_RDONLY |
		statfsFlags(st.Flags)&(unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC)
	return unix.Mount("", "/", "", uintptr(flags), "")
}

// ReopenDevNull replaces stdio descriptors open on the host's /dev/null with
// the container's, as runc does: through /proc/self/fd the container could
// otherwise reach (and, as root without a user namespace, chmod) the host's
// node. An image whose /dev/null is not a real node keeps what it has.
func ReopenDevNull() error {
	null, err := unix.Open("/dev/null", unix.O_RDWR|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	defer unix.Close(null)
	var ours unix.Stat_t
	if err := unix.Fstat(null, &ours); err != nil || ours.Mode&unix.S_IFMT != unix.S_IFCHR {
		return nil
	}
	for fd := range 3 {
		var st unix.Stat_t
		if unix.Fstat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != ours.Rdev {
			continue
		}
		if st.Dev == ours.Dev && st.Ino == ours.Ino {
			continue
		}
		if err := unix.Dup3(null, fd, 0); err != nil {
			return err
		}
	}
	return nil
}

// missing says a masked or read-only path is absent from the image.
func missing(err error) bool { return err == unix.ENOENT || err == unix.ENOTDIR }
