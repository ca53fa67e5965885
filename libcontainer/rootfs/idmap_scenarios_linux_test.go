package rootfs

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Idmapped mounts made by Mount itself (an init without a user namespace),
// attached from trees PrepareIdmapped made outside (an init in one), and
// refused.
func idmapScenarios() []scenario {
	bad := func(name string, m specs.Mount, err string) scenario {
		return scenario{
			name:       name,
			cloneflags: syscall.CLONE_NEWNS,
			build: func(t *testing.T, dir, _ string) *Config {
				cfg := buildIdmapBase(t, dir)
				cfg.Spec.Mounts = append(cfg.Spec.Mounts, m)
				return cfg
			},
			mountErr: err,
		}
	}
	return []scenario{
		{
			name:       "idmap",
			cloneflags: syscall.CLONE_NEWNS | syscall.CLONE_NEWPID,
			build:      buildIdmap,
			prepare:    mountSubmount,
			check:      checkIdmap,
			after:      checkIdmapWrite,
		},
		{
			name:       "idmap-userns-prepared",
			cloneflags: syscall.CLONE_NEWNS | syscall.CLONE_NEWPID,
			userns:     true,
			prepared:   true,
			build:      buildIdmapUserns,
			check:      checkIdmapUserns,
		},
		{
			name:       "idmap-userns-unprepared",
			cloneflags: syscall.CLONE_NEWNS,
			userns:     true,
			build: func(t *testing.T, dir, _ string) *Config {
				cfg := buildIdmapUserns(t, dir, "")
				cfg.Spec.Mounts = []specs.Mount{{Destination: "/ctr", Type: "bind", Source: "hostdata", Options: []string{"bind", "idmap"}}}
				return cfg
			},
			mountErr: "bind mount hostdata on /ctr: idmap: the runtime did not prepare this mount, and an init in a user namespace cannot make it",
		},
		bad("idmap-not-bind", specs.Mount{Destination: "/t", Type: "tmpfs", Source: "tmpfs", Options: []string{"idmap"}},
			"mount tmpfs on /t: idmap needs a bind mount (options bind or rbind)"),
		bad("idmap-no-mapping", specs.Mount{Destination: "/x", Type: "bind", Source: "hostdata", Options: []string{"bind", "idmap"}},
			"bind mount hostdata on /x: idmap: no uidMappings and gidMappings, and the container has no user namespace"),
		bad("idmap-uid-only", specs.Mount{Destination: "/x", Type: "bind", Source: "hostdata", Options: []string{"bind", "idmap"}, UIDMappings: shift(0, 100000, 10)},
			"bind mount hostdata on /x: idmap: uidMappings and gidMappings must be given together"),
		bad("idmap-missing-source", specs.Mount{Destination: "/x", Type: "bind", Source: "nosuch", Options: []string{"bind", "idmap"}, UIDMappings: shift(0, 100000, 10), GIDMappings: shift(0, 100000, 10)},
			"bind mount nosuch on /x: open_tree: no such file or directory"),
	}
}

func shift(ctr, host, size uint32) []specs.LinuxIDMapping {
	return []specs.LinuxIDMapping{{ContainerID: ctr, HostID: host, Size: size}}
}

// buildIdmapBase makes a rootfs and, in the bundle, hostdata/{f (0:0),
// u (1000:1000), sub/}, hostfile (0:0) and writable/.
func buildIdmapBase(t *testing.T, dir string) *Config {
	rootfs := mkRootfs(t, dir)
	writeFiles(t, dir, map[string]string{"hostdata/f": "f", "hostdata/u": "u", "hostfile": "hf"})
	for _, d := range []string{"hostdata/sub", "writable"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}

	}
	if err := os.Chown(filepath.Join(dir, "hostdata/u"), 1000, 1000); err != nil {
		t.Fatal(err)
	}
	// The kernel refuses writes to an inode whose owner the mount's mapping
	// leaves out, whatever its mode: writable/ belongs to the ids that
	// buildIdmap's /write maps root to.
	if err := os.Chown(filepath.Join(dir, "writable"), 5000, 6000); err != nil {
		t.Fatal(err)
	}
	return &Config{
		Rootfs: rootfs,
		Bundle: dir,
		Spec: &specs.Spec{
			Mounts: []specs.Mount{{Destination: "/proc", Type: "proc", Source: "proc"}},
			Linux:  &specs.Linux{Namespaces: []specs.LinuxNamespace{{Type: specs.MountNamespace}}},
		},
	}
}

