package tests

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Process attributes the kernel keeps across execve: personality, scheduler,
// I/O priority, CPU affinity, LSM labels. Each is checked from inside a real
// container.

func TestProcessPersonality(t *testing.T) {
	host, err := os.ReadFile("/proc/sys/kernel/arch")
	if err != nil {
		t.Skipf("no /proc/sys/kernel/arch: %v", err)
	}
	if strings.TrimSpace(string(host)) != "x86_64" {
		t.Skipf("LINUX32 names a 32-bit CPU only on x86_64 here, this host is %s", host)
	}
	for _, tc := range []struct {
		domain specs.LinuxPersonalityDomain
		want   string
	}{
		{specs.PerLinux32, "i686\n"},
		{specs.PerLinux, "x86_64\n"},
	} {
		t.Run(string(tc.domain), func(t *testing.T) {
			c := newCtr(t, "uname", "-m")
			c.spec.Linux.Personality = &specs.LinuxPersonality{Domain: tc.domain}
			if out := c.mustRun(); out != tc.want {
				t.Errorf("uname -m under personality %s: %q, want %q", tc.domain, out, tc.want)
			}
		})
	}
}

// procStat returns the fields of /proc/PID/stat as printed by cat inside a
// container, numbered as in proc(5): stat[19] is nice, stat[41] policy.
func procStat(t *testing.T, out string) map[int]string {
	t.Helper()
	i := strings.LastIndexByte(out, ')')
	if i < 0 {
		t.Fatalf("not a /proc/PID/stat line: %q", out)
	}
	stat := map[int]string{}
	for n, f := range strings.Fields(out[i+1:]) {
		stat[n+3] = f
	}
	return stat
}

func TestProcessScheduler(t *testing.T) {
	for _, tc := range []struct {
		name     string
		sched    specs.Scheduler
		realtime bool   // needs realtime runtime in the cgroup
		policy   string // /proc/PID/stat field 41
		nice     string // field 19
		rtprio   string // field 40
	}{
		{"other nice", specs.Scheduler{Policy: specs.SchedOther, Nice: -5}, false, "0", "-5", "0"},
		{"batch", specs.Scheduler{Policy: specs.SchedBatch, Nice: 7}, false, "3", "7", "0"},
		{"idle", specs.Scheduler{Policy: specs.SchedIdle}, false, "5", "0", "0"},
		{"fifo", specs.Scheduler{Policy: specs.SchedFIFO, Priority: 10}, true, "1", "0", "10"},
		{"rr reset on fork", specs.Scheduler{Policy: specs.SchedRR, Priority: 20, Flags: []specs.LinuxSchedulerFlag{specs.SchedFlagResetOnFork}}, true, "2", "0", "20"},
		{"deadline", specs.Scheduler{Policy: specs.SchedDeadline, Runtime: 1_000_000, Deadline: 10_000_000, Period: 100_000_000}, false, "6", "0", "0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// cat itself is the container's process: a SCHED_DEADLINE task
			// may not fork.
			c := newCtr(t, "cat", "/proc/self/stat")
			c.spec.Process.Scheduler = &tc.sched
			if tc.realtime {
				allowRealtime(t, c)
			}
			stat := procStat(t, c.mustRun())
			if stat[41] != tc.policy || stat[19] != tc.nice || stat[40] != tc.rtprio {
				t.Errorf("policy %s nice %s rt_priority %s; want %s, %s, %s", stat[41], stat[19], stat[40], tc.policy, tc.nice, tc.rtprio)
			}
		})
	}
}

