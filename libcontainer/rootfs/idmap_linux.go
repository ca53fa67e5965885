package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Idmapped mounts ("idmap" and "ridmap", with the mount's uidMappings and
// gidMappings): the source is cloned into a detached mount tree with
// open_tree(OPEN_TREE_CLONE), the tree gets the mapping of a user namespace
// with mount_setattr(MOUNT_ATTR_IDMAP), and move_mount attaches it at the
// destination. "This SHOULD be implemented using
// mount_setattr(MOUNT_ATTR_IDMAP), available since Linux 5.12."
// -runtime-spec config.md
//
// The mappings are written as given, relative to the host, like those of
// the container's own user namespace (runc reads them the same way). Through
// the mount, a file stored with owner k belongs to the host id that k maps
// to, and a file created by host id h is stored with the id h maps back to
// (mount_setattr(2)). With {containerID: 0, hostID: 100000, size: 65536} a
// host file owned by 0 belongs to 100000: to root of a container mapped the
// same way. A process whose id the mapping leaves out cannot create files
// there (EOVERFLOW).
//
// The kernel lets only a process with CAP_SYS_ADMIN over the source's
// filesystem (for a host directory: over the host's user namespace) idmap a
// mount. The init of a container without a user namespace has it and does
// everything itself; the init of one with a user namespace does not, so the
// runtime calls PrepareIdmapped before the init starts and hands it the
// detached trees (Config.Idmapped), which the init only attaches.

// idmapping is the user namespace whose mapping one idmapped mount gets.
type idmapping struct {
	uid, gid []specs.LinuxIDMapping
	path     string // a namespace to use as it is (one the container joins)
}

// key identifies equal mappings, so that one namespace serves them all.
func (m idmapping) key() string {
	if m.path != "" {
		return "path=" + m.path
	}
	var b strings.Builder
	for _, e := range m.uid {
		fmt.Fprintf(&b, "u%d:%d:%d,", e.ContainerID, e.HostID, e.Size)
	}
	for _, e := range m.gid {
		fmt.Fprintf(&b, "g%d:%d:%d,", e.ContainerID, e.HostID, e.Size)
	}
	return b.String()
}

// isIdmapped tells whether m asks for an idmapped mount. Mappings without
// the option count: "the options field ... SHOULD contain either idmap or
// ridmap ... to ensure that older runtimes will not silently ignore this
// field" -runtime-spec config.md, so a runtime that knows the field honours it.
func isIdmapped(m *specs.Mount, o mountOptions) bool {
	return o.idmap || len(m.UIDMappings) > 0 || len(m.GIDMappings) > 0
}

// mountIdmapping works out the mapping of idmapped mount m.
func mountIdmapping(spec *specs.Spec, m *specs.Mount) (idmapping, error) {
	switch {
	case len(m.UIDMappings) > 0 && len(m.GIDMappings) > 0:
		return idmapping{uid: m.UIDMappings, gid: m.GIDMappings}, nil
	case len(m.UIDMappings) > 0 || len(m.GIDMappings) > 0:
		// "If specified, it MUST be specified along with gidMappings."
		return idmapping{}, errors.New("idmap: uidMappings and gidMappings must be given together")
	}
	// "If they are not specified, the runtime MAY use the container's user
	// namespace mapping ... If there are no uidMappings and gidMappings
	// specified and the container isn't using user namespaces, an error MUST
	// be returned." -runtime-spec config.md
	if spec.Linux != nil {
		for _, ns := range spec.Linux.Namespaces {
			if ns.Type != specs.UserNamespace {
				continue
			}
			if ns.Path != "" {
				return idmapping{path: ns.Path}, nil
			}
			return idmapping{uid: spec.Linux.UIDMappings, gid: spec.Linux.GIDMappings}, nil
		}
	}
	return idmapping{}, errors.New("idmap: no uidMappings and gidMappings, and the container has no user namespace")
}

// openIdmapped clones src into a detached mount tree (its submounts too
// with rbind) and gives it the mapping of the user namespace userns (to
// every mount of the tree with ridmap, to its top otherwise).
func openIdmapped(src string, o mountOptions, userns int) (int, error) {
	flags := uint(unix.OPEN_TREE_CLONE | unix.OPEN_TREE_CLOEXEC)
	if o.flags&unix.MS_REC != 0 {
		flags |= unix.AT_RECURSIVE
	}
	fd, err := unix.OpenTree(unix.AT_FDCWD, src, flags)
	if err != nil {
		return -1, fmt.Errorf("open_tree: %w", err)
	}
	attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_IDMAP, Userns_fd: uint64(userns)}
	at := uint(unix.AT_EMPTY_PATH)
	if o.ridmap {
		at |= unix.AT_RECURSIVE
	}
	if err := unix.MountSetattr(fd, "", at, &attr); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("mount_setattr MOUNT_ATTR_IDMAP: %w", err)
	}
	return fd, nil
}

