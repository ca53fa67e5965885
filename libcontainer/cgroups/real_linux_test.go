package cgroups

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// realCgroup returns a Manager for a fresh /tupper-test/cgtest-<random> on
// this host. Cleanup destroys it and removes the /tupper-test levels this
// test created, when they are empty.
func realCgroup(t *testing.T) Manager {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates cgroups under /tupper-test")
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	m, err := New("/tupper-test/cgtest-"+hex.EncodeToString(b), "unused")
	if err != nil {
		t.Fatal(err)
	}
	var parents []string
	for _, dir := range m.Paths() {
		// Never anything but our own /tupper-test tree.
		if !strings.Contains(dir, "/tupper-test/cgtest-") {
			t.Fatalf("cgroup %s is outside /tupper-test", dir)
		}
		parent := filepath.Dir(dir)
		if _, err := os.Stat(parent); errors.Is(err, fs.ErrNotExist) && !slices.Contains(parents, parent) {
			parents = append(parents, parent)
		}
	}
	t.Cleanup(func() {
		if err := m.Destroy(); err != nil {
			t.Errorf("cleanup: %v", err)
		}
		for _, p := range parents {
			_ = unix.Rmdir(p)
		}
	})
	return m
}

// startSleep starts a child that Cleanup kills.
func startSleep(t *testing.T) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd
}

func TestRealLifecycle(t *testing.T) {
	m := realCgroup(t)
	cmd := startSleep(t)
	pid := cmd.Process.Pid

	if err := m.Apply(0); err != nil {
		t.Fatal(err)
	}
	if p, err := m.Placement(); err != nil {
		t.Error(err)
	} else {
		var st unix.Stat_t
		if err := unix.Fstat(p.CloneFD, &st); p.CloneFD >= 0 && (err != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR) {
			t.Errorf("placement clone fd %d: not a directory (%v)", p.CloneFD, err)
		}
		p.Close()
	}
	if err := m.Apply(pid); err != nil {
		t.Fatal(err)
	}

	pids, err := m.Pids()
	if err != nil || !slices.Contains(pids, pid) {
		t.Fatalf("Pids() = %v, %v; want %d in it", pids, err, pid)
	}
	for ctrl, dir := range m.Paths() {
		procs, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
		if err != nil || !slices.Contains(strings.Fields(string(procs)), strconv.Itoa(pid)) {
			t.Errorf("%s: cgroup.procs = %q, %v; want %d in it", ctrl, procs, err, pid)
		}
	}

	st, err := m.Stats()
	if err != nil || st.Pids.Current != 1 {
		t.Errorf("Stats() = %+v, %v; want one task", st, err)
	}

	if err := m.Freeze(true); err != nil {
		t.Fatal(err)
	}
	if f, err := m.Frozen(); err != nil || !f {
		t.Errorf("after Freeze(true): Frozen() = %v, %v", f, err)
	}
	if err := m.Freeze(false); err != nil {
		t.Fatal(err)
	}
	if f, err := m.Frozen(); err != nil || f {
		t.Errorf("after Freeze(false): Frozen() = %v, %v", f, err)
	}

	if err := m.Kill(unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Errorf("sleep ended with %v, want killed", err)
	}

	if err := m.Destroy(); err != nil {
		t.Fatal(err)
	}
	for ctrl, dir := range m.Paths() {
		if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s: %s still there after Destroy (%v)", ctrl, dir, err)
		}
	}
	if err := m.Destroy(); err != nil {
		t.Errorf("second Destroy: %v", err)
	}
}

func TestRealLoad(t *testing.T) {
	m := realCgroup(t)
	cmd := startSleep(t)
	if err := m.Apply(cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	l, err := Load(m.Paths())
	if err != nil {
		t.Fatal(err)
	}
	pids, err := l.Pids()
	if err != nil || !slices.Equal(pids, []int{cmd.Process.Pid}) {
		t.Errorf("loaded Pids() = %v, %v", pids, err)
	}
	if err := l.Kill(unix.SIGTERM); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if err := l.Destroy(); err != nil {
		t.Fatal(err)
	}
}

func TestRealSet(t *testing.T) {
	m := realCgroup(t)
	if err := m.Apply(0); err != nil {
		t.Fatal(err)
	}
	paths := m.Paths()
	r := &specs.LinuxResources{
		Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}},
		Memory:  &specs.LinuxMemory{Limit: i64(64 << 20), Swap: i64(128 << 20), Reservation: i64(32 << 20), Swappiness: u64(10)},
		CPU:     &specs.LinuxCPU{Shares: u64(512), Quota: i64(50000), Period: u64(100000), Cpus: "0", Mems: "0"},
		Pids:    &specs.LinuxPids{Limit: i64(42)},
	}
	if err := m.Set(r); err != nil {
		t.Fatal(err)
	}
	// Growing the limits has to move memory+swap first.
	r.Memory = &specs.LinuxMemory{Limit: i64(256 << 20), Swap: i64(512 << 20)}
	if err := m.Set(r); err != nil {
		t.Fatalf("raise limits: %v", err)
	}
	for _, tc := range []struct{ ctrl, file, want string }{
		{"memory", "memory.limit_in_bytes", "268435456"},
		{"memory", "memory.memsw.limit_in_bytes", "536870912"},
		{"memory", "memory.soft_limit_in_bytes", "33554432"},
		{"memory", "memory.swappiness", "10"},
		{"cpu", "cpu.shares", "512"},
		{"cpu", "cpu.cfs_quota_us", "50000"},
		{"cpuset", "cpuset.cpus", "0"},
		{"pids", "pids.max", "42"},
	} {
		dir, ok := paths[tc.ctrl]
		if !ok {
			continue
		}
		if got, err := read(dir, tc.file); err != nil || got != tc.want {
			t.Errorf("%s = %q, %v; want %q", tc.file, got, err, tc.want)
		}
	}
	if dir, ok := paths["devices"]; ok {
		list, err := read(dir, "devices.list")
		want := []string{"c 1:3 rwm", "c 136:* rwm", "b *:* m"}
		for _, w := range want {
			if !strings.Contains(list, w) {
				t.Errorf("devices.list = %q, %v; want %q in it", list, err, w)
			}
		}
		if strings.Contains(list, "a *:* rwm") {
			t.Errorf("devices.list still allows everything: %q", list)
		}
	}
	err := m.Set(&specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(-5)}})
	if err == nil || !strings.HasPrefix(err.Error(), "linux.resources.memory.limit: write /sys/fs/cgroup/memory/tupper-test/") {
		t.Errorf("bad limit: %v", err)
	}
}

