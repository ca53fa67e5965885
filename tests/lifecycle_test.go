package tests

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestRunExitCode(t *testing.T) {
	for _, tc := range []struct {
		name  string
		args  []string
		noPID bool // SIGKILL and SIGTERM cannot kill a pid namespace's init from inside
		want  int
	}{
		{"true", []string{"true"}, false, 0},
		{"exit3", []string{"sh", "-c", "exit 3"}, false, 3},
		{"selfKILL", []string{"sh", "-c", "kill -9 $$; sleep 5"}, true, 137},
		{"selfTERM", []string{"sh", "-c", "kill -TERM $$; sleep 5"}, true, 143},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCtr(t, tc.args...)
			if tc.noPID {
				c.dropNamespace(specs.PIDNamespace)
			}
			out, stderr, code := c.run()
			if code != tc.want {
				t.Errorf("exit code %d, want %d\nstdout: %s\nstderr: %s", code, tc.want, out, stderr)
			}
			assertNoLeak(t, c)
		})
	}
}

func TestRunOutput(t *testing.T) {
	c := newCtr(t, "sh", "-c", "echo out; echo err >&2")
	out, stderr, code := c.run()
	if code != 0 || out != "out\n" || !strings.Contains(stderr, "err\n") {
		t.Errorf("run: exit %d, stdout %q, stderr %q; want 0, \"out\\n\", \"err\\n\"", code, out, stderr)
	}
}

func TestLifecycle(t *testing.T) {
	c := newCtr(t, "sh", "-c", "echo started > /out/started; exec sleep 1000")
	outDir := c.bind("/out")
	c.spec.Annotations = map[string]string{"org.tupper.test": "yes"}
	pidFile := filepath.Join(t.TempDir(), "pid")
	c.mustCreate("--pid-file", pidFile)

	st := c.state()
	if st.Status != specs.StateCreated || st.Pid <= 0 || st.ID != c.id || st.Version != specs.Version {
		t.Errorf("state after create: %+v; want status created, a pid, id %s, ociVersion %s", st, c.id, specs.Version)
	}
	if st.Bundle != c.bundle || st.Rootfs != rootfsDir || st.Created == "" || st.Annotations["org.tupper.test"] != "yes" {
		t.Errorf("state after create: bundle %q rootfs %q created %q annotations %v", st.Bundle, st.Rootfs, st.Created, st.Annotations)
	}
	if b, err := os.ReadFile(pidFile); err != nil || strings.TrimSpace(string(b)) != strconv.Itoa(st.Pid) {
		t.Errorf("pid file: %q, %v; want %d", b, err, st.Pid)
	}
	if _, err := os.Stat(filepath.Join(outDir, "started")); err == nil {
		t.Errorf("process ran before start")
	}
	checkCgroup(t, st.Pid, cgroupParent+"/"+c.id)

	c.must("start", nil)
	c.waitStatus(specs.StateRunning)
	if !eventually(func() bool { _, err := os.Stat(filepath.Join(outDir, "started")); return err == nil }) {
		t.Errorf("process did not run after start")
	}
	if got := c.state().Pid; got != st.Pid {
		t.Errorf("pid changed across start: %d, then %d", st.Pid, got)
	}

	c.must("kill", nil, "KILL")
	c.waitStatus(specs.StateStopped)
	c.must("delete", nil)
	if _, _, code := c.do("state", nil); code == 0 {
		t.Errorf("state after delete: exit 0, want an error")
	}
	assertNoLeak(t, c)
}

// TestKill sends each signal spelling to a container that reports what it got.
func TestKill(t *testing.T) {
	for _, tc := range []struct {
		args []string // after the id
		want string
	}{
		{nil, "TERM"}, // the default
		{[]string{"TERM"}, "TERM"},
		{[]string{"SIGUSR1"}, "USR1"},
		{[]string{"10"}, "USR1"},
		{[]string{"15"}, "TERM"},
	} {
		t.Run(strings.Join(append([]string{"sig"}, tc.args...), "_"), func(t *testing.T) {
			c := newCtr(t, "sh", "-c",
				`trap "echo TERM > /out/sig; exit 0" TERM; trap "echo USR1 > /out/sig; exit 0" USR1; echo ready > /out/ready; sleep 1000 & wait`)
			out := c.bind("/out")
			c.mustCreate()
			c.must("start", nil)
			ready := eventually(func() bool { _, err := os.Stat(filepath.Join(out, "ready")); return err == nil })
			if !ready {
				t.Fatal("container never became ready")
			}
			c.must("kill", nil, tc.args...)
			c.waitStatus(specs.StateStopped)
			if got := strings.TrimSpace(readFile(t, filepath.Join(out, "sig"))); got != tc.want {
				t.Errorf("container got signal %q, want %q", got, tc.want)
			}
		})
	}
}

