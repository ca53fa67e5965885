package tests

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/tupper-runtime/tupper/tests/internal/fixture"
)

// startReady creates and starts c, and waits for its script to write
// /out/ready; it returns the host directory mounted at /out.
func (c *ctr) startReady() string {
	c.t.Helper()
	out := c.bind("/out")
	c.mustCreate()
	c.must("start", nil)
	if !eventually(func() bool { _, err := os.Stat(filepath.Join(out, "ready")); return err == nil }) {
		c.t.Fatalf("container %s never wrote /out/ready", c.id)
	}
	return out
}

// psJSON runs `ps --format json` and returns the pids.
func (c *ctr) psJSON(flags ...string) []int {
	c.t.Helper()
	if len(flags) == 0 {
		flags = []string{"--format", "json"}
	}
	out := c.must("ps", flags)
	var pids []int
	if err := json.Unmarshal([]byte(out), &pids); err != nil {
		c.t.Fatalf("ps %s: not a JSON array of pids: %v: %q", flags, err, out)
	}
	return pids
}

// cgroupProcs reads the pids of c's cgroup from the host's pids (or v2) tree.
func (c *ctr) cgroupProcs() []int {
	c.t.Helper()
	var pids []int
	for _, f := range strings.Fields(c.cgroupFile("pids", "cgroup.procs", "cgroup.procs")) {
		pid, err := strconv.Atoi(f)
		if err != nil {
			c.t.Fatal(err)
		}
		pids = append(pids, pid)
	}
	slices.Sort(pids)
	return pids
}

// TestCgroupsPauseResume: pause freezes every process (a counting loop
// stops counting) and state says paused; resume thaws it.
func TestCgroupsPauseResume(t *testing.T) {
	c := newCtr(t, "sh", "-c", `echo ready > /out/ready; i=0; while :; do i=$((i+1)); echo $i > /out/count; sleep 0.02; done`)
	out := c.startReady()
	count := func() string { return strings.TrimSpace(readFile(t, filepath.Join(out, "count"))) }
	counting := func() bool {
		before := count()
		return eventually(func() bool { n := count(); return n != before && n != "" })
	}

	c.must("pause", nil)
	if st := c.state(); st.Status != "paused" {
		t.Errorf("state after pause: %q, want paused", st.Status)
	}
	if !c.frozen() {
		t.Errorf("the cgroup's freezer is not frozen after pause")
	}
	before := count()
	time.Sleep(200 * time.Millisecond)
	if after := count(); after != before {
		t.Errorf("the container counted from %s to %s while paused", before, after)
	}
	_, stderr, code := c.do("pause", nil)
	wantError(t, "pause of a paused container", code, stderr, "paused")

	c.must("resume", nil)
	if st := c.state(); st.Status != specs.StateRunning {
		t.Errorf("state after resume: %q, want running", st.Status)
	}
	if c.frozen() || !counting() {
		t.Errorf("the container is still frozen after resume")
	}
	_, stderr, code = c.do("resume", nil)
	wantError(t, "resume of a running container", code, stderr, "not paused")

	// A paused container can be killed and deleted.
	c.must("pause", nil)
	c.must("delete", []string{"--force"})
	assertNoLeak(t, c)
}

// TestCgroupsPauseNotRunning: only a running container can be paused.
func TestCgroupsPauseNotRunning(t *testing.T) {
	c := newCtr(t, "sleep", "1000")
	c.mustCreate()
	_, stderr, code := c.do("pause", nil)
	wantError(t, "pause of a created container", code, stderr, "not running")
	c.must("start", nil)
	c.must("kill", nil, "KILL")
	c.waitStatus(specs.StateStopped)
	_, stderr, code = c.do("pause", nil)
	wantError(t, "pause of a stopped container", code, stderr, "not running")
	_, stderr, code = c.do("resume", nil)
	wantError(t, "resume of a stopped container", code, stderr, "not paused")
}

