package rootfs

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// scenario is one container rootfs set up by a helper child.
type scenario struct {
	name       string
	cloneflags uintptr
	userns     bool
	// build makes the rootfs under dir (on the host, in the parent) and
	// returns the Config the child uses.
	build func(t *testing.T, dir, outside string) *Config
	// prepareOuter runs in the outer mount namespace of a userns scenario.
	prepareOuter func(in testInput) error
	// prepared: the outer stage calls PrepareIdmapped and hands the trees
	// to the inner one, as the runtime does for an init in a user namespace.
	prepared bool
	// prepare runs in the child's namespaces just before Mount.
	prepare     func(in testInput) error
	mountErr    string // Mount must fail with exactly this
	beforePivot func(c *check, in testInput)
	check       func(c *check, in testInput)
	after       func(t *testing.T, dir, outside string) // in the parent
}

func scenarios() []scenario {
	return append([]scenario{
		{
			name:        "full",
			cloneflags:  syscall.CLONE_NEWNS | syscall.CLONE_NEWPID | syscall.CLONE_NEWIPC,
			build:       buildFull,
			beforePivot: checkNothingOutside,
			check:       checkFull,
			after:       checkOutsideUntouched,
		},
		{
			name:         "userns",
			cloneflags:   syscall.CLONE_NEWNS | syscall.CLONE_NEWPID | syscall.CLONE_NEWIPC,
			userns:       true,
			build:        buildUserns,
			prepareOuter: prepareLocked,
			check:        checkUserns,
		},
		{
			name:        "nopivot-without-dev-mount",
			cloneflags:  syscall.CLONE_NEWNS | syscall.CLONE_NEWPID,
			build:       buildNoPivot,
			beforePivot: checkNothingOutside,
			check:       checkNoPivot,
			after:       checkOutsideUntouched,
		},
		{
			name:       "cgroupns-rshared",
			cloneflags: syscall.CLONE_NEWNS | syscall.CLONE_NEWPID | syscall.CLONE_NEWCGROUP,
			build:      buildCgroupNS,
			check:      checkCgroupNS,
		},
		{
			name:       "mount-error",
			cloneflags: syscall.CLONE_NEWNS,
			build: func(t *testing.T, dir, _ string) *Config {
				return &Config{Rootfs: mkRootfs(t, dir), Spec: &specs.Spec{Mounts: []specs.Mount{
					{Destination: "/ok", Type: "tmpfs", Source: "tmpfs"},
					{Destination: "/x", Type: "nosuchfs", Source: "none"},
				}}}
			},
			mountErr: "mount nosuchfs on /x: no such device",
		},
	}, idmapScenarios()...)
}