// TestKillForced kills a pid namespace's init, which has no handlers, by every spelling of KILL.
func TestKillForced(t *testing.T) {
	for _, sig := range []string{"KILL", "SIGKILL", "9"} {
		t.Run(sig, func(t *testing.T) {
			c := newCtr(t, "sleep", "1000")
			c.mustCreate()
			c.must("start", nil)
			c.waitStatus(specs.StateRunning)
			pid := c.state().Pid
			c.must("kill", nil, sig)
			c.waitStatus(specs.StateStopped)
			c.must("delete", nil)
			// Its reaper may take a moment; a zombie is dead enough.
			if !eventually(func() bool { return !alive(pid) }) {
				t.Errorf("init pid %d still alive after kill %s and delete", pid, sig)
			}
			assertNoLeak(t, c)
		})
	}
}

func TestKillAll(t *testing.T) {
	c := newCtr(t, "sh", "-c", "sleep 1000 & sleep 1000 & wait")
	c.mustCreate()
	c.must("start", nil)
	c.waitStatus(specs.StateRunning)
	c.must("kill", []string{"--all"}, "9")
	c.waitStatus(specs.StateStopped)
	c.must("delete", nil)
	assertNoLeak(t, c)
}

// TestRunForwardsSignals signals a foreground `run`, which must pass it on.
func TestRunForwardsSignals(t *testing.T) {
	for _, tc := range []struct {
		sig  os.Signal
		want int
	}{
		{syscall.SIGTERM, 42},
		{syscall.SIGUSR1, 43},
	} {
		t.Run(tc.sig.String(), func(t *testing.T) {
			c := newCtr(t, "sh", "-c", `trap "exit 42" TERM; trap "exit 43" USR1; echo ready; sleep 1000 & wait`)
			c.write()
			b := tupperBackground(t, c.opts(), "run", "--bundle", c.bundle, c.id)
			b.waitOutput(t, "ready")
			if err := b.cmd.Process.Signal(tc.sig); err != nil {
				t.Fatal(err)
			}
			if code := b.wait(t); code != tc.want {
				t.Errorf("run exited %d after %v, want %d; stderr: %s", code, tc.sig, tc.want, readFile(t, b.errPath))
			}
			assertNoLeak(t, c)
		})
	}
}

// TestRunKilledFromOutside: a foreground run whose init dies of SIGKILL exits 137.
func TestRunKilledFromOutside(t *testing.T) {
	c := newCtr(t, "sh", "-c", "echo ready; exec sleep 1000")
	c.write()
	b := tupperBackground(t, c.opts(), "run", "--bundle", c.bundle, c.id)
	b.waitOutput(t, "ready")
	c.must("kill", nil, "9")
	if code := b.wait(t); code != 137 {
		t.Errorf("run exited %d, want 137; stderr: %s", code, readFile(t, b.errPath))
	}
	assertNoLeak(t, c)
}

func TestRunDetachKeep(t *testing.T) {
	c := newCtr(t, "sleep", "1000")
	c.write()
	o := c.opts()
	o.stdout = c.out
	if _, stderr, code := tupperWith(t, o, "run", "--detach", "--bundle", c.bundle, c.id); code != 0 {
		t.Fatalf("run --detach: exit %d: %s", code, stderr)
	}
	c.waitStatus(specs.StateRunning)
	c.must("delete", []string{"--force"})
	assertNoLeak(t, c)

	k := newCtr(t, "true")
	k.mustRun("--keep")
	k.waitStatus(specs.StateStopped)
	k.must("delete", nil)
	assertNoLeak(t, k)
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	_, rest, _ := strings.Cut(string(b), ") ")
	return !strings.HasPrefix(rest, "Z") && !strings.HasPrefix(rest, "X")
}

// checkCgroup fails unless pid is in cgroup path in every v1 controller
// hierarchy (the cgroup2 line, "0::", is the host's business on a hybrid host).
func checkCgroup(t *testing.T, pid int, path string) {
	t.Helper()
	data := readFile(t, "/proc/"+strconv.Itoa(pid)+"/cgroup")
	for _, line := range strings.Split(strings.TrimSpace(data), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 || parts[1] == "" {
			continue
		}
		if parts[2] != path {
			t.Errorf("pid %d is in %s cgroup %s, want %s", pid, parts[1], parts[2], path)
		}
	}
}
