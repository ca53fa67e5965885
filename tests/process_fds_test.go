package tests

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// runEnv runs `tupper run` for c with extra environment and fds 3, 4, ...,
// and returns its stdout, stderr and exit code.
func runEnv(t *testing.T, c *ctr, env []string, extra []*os.File, flags ...string) (string, string, int) {
	t.Helper()
	c.write()
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	args := append(append([]string{"--root", c.root, "run", "--bundle", c.bundle}, flags...), c.id)
	cmd := exec.CommandContext(ctx, tupperBin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.ExtraFiles = extra
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return out.String(), errb.String(), exitCode(t, err)
}

func tempFileWith(t *testing.T, content string) *os.File {
	t.Helper()
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// TestSocketActivation: fds that systemd hands tupper with LISTEN_FDS reach
// the process first (3, ...), then the --preserve-fds ones, and the process
// is told LISTEN_FDS and LISTEN_PID=1, as runc does.
func TestSocketActivation(t *testing.T) {
	c := newCtr(t, "sh", "-c", `cat <&3; cat <&4; echo "$LISTEN_FDS $LISTEN_PID"`)
	extra := []*os.File{tempFileWith(t, "listen\n"), tempFileWith(t, "preserved\n")}
	out, stderr, code := runEnv(t, c, []string{"LISTEN_FDS=1", "LISTEN_PID=1"}, extra, "--preserve-fds", "1")
	if code != 0 || out != "listen\npreserved\n1 1\n" {
		t.Errorf("exit %d, stdout %q, stderr %q; want the socket, the preserved fd, then \"1 1\"", code, out, stderr)
	}
}

// TestRunForegroundTerminal: with process.terminal and no --console-socket,
// run gives the process a pty of its own and copies it to tupper's stdout.
func TestRunForegroundTerminal(t *testing.T) {
	c := newCtr(t, "sh", "-c", "tty; echo from-the-pty; exit 3")
	c.spec.Process.Terminal = true
	out, stderr, code := runEnv(t, c, nil, nil)
	if code != 3 {
		t.Errorf("exit %d, want the process's 3; stderr %q", code, stderr)
	}
	// The pty turns \n into \r\n on its way out.
	out = strings.ReplaceAll(out, "\r", "")
	if !strings.Contains(out, "/dev/pts/") || !strings.Contains(out, "from-the-pty\n") {
		t.Errorf("stdout %q: want the pty's name and the process's output", out)
	}
	// create cannot relay: it must ask for a console socket.
	d := newCtr(t, "true")
	d.spec.Process.Terminal = true
	stderr, code = d.create()
	if code == 0 || !strings.Contains(stderr, "--console-socket") {
		t.Errorf("create with a terminal and no console socket: exit %d, stderr %q; want an error naming --console-socket", code, stderr)
	}
	assertNoLeak(t, d)
}

// TestKernelMemoryIgnored: the deprecated kernel memory limits are accepted
// with a warning, and the container runs.
func TestKernelMemoryIgnored(t *testing.T) {
	c := newCtr(t, "true")
	k := int64(64 << 20)
	c.spec.Linux.Resources.Memory = &specs.LinuxMemory{Kernel: &k, KernelTCP: &k} //nolint:staticcheck // the point of the test
	_, stderr, code := runEnv(t, c, nil, nil)
	if code != 0 || !strings.Contains(stderr, "memory.kernel is deprecated and ignored") || !strings.Contains(stderr, "kernelTCP is deprecated and ignored") {
		t.Errorf("exit %d, stderr %q; want 0 and a warning for each field", code, stderr)
	}
}