func BenchmarkRealNewApply(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root: creates cgroups under /tupper-test")
	}
	for i := 0; i < b.N; i++ {
		m, err := New("/tupper-test/bench", "x")
		if err != nil {
			b.Fatal(err)
		}
		if err := m.Apply(0); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := m.Destroy(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.StopTimer()
	for _, dir := range []string{"memory", "cpu", "cpuacct", "cpuset", "devices", "freezer", "blkio", "pids", "systemd", "unified"} {
		_ = unix.Rmdir("/sys/fs/cgroup/" + dir + "/tupper-test")
	}
}

// TestRealDevicesBPF runs the device program on this kernel: a shell
// started straight into the cgroup (CLONE_INTO_CGROUP through CgroupFD)
// opens device nodes the test made. Only the cgroup2 hierarchy is used, so
// on a hybrid host the v1 devices controller does not interfere.
func TestRealDevicesBPF(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates cgroups under /tupper-test")
	}
	root := ""
	for _, dir := range []string{"/sys/fs/cgroup", "/sys/fs/cgroup/unified"} {
		if typ, err := statfsType(dir); err == nil && typ == unix.CGROUP2_SUPER_MAGIC {
			root = dir
		}
	}
	if root == "" {
		t.Skip("no cgroup2 hierarchy")
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	parent := filepath.Join(root, "tupper-test")
	_, statErr := os.Stat(parent)
	// No mountpoint: enable no controller in the host's hierarchy.
	m := &v2Manager{dir: filepath.Join(parent, "bpf-"+hex.EncodeToString(b))}
	t.Cleanup(func() {
		if err := m.Destroy(); err != nil {
			t.Error(err)
		}
		if errors.Is(statErr, fs.ErrNotExist) {
			_ = unix.Rmdir(parent)
		}
	})
	if err := m.Apply(0); err != nil {
		t.Fatal(err)
	}

	nodes := t.TempDir()
	null, unassigned := filepath.Join(nodes, "null"), filepath.Join(nodes, "c240")
	must(t, unix.Mknod(null, unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))))
	must(t, unix.Mknod(unassigned, unix.S_IFCHR|0o666, int(unix.Mkdev(240, 0))))

	open := func() string {
		t.Helper()
		cmd := exec.Command("sh", "-c", `for n; do head -c0 "$n" 2>&1 && echo "$n: ok"; done; true`, "sh", null, unassigned)
		p, err := m.Placement()
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: p.CloneFD}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		return strings.ReplaceAll(string(out), nodes+"/", "")
	}

	if err := m.Set(&specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}}}); err != nil {
		t.Fatal(err)
	}
	out := open()
	if !strings.Contains(out, "null: ok") || !strings.Contains(out, "'c240' for reading: Operation not permitted") {
		t.Errorf("deny all but the defaults:\n%s", out)
	}

	if err := m.Set(&specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{
		{Allow: false, Access: "rwm"},
		{Allow: true, Type: "c", Major: i64(240), Minor: i64(0), Access: "r"},
	}}); err != nil {
		t.Fatal(err)
	}
	out = open()
	if !strings.Contains(out, "null: ok") || strings.Contains(out, "'c240' for reading: Operation not permitted") {
		t.Errorf("after allowing c 240:0 r:\n%s", out)
	}
	cg, err := unix.Open(m.dir, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	must(t, err)
	defer unix.Close(cg)
	if ids, err := attachedPrograms(cg); err != nil || len(ids) != 1 {
		t.Errorf("attached programs %v, %v; want the last one only", ids, err)
	}
}
