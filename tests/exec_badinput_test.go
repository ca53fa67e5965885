package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// execFailure is one way exec must fail before any process runs.
type execFailure struct {
	name  string
	setup func(t *testing.T, c *ctr) // from a running `sleep 1000` container
	flags func(t *testing.T) []string
	args  []string
	words []string // stderr must contain one (case-insensitive)
}

func execFailures() []execFailure {
	stop := func(t *testing.T, c *ctr) {
		c.must("kill", nil, "9")
		c.waitStatus(specs.StateStopped)
	}
	processFile := func(content string) func(t *testing.T) []string {
		return func(t *testing.T) []string {
			p := filepath.Join(t.TempDir(), "process.json")
			if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			return []string{"--process", p}
		}
	}
	return []execFailure{
		{name: "missing container", setup: func(_ *testing.T, c *ctr) { c.id = "tt-no-such-container" },
			args: []string{"true"}, words: []string{"does not exist", "not found"}},
		{name: "stopped container", setup: stop, args: []string{"true"}, words: []string{"stopped", "not running"}},
		{name: "paused container", setup: func(_ *testing.T, c *ctr) { c.must("pause", nil) },
			args: []string{"true"}, words: []string{"paused"}},
		{name: "malformed process.json", flags: processFile(`{"args": [`), words: []string{"process"}},
		{name: "process.json without args", flags: processFile(`{"cwd": "/"}`), words: []string{"args"}},
		{name: "missing process.json", flags: func(*testing.T) []string { return []string{"--process", "/nonexistent/process.json"} },
			words: []string{"no such file"}},
		{name: "no command", words: []string{"command", "args"}},
		{name: "user by name", flags: func(*testing.T) []string { return []string{"-u", "nobody"} }, args: []string{"true"},
			words: []string{"uid must be a number", "parsing nobody as int"}},
		{name: "group by name", flags: func(*testing.T) []string { return []string{"-u", "1000:users"} }, args: []string{"true"},
			words: []string{"gid must be a number", "parsing users as int"}},
		{name: "bad additional gid", flags: func(*testing.T) []string { return []string{"-g", "wheel"} }, args: []string{"true"},
			words: []string{"wheel"}},
		{name: "unknown capability", flags: func(*testing.T) []string { return []string{"--cap", "CAP_NO_SUCH"} }, args: []string{"true"},
			words: []string{"CAP_NO_SUCH"}},
		{name: "missing command", args: []string{"nosuch"}, words: []string{`exec: "nosuch": executable file not found in $PATH`}},
		{name: "missing cwd", setup: func(_ *testing.T, c *ctr) { c.mustExec(nil, "test", "!", "-e", "/no/such/dir") },
			flags: func(*testing.T) []string { return []string{"--cwd", "/no/such/dir"} }, args: []string{"true"},
			words: []string{"/no/such/dir"}},
	}
}

// TestExecBadInput: each failure is reported with a clear message, runs
// nothing, leaves the container as it was, and exits 255, as runc's does, so
// that a caller can tell it from the process's own exit code 1 (runc:
// `fatalWithCode(..., 255)` in exec.go).
func TestExecBadInput(t *testing.T) {
	for _, tc := range execFailures() {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := runningCtr(t, nil)
			if tc.setup != nil {
				tc.setup(t, c)
			}
			var flags []string
			if tc.flags != nil {
				flags = tc.flags(t)
			}
			_, stderr, code := c.exec(flags, tc.args...)
			if code == 0 {
				t.Fatalf("exec succeeded; stderr %q", stderr)
			}
			if code != 255 {
				t.Errorf("exit %d, want 255 as runc; stderr %q", code, stderr)
			}
			lower := strings.ToLower(stderr)
			named := false
			for _, w := range tc.words {
				named = named || strings.Contains(lower, strings.ToLower(w))
			}
			if !named {
				t.Errorf("stderr %q names none of %q", stderr, tc.words)
			}
			c.id = c.key
			if st := c.state().Status; tc.name != "stopped container" && tc.name != "paused container" && st != specs.StateRunning {
				t.Errorf("container %s after a failed exec, want running", st)
			}
		})
	}
}

// TestExecIgnorePaused: with --ignore-paused exec goes ahead in a paused
// container; the process is frozen with it and runs once it is resumed,
// as with runc. Nothing else may block meanwhile: resume, state and other
// commands must not wait for the frozen exec.
func TestExecIgnorePaused(t *testing.T) {
	c, _ := runningCtr(t, nil)
	c.must("pause", nil)
	b := tupperBackground(t, c.opts(), "exec", "--ignore-paused", c.id, "sh", "-c", "echo ran; exit 5")
	time.Sleep(300 * time.Millisecond)
	select {
	case <-b.done:
		t.Fatalf("exec in a paused container returned before resume: stdout %q stderr %q",
			readFile(t, b.outPath), readFile(t, b.errPath))
	default:
	}
	resume := tupperBackground(t, c.opts(), "resume", c.id)
	select {
	case <-resume.done:
	case <-time.After(10 * time.Second):
		// Killing the exec releases whatever it holds, so that cleanup can run.
		b.cmd.Process.Kill()
		t.Fatalf("resume blocked for 10s while `exec --ignore-paused` waited in the frozen cgroup")
	}
	if code := resume.wait(t); code != 0 {
		t.Fatalf("resume: exit %d: %s", code, readFile(t, resume.errPath))
	}
	if code := b.wait(t); code != 5 {
		t.Errorf("exec --ignore-paused: exit %d, want 5; stderr %q", code, readFile(t, b.errPath))
	}
	if out := readFile(t, b.outPath); out != "ran\n" {
		t.Errorf("exec --ignore-paused: stdout %q, want ran", out)
	}
}

// TestExecCreated: runc lets exec into a created container, before start;
// the container's own process still runs on start.
func TestExecCreated(t *testing.T) {
	c := newCtr(t, "sh", "-c", "echo started")
	c.mustCreate()
	if out := c.mustExec(nil, "echo", "exec-ok"); out != "exec-ok\n" {
		t.Errorf("exec in a created container: %q", out)
	}
	c.must("start", nil)
	c.waitStatus(specs.StateStopped)
	if out := readFile(t, c.out); !strings.Contains(out, "started") {
		t.Errorf("the container's process after an exec: stdout %q, want started", out)
	}
}

// TestExecTTYMissingCwd: a missing --cwd fails exec, as runc's does (chdir
// to cwd: no such file or directory), also when the process needs the Go
// init (a terminal): the directory must not appear in the container.
func TestExecTTYMissingCwd(t *testing.T) {
	// Its own rootfs: were the directory created, it must not reach others.
	c, _ := runningCtr(t, func(c *ctr) { c.spec.Root.Path = privateRootfs(t) })
	sock, got := consoleListener(t)
	_, stderr, code := c.exec([]string{"--tty", "--console-socket", sock, "--cwd", "/no/such/dir"}, "true")
	select {
	case f := <-got:
		if f != nil {
			f.Close()
		}
	case <-time.After(time.Second):
	}
	if code == 0 {
		t.Errorf("exec --tty --cwd of a missing directory succeeded")
	} else if !strings.Contains(stderr, "/no/such/dir") {
		t.Errorf("stderr %q does not name the directory", stderr)
	}
	if _, _, code := c.exec(nil, "test", "-e", "/no/such/dir"); code == 0 {
		t.Errorf("exec created the missing working directory in the container")
	}
}