// allowRealtime gives the container's cpu cgroup some realtime runtime: with
// CONFIG_RT_GROUP_SCHED a cgroup without any refuses realtime tasks, even to
// root. Its parent, /tupper-test, is the tests' own.
func allowRealtime(t *testing.T, c *ctr) {
	t.Helper()
	parent := filepath.Join("/sys/fs/cgroup/cpu", cgroupParent)
	if _, err := os.Stat("/sys/fs/cgroup/cpu/cpu.rt_runtime_us"); errors.Is(err, os.ErrNotExist) {
		return // no realtime group scheduling: nothing to allow
	}
	if err := os.MkdirAll(parent, 0o755); err != nil {
		t.Skipf("cannot make %s: %v", parent, err)
	}
	file := filepath.Join(parent, "cpu.rt_runtime_us")
	if b, _ := os.ReadFile(file); strings.TrimSpace(string(b)) == "0" {
		if err := os.WriteFile(file, []byte("100000"), 0); err != nil {
			t.Skipf("cannot give %s realtime runtime: %v", parent, err)
		}
	}
	rt, period := int64(10_000), uint64(1_000_000)
	c.spec.Linux.Resources.CPU = &specs.LinuxCPU{RealtimeRuntime: &rt, RealtimePeriod: &period}
}

func TestProcessIOPriority(t *testing.T) {
	for _, tc := range []struct {
		class specs.IOPriorityClass
		prio  int
		want  string
	}{
		{specs.IOPRIO_CLASS_RT, 3, "realtime: prio 3\n"},
		{specs.IOPRIO_CLASS_BE, 6, "best-effort: prio 6\n"},
		{specs.IOPRIO_CLASS_IDLE, 0, "idle\n"},
	} {
		t.Run(string(tc.class), func(t *testing.T) {
			c := newCtr(t, "sh", "-c", "ionice -p $$")
			c.spec.Process.IOPriority = &specs.LinuxIOPriority{Class: tc.class, Priority: tc.prio}
			if out := c.mustRun(); out != tc.want {
				t.Errorf("ionice: %q, want %q", out, tc.want)
			}
		})
	}
}

func TestProcessCPUAffinity(t *testing.T) {
	if runtime.NumCPU() < 2 {
		t.Skip("needs two CPUs")
	}
	all := cpusAllowed(t)
	for _, tc := range []struct {
		name string
		aff  *specs.CPUAffinity
		want string
	}{
		{"none", nil, all},
		{"initial", &specs.CPUAffinity{Initial: "0"}, "0"},
		{"final", &specs.CPUAffinity{Final: "1"}, "1"},
		{"final wins", &specs.CPUAffinity{Initial: "0", Final: "1"}, "1"},
		{"list", &specs.CPUAffinity{Final: "0,1"}, "0-1"},
		{"range", &specs.CPUAffinity{Final: "0-1"}, "0-1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCtr(t, "grep", "Cpus_allowed_list", "/proc/self/status")
			c.spec.Process.ExecCPUAffinity = tc.aff
			if out, want := c.mustRun(), "Cpus_allowed_list:\t"+tc.want+"\n"; out != want {
				t.Errorf("got %q, want %q", out, want)
			}
		})
	}
}

func cpusAllowed(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Cpus_allowed_list:"); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatal("no Cpus_allowed_list in /proc/self/status")
	return ""
}

// lsmEnabled tells whether this host has the LSM, the way an admin would check.
func lsmEnabled(name string) bool {
	switch name {
	case "apparmor":
		b, err := os.ReadFile("/sys/module/apparmor/parameters/enabled")
		return err == nil && strings.HasPrefix(string(b), "Y")
	case "selinux":
		_, err := os.Stat("/sys/fs/selinux/enforce")
		return err == nil
	}
	return false
}

// TestProcessLSMMissing: a label for an LSM the host lacks is an error that
// says so, at create, before anything runs, and nothing is left behind.
func TestProcessLSMMissing(t *testing.T) {
	for _, tc := range []struct {
		lsm   string
		set   func(p *specs.Process)
		words string
	}{
		{"apparmor", func(p *specs.Process) { p.ApparmorProfile = "tupper-test" }, `process.apparmorProfile "tupper-test": AppArmor is not enabled on this host`},
		{"selinux", func(p *specs.Process) { p.SelinuxLabel = "system_u:system_r:container_t:s0" }, `process.selinuxLabel "system_u:system_r:container_t:s0": SELinux is not enabled on this host`},
	} {
		t.Run(tc.lsm, func(t *testing.T) {
			if lsmEnabled(tc.lsm) {
				t.Skipf("%s is enabled on this host", tc.lsm)
			}
			t.Run("create", func(t *testing.T) {
				c := newCtr(t, "true")
				c.root = t.TempDir()
				tc.set(c.spec.Process)
				stderr, code := c.create()
				wantError(t, "create", code, stderr, tc.words)
				if code != 0 {
					assertNoLeak(t, c)
				}
			})
			t.Run("run", func(t *testing.T) {
				c := newCtr(t, "true")
				c.root = t.TempDir()
				tc.set(c.spec.Process)
				_, stderr, code := c.run()
				wantError(t, "run", code, stderr, tc.words)
				assertNoLeak(t, c)
			})
		})
	}
}