// bindSource is a bind mount's source, relative ones against the bundle.
func bindSource(bundle, src string) string {
	if !filepath.IsAbs(src) {
		return filepath.Join(bundle, src)
	}
	return src
}

// idmapMount attaches the idmapped tree of spec mount i at its destination:
// the one the runtime prepared, or one made here.
func (r *root) idmapMount(env *mountEnv, i int, m *specs.Mount, o mountOptions) error {
	tree, ok := env.prepared[i]
	if ok {
		// Ours now: attached or not, it is closed here.
		delete(env.prepared, i)
	} else {
		// The kernel wants CAP_SYS_ADMIN over the source's filesystem, which
		// an init in a user namespace lacks: say so rather than EPERM.
		if InUserNamespace() {
			return errors.New("idmap: the runtime did not prepare this mount, and an init in a user namespace cannot make it")
		}
		im, err := mountIdmapping(env.spec, m)
		if err != nil {
			return err
		}
		userns, err := env.userns.get(im)
		if err != nil {
			return err
		}
		if tree, err = openIdmapped(bindSource(env.bundle, m.Source), o, userns); err != nil {
			return err
		}
	}
	defer unix.Close(tree)
	var st unix.Stat_t
	if err := unix.Fstat(tree, &st); err != nil {
		return fmt.Errorf("stat source: %w", err)
	}
	fd, err := r.mountPoint(m.Destination, &st)
	if err != nil {
		return err
	}
	err = unix.MoveMount(tree, "", fd, "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH)
	unix.Close(fd)
	if err != nil {
		return fmt.Errorf("move_mount: %w", err)
	}
	flags := o.flags & remountFlags
	if isDev(m.Destination) {
		flags &^= unix.MS_RDONLY // Finalize makes /dev read-only
	}
	return r.afterMount(m.Destination, flags, o)
}

// InUserNamespace tells whether we are in a user namespace other than the
// host's, whose uid_map maps every id to itself. Read once: tupper never
// changes its own user namespace, and create asks twice (rootless
// detection, the C init's).
var InUserNamespace = sync.OnceValue(func() bool {
	b, err := os.ReadFile("/proc/self/uid_map")
	if err != nil {
		return false
	}
	f := strings.Fields(string(b))
	return !(len(f) == 3 && f[0] == "0" && f[1] == "0" && f[2] == "4294967295")
})

// PrepareIdmapped makes, in the calling process, the detached idmapped
// mount tree of every idmapped mount of spec that the container's init
// cannot make itself because it runs in a user namespace (new or joined).
// It returns them by index in spec.Mounts (nil when there are none); the
// caller passes them to the init, whose Config.Idmapped names each by its
// fd number there, and closes its copies once the init has them. The caller
// must hold CAP_SYS_ADMIN over the sources' filesystems (be root on the
// host). bundle resolves relative sources.
func PrepareIdmapped(spec *specs.Spec, bundle string) (_ map[int]*os.File, retErr error) {
	if spec == nil || !hasNamespace(spec, specs.UserNamespace) {
		return nil, nil
	}
	var out map[int]*os.File
	users := usernsSet{}
	defer users.close()
	defer func() {
		if retErr != nil {
			for _, f := range out {
				f.Close()
			}
		}
	}()
	for i := range spec.Mounts {
		m := &spec.Mounts[i]
		o, err := parseOptions(m.Options)
		if err != nil || !isIdmapped(m, o) {
			continue // Mount reports bad options
		}
		if err := checkIdmapType(m, o); err != nil {
			return nil, fmt.Errorf("mount %s on %s: %w", m.Source, m.Destination, err)
		}
		im, err := mountIdmapping(spec, m)
		if err != nil {
			return nil, fmt.Errorf("mount %s on %s: %w", m.Source, m.Destination, err)
		}
		userns, err := users.get(im)
		if err != nil {
			return nil, fmt.Errorf("mount %s on %s: %w", m.Source, m.Destination, err)
		}
		fd, err := openIdmapped(bindSource(bundle, m.Source), o, userns)
		if err != nil {
			return nil, fmt.Errorf("bind mount %s on %s: %w", m.Source, m.Destination, err)
		}
		if out == nil {
			out = map[int]*os.File{}
		}
		out[i] = os.NewFile(uintptr(fd), "idmapped:"+m.Destination)
	}
	return out, nil
}

// checkIdmapType refuses idmap on what is not a bind mount: only an
// existing directory tree can be cloned with open_tree.
func checkIdmapType(m *specs.Mount, o mountOptions) error {
	if o.flags&unix.MS_BIND == 0 && m.Type != "bind" {
		return errors.New("idmap needs a bind mount (options bind or rbind)")
	}
	return nil
}
