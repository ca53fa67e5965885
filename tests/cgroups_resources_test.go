package tests

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// pureV2 tells a pure cgroup v2 host (the QEMU guest) from a v1 or hybrid
// one (this machine): only then is cgroup.controllers at the top.
func pureV2() bool {
	_, err := os.Stat("/sys/fs/cgroup/cgroup.controllers")
	return err == nil
}

// cgroupPath is the file of container c's cgroup: name in the v1 hierarchy
// of ctrl, or name in the one directory on a pure v2 host.
func (c *ctr) cgroupPath(ctrl, name string) string {
	if pureV2() {
		return filepath.Join("/sys/fs/cgroup", cgroupParent, c.key, name)
	}
	return filepath.Join("/sys/fs/cgroup", ctrl, cgroupParent, c.key, name)
}

// cgroupFile reads a control file of c's cgroup, trimmed; v1name on v1 and
// hybrid hosts, v2name on pure v2. "" when the file does not exist.
func (c *ctr) cgroupFile(ctrl, v1name, v2name string) string {
	c.t.Helper()
	name := v1name
	if pureV2() {
		name = v2name
	}
	b, err := os.ReadFile(c.cgroupPath(ctrl, name))
	if err != nil && !os.IsNotExist(err) {
		c.t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// frozen reads the freezer's state of c's cgroup.
func (c *ctr) frozen() bool {
	c.t.Helper()
	if pureV2() {
		return strings.Contains(c.cgroupFile("", "", "cgroup.events"), "frozen 1")
	}
	return c.cgroupFile("freezer", "freezer.state", "") == "FROZEN"
}

// swapAccounting: the kernel charges swap to a memory cgroup, so a limit on
// memory+swap holds.
func swapAccounting() bool {
	if pureV2() {
		// The root cgroup has no memory files; any child with memory on does.
		m, _ := filepath.Glob("/sys/fs/cgroup/*/memory.swap.max")
		return len(m) > 0
	}
	_, err := os.Stat("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes")
	return err == nil
}

func i64(v int64) *int64    { return &v }
func u64(v uint64) *uint64  { return &v }
func u16(v uint16) *uint16  { return &v }
func devNum(v int64) *int64 { return &v }

// TestCgroupsResourceFiles: the container's cgroup files hold the values of
// linux.resources, and delete leaves no cgroup directory in any hierarchy.
func TestCgroupsResourceFiles(t *testing.T) {
	c := newCtr(t, "sleep", "1000")
	c.spec.Linux.Resources.Memory = &specs.LinuxMemory{Limit: i64(64 << 20), Reservation: i64(32 << 20)}
	c.spec.Linux.Resources.CPU = &specs.LinuxCPU{Shares: u64(512), Quota: i64(50000), Period: u64(100000), Cpus: "0", Mems: "0"}
	c.spec.Linux.Resources.Pids = &specs.LinuxPids{Limit: i64(100)}
	c.spec.Linux.Resources.BlockIO = &specs.LinuxBlockIO{Weight: u16(300)}
	c.mustCreate()
	for _, tc := range []struct {
		ctrl, v1, v2 string
		want1, want2 string // on v1 (and hybrid), on pure v2
	}{
		{"memory", "memory.limit_in_bytes", "memory.max", "67108864", "67108864"},
		{"memory", "memory.soft_limit_in_bytes", "memory.low", "33554432", "33554432"},
		{"cpu", "cpu.shares", "cpu.weight", "512", "20"}, // 1 + (512-2)*9999/262142
		{"cpu", "cpu.cfs_quota_us", "cpu.max", "50000", "50000 100000"},
		{"cpu", "cpu.cfs_period_us", "cpu.max", "100000", "50000 100000"},
		{"cpuset", "cpuset.cpus", "cpuset.cpus", "0", "0"},
		{"cpuset", "cpuset.mems", "cpuset.mems", "0", "0"},
		{"pids", "pids.max", "pids.max", "100", "100"},
	} {
		want := tc.want1
		if pureV2() {
			want = tc.want2
		}
		if got := c.cgroupFile(tc.ctrl, tc.v1, tc.v2); got != want {
			t.Errorf("%s: %q, want %q", c.cgroupPath(tc.ctrl, map[bool]string{false: tc.v1, true: tc.v2}[pureV2()]), got, want)
		}
	}
	// The weight file depends on the I/O scheduler: CFQ's blkio.weight,
	// BFQ's blkio.bfq.weight, v2's io.bfq.weight ("default 300").
	checked := false
	for _, name := range []string{"blkio.weight", "blkio.bfq.weight", "io.bfq.weight"} {
		ctrl := "blkio"
		if b, err := os.ReadFile(c.cgroupPath(ctrl, name)); err == nil {
			if f := strings.Fields(string(b)); len(f) == 0 || f[len(f)-1] != "300" {
				t.Errorf("%s: %q, want 300", name, b)
			}
			checked = true
			break
		}
	}
	if !checked {
		t.Logf("no blkio weight file on this host: blockIO.weight not checked")
	}
	c.must("delete", []string{"--force"})
	assertNoLeak(t, c)
}

// TestCgroupsOOM: a container that allocates past its memory limit has the
// process OOM-killed, `events` reports the OOM as it happens, and exits
// when the container stops.
func TestCgroupsOOM(t *testing.T) {
	// dd fills a 200M buffer. One allocating process: with two (head -c
	// 200m /dev/zero | tail) the writer can hit the limit again before the
	// killed reader's memory is freed, and the second kill takes the shell.
	c := newCtr(t, "sh", "-c", `while [ ! -e /out/go ]; do sleep 0.05; done; dd if=/dev/zero of=/dev/null bs=200M count=1 2>/dev/null; echo "dd $?" > /out/status
while [ ! -e /out/stop ]; do sleep 0.05; done`)
	out := c.bind("/out")
	limit := int64(32 << 20)
	c.spec.Linux.Resources.Memory = &specs.LinuxMemory{Limit: &limit}
	if swapAccounting() {
		c.spec.Linux.Resources.Memory.Swap = &limit // no swap at all
	}
	c.mustCreate()
	c.must("start", nil)
	ev := tupperBackground(t, c.opts(), "events", "--interval", "100ms", c.id)
	ev.waitOutput(t, `"type":"stats"`) // events is watching
	if err := os.WriteFile(filepath.Join(out, "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	// Reported as it happens, while the container runs on.
	ev.waitOutput(t, `"type":"oom"`)
	if st := c.state().Status; st != specs.StateRunning {
		t.Errorf("state after the OOM kill: %q, want running (only dd was killed)", st)
	}
	if err := os.WriteFile(filepath.Join(out, "stop"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if code := ev.wait(t); code != 0 {
		t.Fatalf("events: exit %d after the container stopped: %s", code, readFile(t, ev.errPath))
	}
	if got := strings.TrimSpace(readFile(t, filepath.Join(out, "status"))); got != "dd 137" {
		t.Errorf("exit status of the allocating process: %q, want \"dd 137\" (SIGKILL)", got)
	}
	if testing.Verbose() {
		t.Logf("events:\n%s", readFile(t, ev.outPath))
	}
	var ooms, stats int
	for _, line := range strings.Split(strings.TrimSpace(readFile(t, ev.outPath)), "\n") {
		var e struct {
			Type string `json:"type"`
			ID   string `json:"id"`
			Data struct {
				Memory struct {
					Usage struct {
						Limit uint64 `json:"limit"`
					} `json:"usage"`
				} `json:"memory"`
			} `json:"data"`
		}
		if err := json.Unmarshal([]byte(line), &e); err != nil || e.ID != c.id {
			t.Errorf("events: line %q: not an event of %s (%v)", line, c.id, err)
			continue
		}
		switch e.Type {
		case "oom":
			ooms++
		case "stats":
			stats++
			if e.Data.Memory.Usage.Limit != uint64(limit) {
				t.Errorf("events: stats memory.usage.limit %d, want %d", e.Data.Memory.Usage.Limit, limit)
			}
		default:
			t.Errorf("events: unknown type in %q", line)
		}
	}
	if ooms == 0 || stats == 0 {
		t.Errorf("events: %d oom and %d stats events, want both:\n%s", ooms, stats, readFile(t, ev.outPath))
	}
}

// TestCgroupsPidsLimit: a fork loop stops at linux.resources.pids.limit,
// and the container sees fork fail. Only shell builtins run once the
// loop has hit the limit.
func TestCgroupsPidsLimit(t *testing.T) {
	c := newCtr(t, "sh", "-c", `( i=0; while [ $i -lt 30 ]; do sleep 1000 & i=$((i+1)); done ) 2>/dev/shm/err
set -- /proc/[0-9]*; echo "procs $#"; read -r line </dev/shm/err; echo "err $line"`)
	c.spec.Linux.Resources.Pids = &specs.LinuxPids{Limit: i64(10)}
	out := c.mustRun()
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		k, v, _ := strings.Cut(line, " ")
		got[k] = v
	}
	if n, err := strconv.Atoi(got["procs"]); err != nil || n > 10 || n < 2 {
		t.Errorf("processes in the container after the fork loop: %q, want 2 to 10", got["procs"])
	}
	if !strings.Contains(got["err"], "fork") {
		t.Errorf("fork loop: error %q, want the shell's \"can't fork\"", got["err"])
	}
}

// TestCgroupsDeviceRules: linux.resources.devices decides whether a device
// node in the container can be opened. /dev/tuntest is 10:200, the tun
// device, which none of the default rules allows.
func TestCgroupsDeviceRules(t *testing.T) {
	tun := specs.LinuxDeviceCgroup{Type: "c", Major: devNum(10), Minor: devNum(200)}
	allow, deny := tun, tun
	allow.Allow, allow.Access = true, "rw"
	deny.Access = "rw" // mknod stays allowed: the node must be made
	for _, tc := range []struct {
		name    string
		rules   []specs.LinuxDeviceCgroup
		allowed bool
	}{
		{"not listed", []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}}, false},
		{"allowed", []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}, allow}, true},
		{"denied after allow all", []specs.LinuxDeviceCgroup{{Allow: true, Access: "rwm"}, deny}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCtr(t, "sh", "-c", "exec 3</dev/tuntest && echo opened")
			c.spec.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/tuntest", Type: "c", Major: 10, Minor: 200, FileMode: fileMode(0o666)}}
			c.spec.Linux.Resources.Devices = tc.rules
			out, stderr, _ := c.run()
			denied := strings.Contains(stderr, "not permitted")
			if tc.allowed && denied || !tc.allowed && (!denied || strings.Contains(out, "opened")) {
				t.Errorf("open /dev/tuntest with rules %+v: stdout %q, stderr %q; want allowed=%v", tc.rules, out, stderr, tc.allowed)
			}
			assertNoLeak(t, c)
		})
	}
}

