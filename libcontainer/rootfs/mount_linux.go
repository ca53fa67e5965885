package rootfs

import (
	"errors"
	"fmt"
	"path"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// remountFlags are the per-mount flags a bind remount (MS_BIND|MS_REMOUNT) can
// change; the others belong to the superblock.
const remountFlags = unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC |
	unix.MS_NOATIME | unix.MS_NODIRATIME | unix.MS_RELATIME | unix.MS_STRICTATIME |
	unix.MS_NOSYMFOLLOW

// Mount prepares the mount namespace before the pivot: it makes "/" rslave (or
// linux.rootfsPropagation) so nothing propagates back to the host, binds the
// rootfs onto itself, mounts spec.Mounts in order, creates the devices and the
// /dev symlinks, and when process.terminal is set an empty /dev/console for
// BindConsole.
func Mount(cfg *Config) error {
	spec := cfg.Spec
	if spec == nil {
		return errors.New("mount rootfs: no spec")
	}
	if err := prepareRoot(cfg); err != nil {
		return err
	}
	// Opened after the bind above, so that lookups start in the new mount and
	// mounts made below it are attached where the container will see them.
	r, err := openRoot(cfg.Rootfs, true)
	if err != nil {
		return fmt.Errorf("open rootfs %s: %w", cfg.Rootfs, err)
	}
	defer r.close()
	env := mountEnv{
		spec: spec, bundle: cfg.Bundle, cgroupNS: hasNamespace(spec, specs.CgroupNamespace),
		prepared: make(map[int]int, len(cfg.Idmapped)), userns: usernsSet{},
	}
	for i, fd := range cfg.Idmapped {
		env.prepared[i] = fd
	}
	defer env.close()
	for i := range spec.Mounts {
		if err := r.mountEntry(&env, i, &spec.Mounts[i]); err != nil {
			return err
		}
	}
	if needsDevSetup(spec.Mounts) {
		if err := r.setupDev(spec); err != nil {
			return err
		}
	}
	if spec.Process != nil && spec.Process.Terminal {
		if err := r.createConsole(); err != nil {
			return fmt.Errorf("create /dev/console: %w", err)
		}
	}
	return nil
}

// mountEnv is what mounting one entry needs beyond the entry itself.
type mountEnv struct {
	spec     *specs.Spec
	bundle   string
	cgroupNS bool        // the container has its own cgroup namespace
	prepared map[int]int // idmapped trees from Config.Idmapped not yet attached
	userns   usernsSet   // user namespaces made for idmapped mounts
}

// close releases what Mount was given or made and did not use.
func (e *mountEnv) close() {
	for _, fd := range e.prepared {
		unix.Close(fd)
	}
	e.userns.close()
}

func prepareRoot(cfg *Config) error {
	prop := uintptr(unix.MS_SLAVE | unix.MS_REC)
	if lin := cfg.Spec.Linux; lin != nil {
		p, err := rootPropagation(lin.RootfsPropagation)
		if err != nil {
			return err
		}
		if p != 0 {
			prop = p
		}
	}
	if err := unix.Mount("", "/", "", prop, ""); err != nil {
		return fmt.Errorf("set propagation of /: %w", err)
	}
	if prop != unix.MS_SLAVE|unix.MS_REC && prop != unix.MS_PRIVATE|unix.MS_REC {
		if err := privatizeParent(cfg.Rootfs); err != nil {
			return err
		}
	}
	// pivot_root(2): "new_root must be a path to a mount point".
	if err := unix.Mount(cfg.Rootfs, cfg.Rootfs, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind mount rootfs %s onto itself: %w", cfg.Rootfs, err)
	}
	return nil
}

// privatizeParent makes the mount holding p private. "/" may still be shared
// or unbindable here, and pivot_root(2) fails with EINVAL when "the parent
// mount of new_root ... has propagation type MS_SHARED", while a bind of an
// unbindable mount fails too. MS_PRIVATE on a path that is not a mount point
// fails with EINVAL, so walk up until one is found.
func privatizeParent(p string) error {
	for {
		err := unix.Mount("", p, "", unix.MS_PRIVATE, "")
		if err == nil {
			return nil
		}
		if err != unix.EINVAL || p == "/" {
			return fmt.Errorf("make mount of %s private: %w", p, err)
		}
		p = filepath.Dir(p)
	}
}

func (r *root) mountEntry(env *mountEnv, i int, m *specs.Mount) error {
	o, err := parseOptions(m.Options)
	idmapped := err == nil && isIdmapped(m, o)
	if idmapped {
		err = checkIdmapType(m, o)
	}
	bind := o.flags&unix.MS_BIND != 0 || m.Type == "bind"
	if err == nil {
		switch {
		case idmapped:
			err = r.idmapMount(env, i, m, o)
		case bind:
			err = r.bindMount(env, m, o)
		case m.Type == "cgroup":
			err = r.mountCgroup(env, m, o)
		default:
			err = r.mountFS(m, o)
		}
	}
	if err != nil {
		if bind {
			return fmt.Errorf("bind mount %s on %s: %w", m.Source, m.Destination, err)
		}
		return fmt.Errorf("mount %s on %s: %w", m.Type, m.Destination, err)
	}
	return nil
}

// mountPoint opens (creating it when missing) the destination of a bind
// mount whose source is st: a directory for a directory, a file otherwise.
func (r *root) mountPoint(dest string, st *unix.Stat_t) (int, error) {
	c := createDir
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		c = createFile
	}
	fd, err := r.openCreate(dest, c)
	if err != nil {
		return -1, fmt.Errorf("create mount point: %w", err)
	}
	return fd, nil
}