// TestCgroupsPs: ps lists exactly the container's processes, as JSON for
// containerd and as the host's ps table filtered to them.
func TestCgroupsPs(t *testing.T) {
	c := newCtr(t, "sh", "-c", "sleep 1000 & sleep 1001 & echo ready > /out/ready; wait")
	c.startReady()
	want := c.cgroupProcs()
	if len(want) != 3 || !slices.Contains(want, c.state().Pid) {
		t.Fatalf("cgroup.procs of the container: %v, want the init and two sleeps", want)
	}
	for _, flags := range [][]string{{"--format", "json"}, {"-f", "json"}, {"--format=json"}} {
		if got := c.psJSON(flags...); !slices.Equal(got, want) {
			t.Errorf("ps %s: %v, want %v", flags, got, want)
		}
	}

	table := c.must("ps", nil)
	lines := strings.Split(strings.TrimSpace(table), "\n")
	if len(lines) != 4 || !slices.Contains(strings.Fields(lines[0]), "PID") {
		t.Fatalf("ps: want a header and 3 lines:\n%s", table)
	}
	for _, l := range lines[1:] {
		if !strings.Contains(l, "sleep 100") && !strings.Contains(l, "sh -c") {
			t.Errorf("ps: line %q is not one of the container's processes", l)
		}
	}
	custom := c.must("ps", nil, "-o", "pid,comm")
	lines = strings.Split(strings.TrimSpace(custom), "\n")
	if len(lines) != 4 || strings.Fields(lines[0])[0] != "PID" || strings.Count(custom, "sleep") != 2 {
		t.Errorf("ps ID -o pid,comm: want the PID COMMAND header and 3 lines:\n%s", custom)
	}

	c.must("kill", nil, "KILL")
	c.waitStatus(specs.StateStopped)
	if got := c.psJSON(); len(got) != 0 {
		t.Errorf("ps of a stopped container: %v, want []", got)
	}
}