// mkRootfs makes dir/rootfs with the directories every scenario uses and
// busybox when the host has a static one.
func mkRootfs(t *testing.T, dir string) string {
	t.Helper()
	rootfs := filepath.Join(dir, "rootfs")
	for _, d := range []string{"bin", "proc", "sys", "etc", "tmp"} {
		if err := os.MkdirAll(filepath.Join(rootfs, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if b, err := os.ReadFile("/bin/busybox"); err == nil {
		if err := os.WriteFile(filepath.Join(rootfs, "bin/busybox"), b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return rootfs
}

func writeFiles(t *testing.T, base string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(base, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func symlinks(t *testing.T, base string, links map[string]string) {
	t.Helper()
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(base, name)); err != nil {
			t.Fatal(err)
		}
	}
}

// defaultMounts are those of a typical runc/podman config.
func defaultMounts() []specs.Mount {
	return []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
		{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
		{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
		{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{"nosuid", "noexec", "nodev", "relatime", "ro"}},
	}
}

func ptr[T any](v T) *T { return &v }

func buildFull(t *testing.T, dir, outside string) *Config {
	rootfs := mkRootfs(t, dir)
	writeFiles(t, rootfs, map[string]string{
		"secretfile":       "secret",
		"secretdir/inner":  "secret",
		"rodir/f":          "ro",
		"copied/keep":      "kept",
		"copied/sub/f":     "sub",
		"etc/hostfile":     "image",
		"proc/.keep":       "", // proc mounts over a non-empty dir
		"dev/from-image":   "hidden by the tmpfs",
		"marker-full-root": "",
	})
	symlinks(t, rootfs, map[string]string{"escape": outside, "copied/lnk": "keep"})
	writeFiles(t, dir, map[string]string{"hostdata/file": "data", "hostfile": "hf"})
	mounts := append(defaultMounts(),
		specs.Mount{Destination: "/data", Type: "bind", Source: "hostdata", Options: []string{"rbind", "ro", "nosuid"}},
		specs.Mount{Destination: "/etc/hostfile", Type: "none", Source: filepath.Join(dir, "hostfile"), Options: []string{"bind", "ro"}},
		specs.Mount{Destination: "/escape/mnt", Type: "tmpfs", Source: "tmpfs"},
		specs.Mount{Destination: "/copied", Type: "tmpfs", Source: "tmpfs", Options: []string{"tmpcopyup", "ro", "nodev"}},
	)
	return &Config{
		Rootfs: rootfs,
		Bundle: dir,
		Spec: &specs.Spec{
			Process: &specs.Process{Terminal: true},
			Root:    &specs.Root{Path: "rootfs", Readonly: true},
			Mounts:  mounts,
			Linux: &specs.Linux{
				Devices: []specs.LinuxDevice{
					{Path: "/dev/fuse", Type: "c", Major: 10, Minor: 229, FileMode: ptr(os.FileMode(0o640)), UID: ptr(uint32(1)), GID: ptr(uint32(2))},
					{Path: "/dev/fifo", Type: "p"},
					{Path: "/dev/sub/null2", Type: "c", Major: 1, Minor: 3},
				},
				MaskedPaths:   []string{"/proc/kcore", "/secretfile", "/secretdir", "/nonexistent/x", "/secretfile/x"},
				ReadonlyPaths: []string{"/proc/sys", "/rodir", "/missing"},
			},
		},
	}
}

// checkNothingOutside runs after Mount: the symlink /escape -> <outside> sent
// the /escape/mnt tmpfs inside the rootfs, not onto the host directory.
func checkNothingOutside(c *check, in testInput) {
	for point := range mountTable(c) {
		if strings.HasPrefix(point, in.Outside) {
			c.errorf("mount on the host path %s", point)
		}
	}
	if in.Config.Spec.Root == nil || !in.Config.Spec.Root.Readonly {
		return // not the full scenario
	}
	var st unix.Statfs_t
	if err := unix.Statfs(in.Config.Rootfs+in.Outside+"/mnt", &st); err != nil || st.Type != unix.TMPFS_MAGIC {
		c.errorf("rootfs%s/mnt is not the tmpfs: %v", in.Outside, err)
	}
}

func checkOutsideUntouched(t *testing.T, _, outside string) {
	entries, err := os.ReadDir(outside)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != "hostfile" {
			t.Errorf("%s appeared in the host directory the image pointed at", e.Name())
		}
	}
}

func checkFull(c *check, in testInput) {
	if wd, _ := os.Getwd(); wd != "/" {
		c.errorf("working directory %q, want /", wd)
	}
	if _, err := os.Stat("/marker-full-root"); err != nil {
		c.errorf("not in the rootfs: %v", err)
	}
	mounts := mountTable(c)
	want := map[string]string{
		"/": "", "/proc": "proc", "/dev": "tmpfs", "/dev/pts": "devpts", "/dev/shm": "tmpfs",
		"/dev/mqueue": "mqueue", "/sys": "sysfs", "/sys/fs/cgroup": "tmpfs",
		"/sys/fs/cgroup/memory": "cgroup", "/data": "", "/etc/hostfile": "",
		in.Outside + "/mnt": "tmpfs", "/copied": "tmpfs", "/secretdir": "tmpfs",
		"/secretfile": "", "/proc/sys": "proc", "/rodir": "",
	}
	for point, fstype := range want {
		m, ok := mounts[point]
		if !ok {
			c.errorf("no mount on %s", point)
		} else if fstype != "" && m.fstype != fstype {
			c.errorf("mount on %s is %s, want %s", point, m.fstype, fstype)
		}
	}
	for point, opts := range map[string][]string{
		"/": {"ro"}, "/data": {"ro", "nosuid"}, "/etc/hostfile": {"ro"}, "/sys": {"ro", "nosuid"},
		"/sys/fs/cgroup": {"ro"}, "/sys/fs/cgroup/memory": {"ro", "nosuid"}, "/proc/sys": {"ro", "nosuid", "nodev", "noexec"},
		"/rodir": {"ro", "nosuid", "nodev", "noexec"}, "/copied": {"ro", "nodev"}, "/secretdir": {"ro"},
		"/dev": {"rw", "nosuid"},
	} {
		for _, o := range opts {
			if !hasOption(mounts[point].options, o) {
				c.errorf("mount on %s has options %q, want %s", point, mounts[point].options, o)
			}
		}
	}
	for point := range mounts {
		if strings.HasPrefix(point, "/mnt/") || strings.HasPrefix(point, in.Dir) {
			c.errorf("host mount %s is still visible", point)
		}
	}
	if mem := ownCgroup(c, "memory"); mounts["/sys/fs/cgroup/memory"].root != mem {
		c.errorf("/sys/fs/cgroup/memory shows %s, want our own cgroup %s", mounts["/sys/fs/cgroup/memory"].root, mem)
	}
	if _, err := os.Stat("/sys/fs/cgroup/unified/cgroup.procs"); err != nil {
		c.errorf("cgroup2 hierarchy: %v", err)
	}

	checkDevice(c, "/dev/null", unix.S_IFCHR, 1, 3, 0o666, 0, 0)
	checkDevice(c, "/dev/urandom", unix.S_IFCHR, 1, 9, 0o666, 0, 0)
	checkDevice(c, "/dev/tty", unix.S_IFCHR, 5, 0, 0o666, 0, 0)
	checkDevice(c, "/dev/fuse", unix.S_IFCHR, 10, 229, 0o640, 1, 2)
	checkDevice(c, "/dev/fifo", unix.S_IFIFO, 0, 0, 0o666, 0, 0)
	checkDevice(c, "/dev/sub/null2", unix.S_IFCHR, 1, 3, 0o666, 0, 0)
	checkLinks(c)
	// exec.Cmd gave the helper the host's /dev/null as stdin.
	var stdin, null unix.Stat_t
	if unix.Fstat(0, &stdin) != nil || unix.Stat("/dev/null", &null) != nil || stdin.Dev != null.Dev || stdin.Ino != null.Ino {
		c.errorf("stdin is not the container's /dev/null: %+v vs %+v", stdin, null)
	}
	if _, err := os.Stat("/dev/from-image"); err == nil {
		c.errorf("/dev/from-image visible: /dev is not the tmpfs")
	}

	checkContent(c, "/secretfile", "")
	checkContent(c, "/data/file", "data")
	checkContent(c, "/etc/hostfile", "hf")
	checkContent(c, "/copied/keep", "kept")
	checkContent(c, "/copied/sub/f", "sub")
	if l, err := os.Readlink("/copied/lnk"); err != nil || l != "keep" {
		c.errorf("/copied/lnk = %q, %v", l, err)
	}
	if entries, err := os.ReadDir("/secretdir"); err != nil || len(entries) != 0 {
		c.errorf("/secretdir not masked: %v %v", entries, err)
	}
	for _, p := range []string{"/newfile", "/rodir/new", "/data/new", "/secretdir/new", "/copied/new"} {
		checkReadonly(c, p)
	}
	if err := os.WriteFile("/dev/shm/x", nil, 0o644); err != nil {
		c.errorf("/dev/shm not writable: %v", err)
	}
	checkConsole(c)
	if _, err := os.Stat("/bin/busybox"); err == nil {
		out, err := exec.Command("/bin/busybox", "cat", "/etc/hostfile").CombinedOutput()
		if err != nil || string(out) != "hf" {
			c.errorf("busybox cat: %q %v", out, err)
		}
	}
}

func checkDevice(c *check, p string, typ uint32, major, minor uint32, perm uint32, uid, gid uint32) {
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		c.errorf("%s: %v", p, err)
		return
	}
	if st.Mode&unix.S_IFMT != typ || unix.Major(st.Rdev) != major || unix.Minor(st.Rdev) != minor ||
		st.Mode&0o7777 != perm || st.Uid != uid || st.Gid != gid {
		c.errorf("%s: mode %#o dev %d:%d owner %d:%d; want type %#o %d:%d perm %#o owner %d:%d", p,
			st.Mode, unix.Major(st.Rdev), unix.Minor(st.Rdev), st.Uid, st.Gid, typ, major, minor, perm, uid, gid)
	}
}

func checkLinks(c *check) {
	for link, target := range map[string]string{
		"/dev/ptmx": "pts/ptmx", "/dev/fd": "/proc/self/fd", "/dev/stdin": "/proc/self/fd/0",
		"/dev/stdout": "/proc/self/fd/1", "/dev/stderr": "/proc/self/fd/2",
	} {
		if got, err := os.Readlink(link); err != nil || got != target {
			c.errorf("%s -> %q (%v), want %s", link, got, err, target)
		}
	}
	_, kcore := os.Stat("/proc/kcore")
	if _, err := os.Lstat("/dev/core"); (err == nil) != (kcore == nil) {
		c.errorf("/dev/core: %v, /proc/kcore: %v", err, kcore)
	}
}

func checkContent(c *check, p, want string) {
	b, err := os.ReadFile(p)
	if err != nil || string(b) != want {
		c.errorf("%s = %q (%v), want %q", p, b, err, want)
	}
}

func checkReadonly(c *check, p string) {
	err := os.WriteFile(p, nil, 0o644)
	if !errors.Is(err, unix.EROFS) {
		c.errorf("write %s: %v, want read-only file system", p, err)
	}
}

// ownCgroup returns this process's path in the v1 hierarchy of controller.
func ownCgroup(c *check, controller string) string {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		c.errorf("%v", err)
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) == 3 && parts[1] == controller {
			return parts[2]
		}
	}
	return ""
}

// checkConsole opens a pty in the container's devpts and binds its slave onto
// the /dev/console Mount created.
func checkConsole(c *check) {
	var st unix.Stat_t
	if err := unix.Lstat("/dev/console", &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		c.errorf("/dev/console placeholder: %v mode %#o", err, st.Mode)
		return
	}
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		c.errorf("open /dev/ptmx: %v", err)
		return
	}
	defer ptmx.Close()
	if err := unix.IoctlSetPointerInt(int(ptmx.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		c.errorf("unlockpt: %v", err)
		return
	}
	n, err := unix.IoctlGetInt(int(ptmx.Fd()), unix.TIOCGPTN)
	if err != nil {
		c.errorf("ptsname: %v", err)
		return
	}
	if err := BindConsole(fmt.Sprintf("/dev/pts/%d", n)); err != nil {
		c.errorf("BindConsole: %v", err)
		return
	}
	if err := unix.Stat("/dev/console", &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR || unix.Major(st.Rdev) != 136 {
		c.errorf("/dev/console after BindConsole: %v mode %#o dev %d", err, st.Mode, unix.Major(st.Rdev))
	}
	if err := BindConsole("/dev/ptmx"); err == nil {
		c.errorf("BindConsole through the /dev/ptmx symlink succeeded")
	}
}

// prepareLocked mounts a nosuid,nodev,noexec tmpfs in the outer namespace: in
// the user namespace those flags are locked, and remounting a bind of it with
// just "ro" must keep them instead of failing with EPERM.
func prepareLocked(in testInput) error {
	locked := filepath.Join(in.Dir, "locked")
	if err := unix.Mount("", "/", "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
		return err
	}
	if err := unix.Mount("tmpfs", locked, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(locked, "f"), []byte("locked"), 0o644)
}

func buildUserns(t *testing.T, dir, _ string) *Config {
	rootfs := mkRootfs(t, dir)
	writeFiles(t, rootfs, map[string]string{"secretfile": "secret"})
	if err := os.Mkdir(filepath.Join(dir, "locked"), 0o755); err != nil {
		t.Fatal(err)
	}
	mounts := append(defaultMounts(),
		specs.Mount{Destination: "/locked", Type: "bind", Source: filepath.Join(dir, "locked"), Options: []string{"rbind", "ro"}},
	)
	return &Config{
		Rootfs: rootfs,
		Spec: &specs.Spec{
			Root:   &specs.Root{Path: "rootfs", Readonly: true},
			Mounts: mounts,
			Linux: &specs.Linux{
				Devices:       []specs.LinuxDevice{{Path: "/dev/fuse", Type: "c", Major: 10, Minor: 229, FileMode: ptr(os.FileMode(0o600))}},
				MaskedPaths:   []string{"/secretfile", "/proc/kcore"},
				ReadonlyPaths: []string{"/proc/sys"},
			},
		},
	}
}

func checkUserns(c *check, _ testInput) {
	mounts := mountTable(c)
	// mknod is refused in a user namespace: the host's nodes are bound.
	for _, p := range []string{"/dev/null", "/dev/zero", "/dev/tty", "/dev/fuse"} {
		if _, ok := mounts[p]; !ok {
			c.errorf("%s is not a bind mount of the host's node", p)
		}
	}
	checkDevice(c, "/dev/null", unix.S_IFCHR, 1, 3, 0o666, 0, 0)
	for point, opts := range map[string][]string{
		"/": {"ro"}, "/locked": {"ro", "nosuid", "nodev", "noexec"}, "/sys": {"ro"}, "/proc/sys": {"ro"},
	} {
		for _, o := range opts {
			if !hasOption(mounts[point].options, o) {
				c.errorf("mount on %s has options %q, want %s", point, mounts[point].options, o)
			}
		}
	}
	checkContent(c, "/locked/f", "locked")
	checkContent(c, "/secretfile", "")
	checkReadonly(c, "/locked/new")
	if _, err := os.Stat("/sys/kernel"); err != nil {
		c.errorf("/sys: %v", err)
	}
	if _, err := os.Stat("/sys/fs/cgroup/memory/cgroup.procs"); err != nil {
		c.errorf("cgroup memory: %v", err)
	}
}

func buildNoPivot(t *testing.T, dir, outside string) *Config {
	rootfs := mkRootfs(t, dir)
	writeFiles(t, outside, map[string]string{"hostfile": "host"})
	writeFiles(t, rootfs, map[string]string{"marker-nopivot": ""})
	if err := os.Mkdir(filepath.Join(rootfs, "dev"), 0o755); err != nil {
		t.Fatal(err)
	}
	// An image whose /dev/tty points at a host file: it must be left alone.
	symlinks(t, rootfs, map[string]string{"dev/tty": outside + "/hostfile"})
	return &Config{
		Rootfs:  rootfs,
		NoPivot: true,
		Spec: &specs.Spec{
			Mounts: []specs.Mount{{Destination: "/proc", Type: "proc", Source: "proc"}},
			Linux:  &specs.Linux{RootfsPropagation: "private", MaskedPaths: []string{"/proc/kcore"}},
		},
	}
}

func checkNoPivot(c *check, in testInput) {
	if _, err := os.Stat("/marker-nopivot"); err != nil {
		c.errorf("not chrooted into the rootfs: %v", err)
	}
	if l, err := os.Readlink("/dev/tty"); err != nil || l != in.Outside+"/hostfile" {
		c.errorf("/dev/tty = %q %v, want the image's symlink left alone", l, err)
	}
	checkDevice(c, "/dev/zero", unix.S_IFCHR, 1, 5, 0o666, 0, 0)
	checkLinks(c)
	if m := mountTable(c)["/"]; strings.Contains(m.optional, "shared:") || strings.Contains(m.optional, "master:") {
		c.errorf("/ is not private: %q", m.optional)
	}
}

func buildCgroupNS(t *testing.T, dir, _ string) *Config {
	return &Config{
		Rootfs: mkRootfs(t, dir),
		Spec: &specs.Spec{
			Mounts: []specs.Mount{
				{Destination: "/proc", Type: "proc", Source: "proc"},
				{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
			},
			Linux: &specs.Linux{
				RootfsPropagation: "rshared",
				Namespaces:        []specs.LinuxNamespace{{Type: specs.MountNamespace}, {Type: specs.CgroupNamespace}},
			},
		},
	}
}

func checkCgroupNS(c *check, _ testInput) {
	mounts := mountTable(c)
	if !strings.Contains(mounts["/"].optional, "shared:") {
		c.errorf("/ is not shared: %q", mounts["/"].optional)
	}
	m := mounts["/sys/fs/cgroup/memory"]
	if m.fstype != "cgroup" || m.root != "/" || !hasOption(m.options, "ro") {
		c.errorf("/sys/fs/cgroup/memory: %+v, want a read-only cgroup mount rooted at the namespace", m)
	}
	if _, err := os.Stat("/sys/fs/cgroup/memory/cgroup.procs"); err != nil {
		c.errorf("%v", err)
	}
}
