package tests

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestExecLargeProcess: exec sends the process to the child before the
// child has forked into the container; a process larger than the socket
// can buffer (here four variables of 120 KB, the kernel's limit for one
// being 128 KB) must still get through whole, in the flags' form and the
// --process form.
func TestExecLargeProcess(t *testing.T) {
	c, _ := runningCtr(t, nil)
	var flags, env []string
	for i := range 4 {
		kv := fmt.Sprintf("BIG%d=%s", i, strings.Repeat(string(rune('a'+i)), 120<<10))
		flags = append(flags, "--env", kv)
		env = append(env, kv)
	}
	script := `echo ${#BIG0} ${#BIG1} ${#BIG2} ${#BIG3} ${BIG3%%ddd*}.`
	want := "122880 122880 122880 122880 .\n"
	if out := c.mustExec(flags, "sh", "-c", script); out != want {
		t.Errorf("exec --env x4: stdout %q, want %q", out, want)
	}
	proc := writeProcess(t, &specs.Process{Args: []string{"sh", "-c", script}, Env: env, Cwd: "/"})
	if out := c.mustExec([]string{"--process", proc}); out != want {
		t.Errorf("exec --process: stdout %q, want %q", out, want)
	}
}

// TestExecRepeated: in an exec of a plain process, the process may report
// that it is ready before the constructor's intermediate reports its pid
// (both write to the same socket, and the process has what it needs from
// the start); either order must work. The order changes from run to run,
// so the test runs many.
func TestExecRepeated(t *testing.T) {
	c, _ := runningCtr(t, nil)
	for i := range 200 {
		if out, stderr, code := c.exec(nil, "true"); code != 0 {
			t.Fatalf("exec %d: exit %d\nstdout: %s\nstderr: %s", i, code, out, stderr)
		}
	}
}

// TestExecForwardsOtherSignals: a foreground exec subscribes to the common
// signals (TERM, INT, HUP, ...) beside starting the process, and to every
// other one once the process runs; those are forwarded too. Until that
// background subscription ends the Go runtime ignores such a signal, so the
// test sends it again every 100 ms until the process has ended.
func TestExecForwardsOtherSignals(t *testing.T) {
	c, _ := runningCtr(t, nil)
	sigRTMin3 := syscall.Signal(37) // SIGRTMIN+3 for glibc and busybox, systemd's "halt"
	for _, tc := range []struct {
		sig  syscall.Signal
		trap string
		want int
	}{
		{sigRTMin3, "37", 44},
		{syscall.SIGXCPU, "XCPU", 45},
	} {
		t.Run(tc.sig.String(), func(t *testing.T) {
			script := fmt.Sprintf(`trap "exit %d" %s; echo ready; while :; do sleep 0.1; done`, tc.want, tc.trap)
			b := tupperBackground(t, c.opts(), "exec", c.id, "sh", "-c", script)
			b.waitOutput(t, "ready")
			deadline := time.After(cmdTimeout)
		resend:
			for {
				_ = b.cmd.Process.Signal(tc.sig)
				select {
				case <-b.done:
					break resend
				case <-deadline:
					break resend // b.wait reports it
				case <-time.After(100 * time.Millisecond):
				}
			}
			if code := b.wait(t); code != tc.want {
				t.Errorf("exit %d after signal %d, want the trap's %d; stderr %q", code, tc.sig, tc.want, readFile(t, b.errPath))
			}
		})
	}
}