// TestCgroupsUpdate: update changes live values, from flags, a file and
// stdin, merging onto what the container had; bad input changes nothing.
func TestCgroupsUpdate(t *testing.T) {
	c := newCtr(t, "sleep", "1000")
	tun := specs.LinuxDeviceCgroup{Allow: true, Type: "c", Major: devNum(10), Minor: devNum(200), Access: "rw"}
	c.spec.Linux.Resources.Devices = append(c.spec.Linux.Resources.Devices, tun)
	c.spec.Linux.Resources.Memory = &specs.LinuxMemory{Limit: i64(64 << 20)}
	c.spec.Linux.Resources.CPU = &specs.LinuxCPU{Shares: u64(512)}
	c.spec.Linux.Resources.Pids = &specs.LinuxPids{Limit: i64(20)}
	c.mustCreate()
	c.must("start", nil)

	memory := func() string { return c.cgroupFile("memory", "memory.limit_in_bytes", "memory.max") }
	pids := func() string { return c.cgroupFile("pids", "pids.max", "pids.max") }
	shares := func() string { return c.cgroupFile("cpu", "cpu.shares", "cpu.weight") }
	check := func(what, mem, pid string) {
		t.Helper()
		if got := memory(); got != mem {
			t.Errorf("%s: memory limit %s, want %s", what, got, mem)
		}
		if got := pids(); got != pid {
			t.Errorf("%s: pids limit %s, want %s", what, got, pid)
		}
	}

	c.must("update", []string{"--memory", "128m", "--pids-limit", "30"})
	check("update --memory 128m --pids-limit 30", "134217728", "30")
	c.must("update", []string{"--pids-limit", "40"})
	check("update --pids-limit 40", "134217728", "40")

	file := filepath.Join(t.TempDir(), "resources.json")
	if err := os.WriteFile(file, []byte(`{"memory": {"limit": 100663296}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	c.must("update", []string{"--resources", file})
	check("update --resources FILE", "100663296", "40")

	// Docker's call; a flag given beside the JSON wins over it.
	stdin := `{"memory": {"limit": 83886080}, "pids": {"limit": 50}, "cpu": {"shares": 256}}`
	if _, stderr, code := c.doStdin(stdin, "update", []string{"--resources", "-", "--pids-limit", "60"}); code != 0 {
		t.Fatalf("update --resources -: exit %d: %s", code, stderr)
	}
	check("update --resources - (stdin)", "83886080", "60")
	if want := map[bool]string{false: "256", true: "10"}[pureV2()]; shares() != want {
		t.Errorf("cpu shares after update: %s, want %s", shares(), want)
	}
	if !pureV2() {
		if list := c.cgroupFile("devices", "devices.list", ""); !strings.Contains(list, "c 10:200 rw") {
			t.Errorf("the container's device rule is gone after update: devices.list:\n%s", list)
		}
	}

	for _, tc := range []struct {
		name  string
		stdin string
		flags []string
		words []string
	}{
		{"malformed json", `{"memory": {"limit": `, []string{"-r", "-"}, []string{"--resources", "decode"}},
		{"wrong json type", `{"memory": {"limit": "lots"}}`, []string{"-r", "-"}, []string{"--resources", "limit"}},
		{"missing file", "", []string{"--resources", "/nonexistent/res.json"}, []string{"/nonexistent/res.json"}},
		{"bad size", "", []string{"--memory", "12x"}, []string{"--memory"}},
		{"bad number", "", []string{"--pids-limit", "ten"}, []string{"--pids-limit"}},
		{"refused by the kernel", "", []string{"--memory", "256m", "--cpuset-cpus", "99"}, []string{"cpu.cpus"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := c.doStdin(tc.stdin, "update", tc.flags)
			wantError(t, "update "+strings.Join(tc.flags, " "), code, stderr, tc.words...)
			check("after a failed update", "83886080", "60")
		})
	}

	c.must("kill", nil, "KILL")
	c.waitStatus(specs.StateStopped)
	_, stderr, code := c.do("update", []string{"--pids-limit", "5"})
	wantError(t, "update of a stopped container", code, stderr, "not running")
}

// doStdin is c.do with stdin.
func (c *ctr) doStdin(stdin, cmd string, flags []string) (stdout, stderr string, code int) {
	c.t.Helper()
	args := append(append([]string{cmd}, flags...), c.id)
	run, outPath, errPath := tupperCmd(c.t, c.opts(), args...)
	run.Stdin = strings.NewReader(stdin)
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	if err := run.Start(); err != nil {
		c.t.Fatal(err)
	}
	stop := context.AfterFunc(ctx, func() { run.Process.Kill() })
	defer stop()
	code = exitCode(c.t, run.Wait())
	return readFile(c.t, outPath), readFile(c.t, errPath), code
}

// TestCgroupsEventsStats: `events --stats` prints one stats event with the
// cgroup's counters, in runc's field names.
func TestCgroupsEventsStats(t *testing.T) {
	c := newCtr(t, "sh", "-c", "sleep 1000 & echo ready > /out/ready; wait")
	c.spec.Linux.Resources.Memory = &specs.LinuxMemory{Limit: i64(64 << 20)}
	c.spec.Linux.Resources.Pids = &specs.LinuxPids{Limit: i64(20)}
	c.startReady()
	out := c.must("events", []string{"--stats"})
	if n := strings.Count(out, "\n"); n != 1 {
		t.Errorf("events --stats: %d lines, want 1:\n%s", n, out)
	}
	var e struct {
		Type string `json:"type"`
		ID   string `json:"id"`
		Data struct {
			CPU struct {
				Usage struct {
					Total uint64 `json:"total"`
				} `json:"usage"`
			} `json:"cpu"`
			Memory struct {
				Usage struct {
					Usage uint64 `json:"usage"`
					Limit uint64 `json:"limit"`
				} `json:"usage"`
			} `json:"memory"`
			Pids struct {
				Current uint64 `json:"current"`
				Limit   uint64 `json:"limit"`
			} `json:"pids"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(out), &e); err != nil {
		t.Fatalf("events --stats: not JSON: %v: %q", err, out)
	}
	d := e.Data
	if e.Type != "stats" || e.ID != c.id || d.Memory.Usage.Limit != 64<<20 || d.Memory.Usage.Usage == 0 ||
		d.Pids.Current != 2 || d.Pids.Limit != 20 || d.CPU.Usage.Total == 0 {
		t.Errorf("events --stats: %s\nwant type stats, id %s, memory limit 64m and some usage, 2 of 20 pids, some cpu", out, c.id)
	}

	_, stderr, code := c.do("events", []string{"--interval", "0s"})
	wantError(t, "events --interval 0s", code, stderr, "interval")
	c.must("kill", nil, "KILL")
	c.waitStatus(specs.StateStopped)
	for _, flags := range [][]string{{"--stats"}, nil} {
		_, stderr, code := c.do("events", flags)
		wantError(t, "events of a stopped container", code, stderr, "not running")
	}
}

// TestCgroupsKillAllEscaped: kill --all reaches a process that left the
// init's process group and session (setsid). Without a pid namespace,
// killing the init would leave it running; only the cgroup finds it.
func TestCgroupsKillAllEscaped(t *testing.T) {
	c := newCtr(t, "sh", "-c", "setsid sleep 1000 & sleep 1001 & echo ready > /out/ready; wait")
	c.dropNamespace(specs.PIDNamespace)
	c.startReady()
	var pids []int
	if !eventually(func() bool { pids = c.psJSON(); return len(pids) == 3 }) {
		t.Fatalf("ps: %v, want the init and two sleeps", pids)
	}
	init := c.state().Pid
	escaped := 0
	for _, pid := range pids {
		if pid != init && pgid(t, pid) != pgid(t, init) {
			escaped = pid
		}
	}
	if escaped == 0 {
		t.Fatalf("no process of %v left the init's process group", pids)
	}
	c.must("kill", []string{"--all"}, "9")
	for _, pid := range pids {
		if !eventually(func() bool { return !alive(pid) }) {
			t.Errorf("pid %d (%s) alive after kill --all", pid, fixture.Cmdline(pid))
		}
	}
	c.waitStatus(specs.StateStopped)
	c.must("delete", nil)
	assertNoLeak(t, c)
}

// pgid is field 5 of /proc/PID/stat.
func pgid(t *testing.T, pid int) string {
	stat := readFile(t, "/proc/"+strconv.Itoa(pid)+"/stat")
	_, rest, _ := strings.Cut(stat, ") ")
	if f := strings.Fields(rest); len(f) > 2 {
		return f[2]
	}
	return ""
}

// TestCgroupsCommandsNonexistent: every cgroup command names a missing id.
func TestCgroupsCommandsNonexistent(t *testing.T) {
	for _, args := range [][]string{
		{"pause"}, {"resume"}, {"ps"}, {"ps", "--format", "json"}, {"update", "--pids-limit", "5"},
		{"events", "--stats"}, {"events"},
	} {
		id := "tt-nonexistent-" + strings.Join(args, "")
		_, stderr, code := tupper(t, append(args, id)...)
		wantError(t, strings.Join(args, " ")+" of a nonexistent container", code, stderr, id, "does not exist")
	}
	_, stderr, code := tupper(t, "ps", "--format", "yaml", "tt-nonexistent-ps")
	wantError(t, "ps --format yaml", code, stderr, "yaml")
}

// TestCgroupsUpdateKeepsDevices: an update must not take the container's
// devices away, not even for a moment: a process writing to /dev/null in a
// loop never sees it fail while updates run.
func TestCgroupsUpdateKeepsDevices(t *testing.T) {
	c := newCtr(t, "sh", "-c", `echo ready > /out/ready; while :; do echo x > /dev/null || echo failed >> /out/failed; done`)
	out := c.startReady()
	for i := range 50 {
		c.must("update", []string{"--pids-limit", strconv.Itoa(100 + i)})
	}
	if n := strings.Count(readFile(t, filepath.Join(out, "failed")), "failed"); n > 0 {
		t.Errorf("writing to /dev/null failed %d times inside the container during 50 updates", n)
	}
}

// TestCgroupsUpdateSizes: --memory takes sizes as Docker and runc write them.
func TestCgroupsUpdateSizes(t *testing.T) {
	c := newCtr(t, "sleep", "1000")
	c.mustCreate()
	unlimited := map[bool]string{false: "9223372036854771712", true: "max"}[pureV2()]
	for _, tc := range []struct{ flag, want string }{
		{"100663296", "100663296"},
		{"96m", "100663296"},
		{"96M", "100663296"},
		{"96MiB", "100663296"},
		{"96mb", "100663296"},
		{"98304k", "100663296"},
		{"1.5g", "1610612736"},
		{"1g", "1073741824"},
		{"-1", unlimited},
	} {
		c.must("update", []string{"--memory", tc.flag})
		if got := c.cgroupFile("memory", "memory.limit_in_bytes", "memory.max"); got != tc.want {
			t.Errorf("update --memory %s: limit %s, want %s", tc.flag, got, tc.want)
		}
	}
	for _, bad := range []string{"", "12x", "m", "1.g", "-2", "0x10", "1e9", "99999999999p"} {
		_, stderr, code := c.do("update", []string{"--memory", bad})
		wantError(t, "update --memory "+bad, code, stderr, "--memory")
	}
}
