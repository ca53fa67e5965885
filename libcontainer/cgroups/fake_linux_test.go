package cgroups

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// A fake cgroup host in t.TempDir(): directories and plain files laid out
// as the kernel would, so that the unprivileged tests can check what the
// managers write where.

type hostKind int

const (
	kindV1 hostKind = iota
	kindHybrid
	kindV2
)

func (k hostKind) String() string { return [...]string{"v1", "hybrid", "v2"}[k] }

// v1Files are the control files of a new v1 cgroup, by hierarchy.
var v1Files = map[string][]string{
	"cpuset":      {"cpuset.cpus", "cpuset.mems"},
	"cpu,cpuacct": {"cpu.shares", "cpu.cfs_period_us", "cpu.cfs_quota_us", "cpu.cfs_burst_us", "cpu.rt_period_us", "cpu.rt_runtime_us", "cpu.idle", "cpuacct.usage", "cpuacct.stat", "cpuacct.usage_percpu", "cpu.stat"},
	"memory":      {"memory.limit_in_bytes", "memory.memsw.limit_in_bytes", "memory.soft_limit_in_bytes", "memory.swappiness", "memory.oom_control", "memory.use_hierarchy", "memory.usage_in_bytes", "memory.max_usage_in_bytes", "memory.failcnt", "memory.memsw.usage_in_bytes", "memory.stat"},
	"pids":        {"pids.max", "pids.current"},
	"blkio":       {"blkio.weight", "blkio.leaf_weight", "blkio.weight_device", "blkio.leaf_weight_device", "blkio.throttle.read_bps_device", "blkio.throttle.write_bps_device", "blkio.throttle.read_iops_device", "blkio.throttle.write_iops_device", "blkio.throttle.io_service_bytes_recursive", "blkio.throttle.io_serviced_recursive"},
	"devices":     {"devices.allow", "devices.deny"},
	"freezer":     {"freezer.state"},
	"hugetlb":     {"hugetlb.2MB.limit_in_bytes", "hugetlb.2MB.usage_in_bytes", "hugetlb.2MB.max_usage_in_bytes", "hugetlb.2MB.failcnt"},
	"net_cls":     {"net_cls.classid"},
	"net_prio":    {"net_prio.ifpriomap"},
	"rdma":        {"rdma.max"},
	"systemd":     {},
}

// v2Files are the control files of a new cgroup2 cgroup (the cgroup.*
// ones come from mkdir).
var v2Files = []string{
	"memory.max", "memory.swap.max", "memory.low", "memory.high", "memory.current", "memory.stat", "memory.events", "memory.swap.current", "memory.peak",
	"cpu.weight", "cpu.max", "cpu.max.burst", "cpu.idle", "cpu.stat", "cpuset.cpus", "cpuset.mems",
	"pids.max", "pids.current", "io.weight", "io.max", "io.stat", "hugetlb.2MB.max", "hugetlb.2MB.current", "hugetlb.2MB.events", "rdma.max",
}

type fakeHost struct {
	root, proc string
	kind       hostKind
	writes     []string // "path=data", relative to root
}

func newFakeHost(t *testing.T, kind hostKind) *fakeHost {
	t.Helper()
	tmp := fastTempDir(t)
	f := &fakeHost{root: filepath.Join(tmp, "cgroup"), proc: filepath.Join(tmp, "proc"), kind: kind}
	must(t, os.MkdirAll(filepath.Join(f.proc, "self"), 0o755))
	var mountinfo, selfCgroup strings.Builder
	if kind != kindV2 {
		must(t, os.MkdirAll(f.root, 0o755))
		fmt.Fprintf(&mountinfo, "31 23 0:28 / %s rw,relatime - tmpfs tmpfs rw,mode=755\n", f.root)
		i := 32
		for h := range v1Files {
			opts := h
			if h == "systemd" {
				opts = "xattr,name=systemd"
			}
			fmt.Fprintf(&mountinfo, "%d 31 0:%d / %s/%s rw,relatime shared:9 - cgroup cgroup rw,%s\n", i, i, f.root, h, opts)
			fmt.Fprintf(&selfCgroup, "%d:%s:/own/slice\n", i, strings.TrimPrefix(opts, "xattr,"))
			i++
			must(t, f.mkdir(filepath.Join(f.root, h)))
		}
		// Not directly under root: ignored.
		fmt.Fprintf(&mountinfo, "90 31 0:90 / /elsewhere/memory rw - cgroup cgroup rw,memory\n")
	}
	if kind == kindHybrid {
		fmt.Fprintf(&mountinfo, "91 31 0:91 / %s/unified rw - cgroup2 cgroup2 rw\n", f.root)
		must(t, f.mkdir(filepath.Join(f.root, "unified")))
	}
	if kind == kindV2 {
		must(t, f.mkdir(f.root))
	}
	selfCgroup.WriteString("0::/own/slice\n")
	if kind != kindV2 {
		// A v2 host must not need the mount table.
		must(t, os.WriteFile(filepath.Join(f.proc, "self/mountinfo"), []byte(mountinfo.String()), 0o644))
	}
	must(t, os.WriteFile(filepath.Join(f.proc, "self/cgroup"), []byte(selfCgroup.String()), 0o644))
	return f
}