func (r *root) bindMount(env *mountEnv, m *specs.Mount, o mountOptions) error {
	src := bindSource(env.bundle, m.Source)
	var st unix.Stat_t
	if err := unix.Stat(src, &st); err != nil {
		return fmt.Errorf("stat source: %w", err)
	}
	fd, err := r.mountPoint(m.Destination, &st)
	if err != nil {
		return err
	}
	err = unix.Mount(src, r.target(fd, m.Destination), "", unix.MS_BIND|o.flags&unix.MS_REC, "")
	unix.Close(fd)
	if err != nil {
		return err
	}
	// A bind mount ignores every flag but MS_REC; the rest needs a remount.
	flags := o.flags & remountFlags
	if isDev(m.Destination) {
		flags &^= unix.MS_RDONLY // Finalize makes /dev read-only
	}
	return r.afterMount(m.Destination, flags, o)
}

func (r *root) mountFS(m *specs.Mount, o mountOptions) error {
	flags := o.flags
	var later uintptr // flags set by a remount once the mount is filled
	if isDev(m.Destination) {
		flags &^= unix.MS_RDONLY // devices go in first; Finalize makes /dev read-only
	}
	if o.copyUp {
		if m.Type != "tmpfs" {
			return errors.New("tmpcopyup needs type tmpfs")
		}
		later = flags & unix.MS_RDONLY
		flags &^= unix.MS_RDONLY
	}
	fd, err := r.openCreate(m.Destination, createDir)
	if err != nil {
		return fmt.Errorf("create mount point: %w", err)
	}
	defer unix.Close(fd)
	lower := -1
	if o.copyUp {
		// Still the directory under the coming tmpfs: the contents to copy.
		if lower, err = unix.Openat(fd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0); err != nil {
			return fmt.Errorf("open for tmpcopyup: %w", err)
		}
		defer unix.Close(lower)
	}
	src := m.Source
	if src == "" {
		src = m.Type
	}
	target := r.target(fd, m.Destination)
	err = unix.Mount(src, target, m.Type, flags, o.data)
	if err == unix.EPERM && m.Type == "sysfs" {
		// A user namespace that does not own the network namespace may not
		// mount sysfs; give it the host's, with the requested flags.
		err = unix.Mount("/sys", target, "", unix.MS_BIND|unix.MS_REC, "")
		later |= flags & remountFlags
	}
	if err != nil {
		return err
	}
	if o.copyUp {
		if err := r.copyUp(lower, m.Destination); err != nil {
			return fmt.Errorf("tmpcopyup: %w", err)
		}
		if later != 0 {
			later |= flags & remountFlags
		}
	}
	return r.afterMount(m.Destination, later, o)
}

// afterMount applies what mount(2) could not do at once: a bind remount with
// flags, the recursive mount_setattr options and the propagation.
func (r *root) afterMount(dest string, flags uintptr, o mountOptions) error {
	if flags == 0 && o.propagation == 0 && o.attrSet|o.attrClr == 0 {
		return nil
	}
	// The descriptor the mount was made through still names what is under the
	// new mount; look the destination up again to reach the mount itself.
	fd, err := r.open(dest)
	if err != nil {
		return fmt.Errorf("reopen mount point: %w", err)
	}
	defer unix.Close(fd)
	if flags != 0 {
		if err := r.remountBind(fd, dest, flags); err != nil {
			return fmt.Errorf("remount: %w", err)
		}
	}
	if o.attrSet|o.attrClr != 0 {
		attr := unix.MountAttr{Attr_set: o.attrSet, Attr_clr: o.attrClr}
		if err := unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, &attr); err != nil {
			return fmt.Errorf("set recursive mount options: %w", err)
		}
	}
	if o.propagation != 0 {
		if err := unix.Mount("", r.target(fd, dest), "", o.propagation, ""); err != nil {
			return fmt.Errorf("set propagation: %w", err)
		}
	}
	return nil
}

// remountBind changes the per-mount flags of the mount at fd (named name) to
// flags. In a user namespace the flags a mount got from a more privileged
// namespace are locked ("Certain mount flags are locked" -mount_namespaces(7))
// and clearing one fails with EPERM; then keep them and try again.
func (r *root) remountBind(fd int, name string, flags uintptr) error {
	target := r.target(fd, name)
	flags |= unix.MS_BIND | unix.MS_REMOUNT
	err := unix.Mount("", target, "", flags, "")
	if err != unix.EPERM {
		return err
	}
	var st unix.Statfs_t
	if err := unix.Fstatfs(fd, &st); err != nil {
		return err
	}
	return unix.Mount("", target, "", flags|statfsFlags(st.Flags), "")
}

// statfsFlags maps statfs(2) f_flags to the MS_* flags that can be locked.
func statfsFlags(f int64) uintptr {
	var flags uintptr
	for _, m := range [...]struct {
		st int64
		ms uintptr
	}{
		{unix.ST_RDONLY, unix.MS_RDONLY},
		{unix.ST_NOSUID, unix.MS_NOSUID},
		{unix.ST_NODEV, unix.MS_NODEV},
		{unix.ST_NOEXEC, unix.MS_NOEXEC},
		{unix.ST_NOATIME, unix.MS_NOATIME},
		{unix.ST_NODIRATIME, unix.MS_NODIRATIME},
		{unix.ST_RELATIME, unix.MS_RELATIME},
	} {
		if f&m.st != 0 {
			flags |= m.ms
		}
	}
	return flags
}

func isDev(dest string) bool { return path.Clean("/"+dest) == "/dev" }

func hasNamespace(spec *specs.Spec, t specs.LinuxNamespaceType) bool {
	if spec.Linux == nil {
		return false
	}
	for _, ns := range spec.Linux.Namespaces {
		if ns.Type == t {
			return true
		}
	}
	return false
}
