package tests

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestNetNSMadeByRuntime: the new network namespace, which tupper makes on
// a thread of its own while create goes on and the init joins by fd, is
// the container's alone (only a loopback device, not the host's), and no
// thread of a foreground run is left in it: the thread that made it went
// back to tupper's namespace.
func TestNetNSMadeByRuntime(t *testing.T) {
	c := newCtr(t, "sh", "-c", "readlink /proc/self/ns/net; cat /proc/net/dev; sleep 1000")
	c.write()
	run := tupperBackground(t, c.opts(), "run", "--bundle", c.bundle, c.id)
	run.waitOutput(t, "lo:")
	out := readFile(t, run.outPath)
	if c.state().Status != specs.StateRunning {
		t.Fatalf("container not running; its output: %q", out)
	}
	host, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	inside := lines[0]
	if !strings.HasPrefix(inside, "net:[") || inside == host {
		t.Errorf("container's network namespace %q, host's %q: want a new one", inside, host)
	}
	var ifaces []string
	for _, l := range lines[1:] {
		if name, _, ok := strings.Cut(l, ":"); ok && !strings.Contains(name, "|") {
			ifaces = append(ifaces, strings.TrimSpace(name))
		}
	}
	if len(ifaces) != 1 || ifaces[0] != "lo" {
		t.Errorf("container's interfaces %q, want only lo", ifaces)
	}
	tasks, err := os.ReadDir(filepath.Join("/proc", strconv.Itoa(run.cmd.Process.Pid), "task"))
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range tasks {
		ns, err := os.Readlink(filepath.Join("/proc", strconv.Itoa(run.cmd.Process.Pid), "task", task.Name(), "ns", "net"))
		if err != nil {
			t.Fatal(err)
		}
		if ns != host {
			t.Errorf("thread %s of tupper run is in network namespace %s, want the host's %s", task.Name(), ns, host)
		}
	}
	c.must("kill", nil, "KILL")
	if code := run.wait(t); code != 137 {
		t.Errorf("run exited %d after KILL, want 137", code)
	}
}