// fastTempDir is a temporary directory on tmpfs when there is one: a fake
// host is a few hundred small files, which a disk makes a test of seconds.
func fastTempDir(t *testing.T) string {
	dir, err := os.MkdirTemp("/dev/shm", "tupper-cgroups-test-")
	if err != nil {
		return t.TempDir()
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func (f *fakeHost) unifiedRoot() string {
	if f.kind == kindV2 {
		return f.root
	}
	return filepath.Join(f.root, "unified")
}

func (f *fakeHost) fsType(path string) (int64, error) {
	if _, err := os.Stat(path); err != nil {
		return 0, err
	}
	if (f.kind == kindV2 && path == f.root) || (f.kind == kindHybrid && path == f.unifiedRoot()) {
		return unix.CGROUP2_SUPER_MAGIC, nil
	}
	return unix.TMPFS_MAGIC, nil
}

func (f *fakeHost) prober() prober { return prober{root: f.root, proc: f.proc, fsType: f.fsType} }

// mkdir creates a cgroup and fills it as the kernel would: a new cpuset
// cgroup has empty cpus and mems, a new cgroup2 cgroup has the controllers
// its parent enabled.
func (f *fakeHost) mkdir(path string) error {
	if err := os.Mkdir(path, 0o755); err != nil {
		return err
	}
	touch := func(name, content string) error {
		return os.WriteFile(filepath.Join(path, name), []byte(content), 0o644)
	}
	for _, name := range []string{"cgroup.procs", "tasks"} {
		if err := touch(name, ""); err != nil {
			return err
		}
	}
	rel, _ := filepath.Rel(f.root, path)
	top, _, _ := strings.Cut(rel, "/")
	if f.kind == kindV2 || top == "unified" {
		ctrls := "cpuset cpu io memory hugetlb pids rdma"
		if path != f.unifiedRoot() {
			parent, _ := os.ReadFile(filepath.Join(filepath.Dir(path), "cgroup.subtree_control"))
			ctrls = strings.ReplaceAll(string(parent), "+", "")
		}
		for name, content := range map[string]string{
			"cgroup.controllers": ctrls, "cgroup.subtree_control": "", "cgroup.events": "populated 0\nfrozen 0\n",
			"cgroup.freeze": "0", "cgroup.kill": "",
		} {
			if err := touch(name, content); err != nil {
				return err
			}
		}
		if path == f.unifiedRoot() {
			return nil
		}
		for _, name := range v2Files {
			if err := touch(name, ""); err != nil {
				return err
			}
		}
		return nil
	}
	for _, name := range v1Files[top] {
		content := ""
		if rel == top && strings.HasPrefix(name, "cpuset.") {
			content = "0-1\n" // the root cpuset has them all
		}
		if err := touch(name, content); err != nil {
			return err
		}
	}
	return nil
}

// manager is what New would return on this host, with the fake's seams.
func (f *fakeHost) manager(t *testing.T, cgroupsPath, id string) Manager {
	t.Helper()
	m, err := f.prober().newManager(cgroupsPath, id)
	if err != nil {
		t.Fatal(err)
	}
	fl := files{mkdir: f.mkdir, trace: func(path, data string) {
		rel, _ := filepath.Rel(f.root, path)
		f.writes = append(f.writes, rel+"="+data)
	}}
	switch m := m.(type) {
	case *v1Manager:
		m.files = fl
	case *v2Manager:
		m.files = fl
		m.attachDevices = func(dir string, prog []insn) error {
			f.writes = append(f.writes, fmt.Sprintf("%s/devices.bpf=%d insns", f.rel(dir), len(prog)))
			return nil
		}
	}
	return m
}

// rel is path relative to the fake root.
func (f *fakeHost) rel(path string) string {
	r, err := filepath.Rel(f.root, path)
	if err != nil {
		return path
	}
	return r
}

func readT(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}