// TestProcessAttrsRejected: a bad attribute fails with the field's name and
// leaves nothing behind.
func TestProcessAttrsRejected(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(c *ctr)
		words string
	}{
		{"unknown policy", func(c *ctr) { c.spec.Process.Scheduler = &specs.Scheduler{Policy: "SCHED_FOO"} },
			`process.scheduler.policy "SCHED_FOO": unknown policy`},
		{"unknown scheduler flag", func(c *ctr) {
			c.spec.Process.Scheduler = &specs.Scheduler{Policy: specs.SchedOther, Flags: []specs.LinuxSchedulerFlag{"SCHED_FLAG_FOO"}}
		}, `process.scheduler.flags[0] "SCHED_FLAG_FOO": unknown flag`},
		{"fifo without priority", func(c *ctr) { c.spec.Process.Scheduler = &specs.Scheduler{Policy: specs.SchedFIFO} },
			"process.scheduler.priority 0"},
		{"nice out of range", func(c *ctr) { c.spec.Process.Scheduler = &specs.Scheduler{Policy: specs.SchedOther, Nice: 40} },
			"process.scheduler.nice 40"},
		{"unknown ioprio class", func(c *ctr) { c.spec.Process.IOPriority = &specs.LinuxIOPriority{Class: "IOPRIO_CLASS_FOO"} },
			`process.ioPriority.class "IOPRIO_CLASS_FOO": unknown class`},
		{"ioprio out of range", func(c *ctr) {
			c.spec.Process.IOPriority = &specs.LinuxIOPriority{Class: specs.IOPRIO_CLASS_BE, Priority: 8}
		},
			"process.ioPriority.priority 8"},
		{"unknown personality", func(c *ctr) { c.spec.Linux.Personality = &specs.LinuxPersonality{Domain: "SVR4"} },
			`linux.personality.domain "SVR4": unknown domain`},
		{"personality flag", func(c *ctr) {
			c.spec.Linux.Personality = &specs.LinuxPersonality{Domain: specs.PerLinux, Flags: []specs.LinuxPersonalityFlag{"ADDR_NO_RANDOMIZE"}}
		}, `linux.personality.flags[0] "ADDR_NO_RANDOMIZE": unsupported flag`},
		{"bad cpu list", func(c *ctr) { c.spec.Process.ExecCPUAffinity = &specs.CPUAffinity{Final: "1-0"} },
			`process.execCPUAffinity.final "1-0"`},
		{"cpu not there", func(c *ctr) {
			c.spec.Process.ExecCPUAffinity = &specs.CPUAffinity{Final: strconv.Itoa(runtime.NumCPU() + 500)}
		}, "process.execCPUAffinity.final"},
		{"realtime without cgroup runtime", func(c *ctr) {
			if _, err := os.Stat("/sys/fs/cgroup/cpu/cpu.rt_runtime_us"); err != nil {
				c.t.Skip("no realtime group scheduling here")
			}
			c.spec.Process.Scheduler = &specs.Scheduler{Policy: specs.SchedFIFO, Priority: 1}
		}, "process.scheduler: sched_setattr SCHED_FIFO: operation not permitted"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCtr(t, "true")
			c.root = t.TempDir()
			tc.setup(c)
			_, stderr, code := c.run()
			wantError(t, "run", code, stderr, tc.words)
			assertNoLeak(t, c)
			if entries, _ := os.ReadDir(c.root); len(entries) > 0 {
				t.Errorf("run left %s in its --root", entries[0].Name())
			}
		})
	}
}