func fileMode(m os.FileMode) *os.FileMode { return &m }

// TestCgroupsMissingController: a config asking for a controller the host
// has not mounted fails create with an error naming it, and leaves nothing.
func TestCgroupsMissingController(t *testing.T) {
	for _, tc := range []struct {
		name, ctrl string
		set        func(r *specs.LinuxResources)
	}{
		{"network classID", "net_cls", func(r *specs.LinuxResources) {
			id := uint32(0x100001)
			r.Network = &specs.LinuxNetwork{ClassID: &id}
		}},
		{"rdma", "rdma", func(r *specs.LinuxResources) {
			n := uint32(1)
			r.Rdma = map[string]specs.LinuxRdma{"mlx4_0": {HcaHandles: &n}}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if hasController(tc.ctrl) {
				t.Skipf("the host has the %s controller", tc.ctrl)
			}
			c := newCtr(t, "true")
			c.root = t.TempDir()
			tc.set(c.spec.Linux.Resources)
			stderr, code := c.create()
			wantError(t, "create", code, stderr, tc.ctrl)
			assertCreateLeftNothing(t, c, false)
		})
	}
}

func hasController(name string) bool {
	if pureV2() {
		b, _ := os.ReadFile("/sys/fs/cgroup/cgroup.controllers")
		return strings.Contains(" "+string(b)+" ", " "+name+" ")
	}
	b, _ := os.ReadFile("/proc/self/mountinfo")
	for _, line := range strings.Split(string(b), "\n") {
		if _, post, ok := strings.Cut(line, " - cgroup "); ok {
			for _, opt := range strings.Split(post[strings.LastIndex(post, " ")+1:], ",") {
				if opt == name {
					return true
				}
			}
		}
	}
	return false
}
