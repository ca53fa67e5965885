package tests

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// cmdTimeout guards against a hung command; it is not a performance bound.
const cmdTimeout = 60 * time.Second

// opts changes how one tupper command runs.
type opts struct {
	root   string     // --root; stateRoot when empty
	stdout string     // file that receives stdout (and a container's stdout); a temp file when empty
	extra  []*os.File // passed as fds 3, 4, ...
}

// tupper runs the binary with --root stateRoot and returns its output and exit code.
func tupper(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return tupperWith(t, opts{}, args...)
}

func tupperWith(t *testing.T, o opts, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd, outPath, errPath := tupperCmd(t, o, args...)
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	if err := cmd.Start(); err != nil {
		t.Fatalf("start tupper: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		cmd.Process.Kill()
		err = <-done
		t.Errorf("tupper %s: still running after %v, killed", strings.Join(args, " "), cmdTimeout)
	}
	code = exitCode(t, err)
	stdout, stderr = readFile(t, outPath), readFile(t, errPath)
	if testing.Verbose() {
		t.Logf("tupper %s => %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, stdout, stderr)
	}
	return stdout, stderr, code
}

// tupperCmd prepares a command whose output goes to files, never pipes: a
// container started by create or run -d inherits them, and a pipe would keep
// Wait blocked until the container exits.
func tupperCmd(t *testing.T, o opts, args ...string) (cmd *exec.Cmd, outPath, errPath string) {
	t.Helper()
	root := o.root
	if root == "" {
		root = stateRoot
	}
	dir := t.TempDir()
	outPath, errPath = o.stdout, filepath.Join(dir, "stderr")
	if outPath == "" {
		outPath = filepath.Join(dir, "stdout")
	}
	cmd = exec.Command(tupperBin, append([]string{"--root", root}, args...)...)
	cmd.Stdout = createFile(t, outPath)
	cmd.Stderr = createFile(t, errPath)
	cmd.ExtraFiles = o.extra
	return cmd, outPath, errPath
}

func createFile(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func exitCode(t *testing.T, err error) int {
	t.Helper()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode() // -1 when killed by a signal
	default:
		t.Fatalf("wait for tupper: %v", err)
		return -1
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	return string(b)
}

// background is a tupper command left running, such as a foreground `run`.
type background struct {
	cmd     *exec.Cmd
	outPath string
	errPath string
	done    chan struct{}
	err     error
}

func tupperBackground(t *testing.T, o opts, args ...string) *background {
	t.Helper()
	cmd, outPath, errPath := tupperCmd(t, o, args...)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start tupper: %v", err)
	}
	b := &background{cmd: cmd, outPath: outPath, errPath: errPath, done: make(chan struct{})}
	go func() { b.err = cmd.Wait(); close(b.done) }()
	t.Cleanup(func() {
		select {
		case <-b.done:
		default:
			cmd.Process.Kill()
			<-b.done
		}
	})
	return b
}

// wait returns the exit code, or fails the test if the command hangs.
func (b *background) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-b.done:
	case <-time.After(cmdTimeout):
		b.cmd.Process.Kill()
		<-b.done
		t.Errorf("tupper %v: still running after %v, killed", b.cmd.Args, cmdTimeout)
	}
	return exitCode(t, b.err)
}

// waitOutput waits until the command's stdout contains s.
func (b *background) waitOutput(t *testing.T, s string) {
	t.Helper()
	ok := eventually(func() bool {
		return strings.Contains(readFile(t, b.outPath), s)
	})
	if !ok {
		t.Fatalf("stdout never contained %q; stdout: %q stderr: %q", s, readFile(t, b.outPath), readFile(t, b.errPath))
	}
}

// eventually polls cond until it holds or a generous deadline passes.
func eventually(cond func() bool) bool {
	deadline := time.Now().Add(20 * time.Second)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}