func buildIdmap(t *testing.T, dir, _ string) *Config {
	cfg := buildIdmapBase(t, dir)
	m := shift(0, 100000, 65536)
	cfg.Spec.Mounts = append(cfg.Spec.Mounts,
		specs.Mount{Destination: "/idmap", Type: "bind", Source: "hostdata", Options: []string{"bind", "idmap"}, UIDMappings: m, GIDMappings: m},
		specs.Mount{Destination: "/ridmap", Type: "bind", Source: "hostdata", Options: []string{"rbind", "ridmap"}, UIDMappings: m, GIDMappings: m},
		specs.Mount{Destination: "/rbind-idmap", Type: "none", Source: "hostdata", Options: []string{"rbind", "idmap"}, UIDMappings: m, GIDMappings: m},
		specs.Mount{Destination: "/etc/idmapfile", Type: "bind", Source: filepath.Join(dir, "hostfile"), Options: []string{"bind", "idmap", "ro", "nosuid"}, UIDMappings: m, GIDMappings: m},
		specs.Mount{Destination: "/implicit", Type: "bind", Source: "hostdata", Options: []string{"bind"}, UIDMappings: m, GIDMappings: shift(0, 200000, 65536)},
		specs.Mount{Destination: "/write", Type: "bind", Source: "writable", Options: []string{"bind", "idmap"}, UIDMappings: shift(5000, 0, 1), GIDMappings: shift(6000, 0, 1)},
	)
	return cfg
}

// mountSubmount puts a tmpfs with a root-owned file on hostdata/sub, in
// the child's mount namespace only, for the recursive cases.
func mountSubmount(in testInput) error {
	if err := unix.Mount("", "/", "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
		return err
	}
	sub := filepath.Join(in.Dir, "hostdata/sub")
	if err := unix.Mount("tmpfs", sub, "tmpfs", 0, ""); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(sub, "g"), nil, 0o644)
}

func checkOwner(c *check, p string, uid, gid uint32) {
	var st unix.Stat_t
	if err := unix.Stat(p, &st); err != nil {
		c.errorf("%s: %v", p, err)
		return
	}
	if st.Uid != uid || st.Gid != gid {
		c.errorf("%s: owner %d:%d, want %d:%d", p, st.Uid, st.Gid, uid, gid)
	}
}

func checkIdmapped(c *check, mounts map[string]mountEntry, point string, want bool, opts ...string) {
	m, ok := mounts[point]
	if !ok {
		c.errorf("no mount on %s", point)
		return
	}
	if hasOption(m.options, "idmapped") != want {
		c.errorf("mount on %s has options %q: idmapped should be %v", point, m.options, want)
	}
	for _, o := range opts {
		if !hasOption(m.options, o) {
			c.errorf("mount on %s has options %q, want %s", point, m.options, o)
		}
	}
}

