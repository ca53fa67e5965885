package tests

import (
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestRunLeavesReusedID: a foreground run whose container was deleted
// while it waited, and its id taken by a new container, does not delete the
// new one when its own process ends.
func TestRunLeavesReusedID(t *testing.T) {
	c := newCtr(t, "sleep", "1000")
	c.write()
	// SIGKILL, the background's cleanup, also ends a stopped process.
	run := tupperBackground(t, c.opts(), "run", "--bundle", c.bundle, c.id)
	// run creates the container meanwhile: state fails until it has.
	if !eventually(func() bool {
		out, _, code := c.do("state", nil)
		return code == 0 && strings.Contains(out, `"status": "running"`)
	}) {
		t.Fatalf("container %s never ran", c.id)
	}
	// Stopped, run cannot delete the container as soon as it ends.
	if err := run.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	c.must("delete", []string{"--force"})
	c.mustCreate()
	if err := run.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	if code := run.wait(t); code != 137 {
		t.Errorf("run exited %d, want 137 (its process killed); stderr %q", code, readFile(t, run.errPath))
	}
	if st := c.state().Status; st != specs.StateCreated {
		t.Errorf("the new container with the reused id is %q after run ended, want created", st)
	}
}
