package rootfs

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Pivot makes the rootfs the root of the mount namespace and detaches the old
// root, leaving the working directory at "/". With cfg.NoPivot it moves the
// rootfs onto "/" and chroots instead; the host's mounts then stay in the
// namespace underneath, so this is only for roots pivot_root cannot leave.
func Pivot(cfg *Config) error {
	if err := unix.Chdir(cfg.Rootfs); err != nil {
		return fmt.Errorf("chdir to rootfs %s: %w", cfg.Rootfs, err)
	}
	if cfg.NoPivot {
		return moveRoot(cfg.Rootfs)
	}
	// pivot_root(2): "new_root and put_old may be the same directory ... the
	// following sequence allows a pivot-root operation without needing to
	// create and remove a temporary directory": the old root ends up stacked
	// on ".", where it is unmounted.
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root: %w", err)
	}
	// If it were shared, the unmount would propagate to the host's peers.
	if err := unix.Mount("", ".", "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("make old root rslave: %w", err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("unmount old root: %w", err)
	}
	if err := unix.Chdir("/"); err != nil {
		return fmt.Errorf("chdir to /: %w", err)
	}
	return nil
}

// Chroot makes the rootfs the root of a container that has no mount
// namespace of its own, where nothing may be mounted or unmounted: that
// would be done to the host's. It leaves the working directory at "/".
func Chroot(cfg *Config) error {
	if err := unix.Chdir(cfg.Rootfs); err != nil {
		return fmt.Errorf("chdir to rootfs %s: %w", cfg.Rootfs, err)
	}
	if err := unix.Chroot("."); err != nil {
		return fmt.Errorf("chroot to rootfs %s: %w", cfg.Rootfs, err)
	}
	if err := unix.Chdir("/"); err != nil {
		return fmt.Errorf("chdir to /: %w", err)
	}
	return nil
}

// moveRoot is --no-pivot: MS_MOVE the rootfs onto "/", then chroot into it.
func moveRoot(rootfs string) error {
	// A move onto a shared "/" would propagate the rootfs to its peers, the
	// host's "/" among them. Finalize applies linux.rootfsPropagation again.
	if err := unix.Mount("", "/", "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("make / rslave: %w", err)
	}
	if err := unix.Mount(rootfs, "/", "", unix.MS_MOVE, ""); err != nil {
		return fmt.Errorf("move rootfs onto /: %w", err)
	}
	if err := unix.Chroot("."); err != nil {
		return fmt.Errorf("chroot: %w", err)
	}
	if err := unix.Chdir("/"); err != nil {
		return fmt.Errorf("chdir to /: %w", err)
	}
	return nil
}