func checkIdmap(c *check, _ testInput) {
	mounts := mountTable(c)
	checkIdmapped(c, mounts, "/idmap", true)
	checkIdmapped(c, mounts, "/ridmap", true)
	checkIdmapped(c, mounts, "/ridmap/sub", true)
	checkIdmapped(c, mounts, "/rbind-idmap", true)
	checkIdmapped(c, mounts, "/rbind-idmap/sub", false)
	checkIdmapped(c, mounts, "/etc/idmapfile", true, "ro", "nosuid")
	checkIdmapped(c, mounts, "/implicit", true)
	checkOwner(c, "/idmap/f", 100000, 100000)
	checkOwner(c, "/idmap/u", 101000, 101000)
	checkOwner(c, "/ridmap/sub/g", 100000, 100000)
	checkOwner(c, "/rbind-idmap/sub/g", 0, 0)
	checkOwner(c, "/etc/idmapfile", 100000, 100000)
	checkOwner(c, "/implicit/f", 100000, 200000)
	checkContent(c, "/etc/idmapfile", "hf")
	checkReadonly(c, "/etc/idmapfile")
	if _, err := os.Stat("/idmap/sub/g"); !errors.Is(err, os.ErrNotExist) {
		c.errorf("/idmap/sub/g: %v; want the submount left out of a bind", err)
	}
	// Root is outside the mapping of /idmap: it may not create there.
	if err := os.WriteFile("/idmap/new", nil, 0o644); !errors.Is(err, unix.EOVERFLOW) {
		c.errorf("create in /idmap as an unmapped root: %v, want EOVERFLOW", err)
	}
	// /write maps 5000:6000 on disk to root: what root creates there is
	// stored as 5000:6000.
	if err := os.WriteFile("/write/new", []byte("w"), 0o644); err != nil {
		c.errorf("create in /write: %v", err)
	}
	checkOwner(c, "/write/new", 0, 0)
}

func checkIdmapWrite(t *testing.T, dir, _ string) {
	var st unix.Stat_t
	p := filepath.Join(dir, "writable/new")
	if err := unix.Stat(p, &st); err != nil {
		t.Fatal(err)
	}
	if st.Uid != 5000 || st.Gid != 6000 {
		t.Errorf("%s on the host: owner %d:%d, want 5000:6000", p, st.Uid, st.Gid)
	}
}

// buildIdmapUserns is a container in a user namespace mapped like the test
// helper's (the identity over 0-65535).
func buildIdmapUserns(t *testing.T, dir, _ string) *Config {
	cfg := buildIdmapBase(t, dir)
	cfg.Spec.Linux.Namespaces = append(cfg.Spec.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
	cfg.Spec.Linux.UIDMappings = shift(0, 0, 65536)
	cfg.Spec.Linux.GIDMappings = shift(0, 0, 65536)
	m := shift(0, 1000, 2000)
	cfg.Spec.Mounts = append(cfg.Spec.Mounts,
		specs.Mount{Destination: "/idmap", Type: "bind", Source: "hostdata", Options: []string{"bind", "idmap"}, UIDMappings: m, GIDMappings: m},
		specs.Mount{Destination: "/ctr", Type: "bind", Source: "hostdata", Options: []string{"bind", "idmap"}},
		specs.Mount{Destination: "/etc/idmapfile", Type: "bind", Source: filepath.Join(dir, "hostfile"), Options: []string{"bind", "ridmap", "ro"}, UIDMappings: m, GIDMappings: m},
	)
	return cfg
}

func checkIdmapUserns(c *check, _ testInput) {
	mounts := mountTable(c)
	checkIdmapped(c, mounts, "/idmap", true)
	checkIdmapped(c, mounts, "/ctr", true)
	checkIdmapped(c, mounts, "/etc/idmapfile", true, "ro")
	checkOwner(c, "/idmap/f", 1000, 1000)
	checkOwner(c, "/idmap/u", 2000, 2000)
	checkOwner(c, "/ctr/f", 0, 0)
	checkOwner(c, "/ctr/u", 1000, 1000)
	checkOwner(c, "/etc/idmapfile", 1000, 1000)
	checkReadonly(c, "/etc/idmapfile")
	// Mount closed the trees it was given.
	pairs, _ := parseIdmappedEnv(os.Getenv(helperIdmapped))
	if len(pairs) != 3 {
		c.errorf("%s = %q: want three prepared trees", helperIdmapped, os.Getenv(helperIdmapped))
	}
	for _, fd := range pairs {
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != unix.EBADF {
			c.errorf("prepared tree fd %d still open (%v)", fd, err)
		}
	}
}
