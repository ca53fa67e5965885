package tests

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The container process's terminal, stdio, exec errors and logs.

// TestProcessConsoleInteractive: a shell on the pty sent over
// --console-socket reads what the test types, with consoleSize applied.
func TestProcessConsoleInteractive(t *testing.T) {
	c := newCtr(t, "sh")
	c.spec.Process.Terminal = true
	c.spec.Process.ConsoleSize = &specs.Box{Height: 40, Width: 100}
	c.spec.Process.Env = append(c.spec.Process.Env, "PS1=$ ")
	sock, waitMaster := ptyListener(t)

	c.mustCreate("--console-socket", sock)
	master := waitMaster()
	c.must("start", nil)
	// The tty echoes the typed line; only the shell prints the sum.
	if _, err := io.WriteString(master, "stty size; echo hi-$((20+22)); exit\n"); err != nil {
		t.Fatal(err)
	}
	text := readMaster(t, master) // until the shell exits
	for _, want := range []string{"40 100\r\n", "hi-42\r\n"} {
		if !strings.Contains(text, want) {
			t.Errorf("pty output %q lacks %q", text, want)
		}
	}
	c.waitStatus(specs.StateStopped)
}

// TestProcessStdinPipe: without a terminal, the stdin given to create is
// the process's stdin after start.
func TestProcessStdinPipe(t *testing.T) {
	c := newCtr(t, "sh", "-c", "read first; echo got: $first; cat")
	c.write()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	cmd, _, errPath := tupperCmd(t, opts{root: c.root, stdout: c.out}, "create", "--bundle", c.bundle, c.id)
	cmd.Stdin = r
	if err := cmd.Run(); err != nil {
		t.Fatalf("create: %v: %s", err, readFile(t, errPath))
	}
	r.Close()
	c.must("start", nil)
	if _, err := io.WriteString(w, "line one\nline two\n"); err != nil {
		t.Fatal(err)
	}
	w.Close()
	c.waitStatus(specs.StateStopped)
	if out, want := readFile(t, c.out), "got: line one\nline two\n"; out != want {
		t.Errorf("stdout %q, want %q", out, want)
	}
}

// TestProcessExecErrors: a command that cannot run fails create, as runc's
// does, with the words runc uses; podman and dockerd turn a create error
// saying "executable file not found" or "no such file or directory" into exit
// code 127, "permission denied" into 126 (an error from start is only 126 to
// podman). Nothing of the container is left.
func TestProcessExecErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"not in PATH", []string{"foo"}, `exec: "foo": executable file not found in $PATH`},
		{"missing path", []string{"/no/such/file"}, `exec: "/no/such/file": stat /no/such/file: no such file or directory`},
		{"not executable", []string{"/etc/passwd"}, `exec: "/etc/passwd": permission denied`},
		{"a directory", []string{"/etc"}, `exec: "/etc": permission denied`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCtr(t, tc.args...)
			stderr, code := c.create()
			wantError(t, "create", code, stderr, tc.want)
			assertNoLeak(t, c)

			c = newCtr(t, tc.args...)
			_, stderr, code = c.run()
			wantError(t, "run", code, stderr, tc.want)
			assertNoLeak(t, c)
		})
	}
}

// logLine is one line of --log-format json.
type logLine struct {
	Level string `json:"level"`
	Msg   string `json:"msg"`
	Time  string `json:"time"`
}

// readJSONLog parses every line of a json log, failing on any that is not
// {"level","msg","time"} with a lowercase level.
func readJSONLog(t *testing.T, path string) []logLine {
	t.Helper()
	var lines []logLine
	for _, s := range strings.Split(strings.TrimSpace(readFile(t, path)), "\n") {
		if s == "" {
			continue
		}
		var l logLine
		if err := json.Unmarshal([]byte(s), &l); err != nil {
			t.Errorf("log line is not JSON: %q", s)
			continue
		}
		if l.Level == "" || l.Level != strings.ToLower(l.Level) || l.Msg == "" || l.Time == "" {
			t.Errorf("log line %q: want a lowercase level, a msg and a time", s)
		}
		lines = append(lines, l)
	}
	return lines
}

// lastError is what containerd shows: the msg of the last line whose level
// is exactly "error".
func lastError(lines []logLine) string {
	msg := ""
	for _, l := range lines {
		if l.Level == "error" {
			msg = l.Msg
		}
	}
	return msg
}

// TestProcessLogJSON: an error from the init side reaches the caller's
// stderr and, as the last "error" line, the --log file.
func TestProcessLogJSON(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(c *ctr)
		cmd   string
		want  string
	}{
		{"create: mount", func(c *ctr) {
			c.spec.Mounts = append(c.spec.Mounts, specs.Mount{Destination: "/mnt/x", Type: "nosuchfs", Source: "none"})
		}, "create", "/mnt/x"},
		{"create: cwd", func(c *ctr) { c.spec.Process.Cwd = "/bin/busybox" }, "create", "process.cwd"},
		{"create: exec", func(c *ctr) { c.spec.Process.Args = []string{"foo"} }, "create", `exec: "foo": executable file not found in $PATH`},
		{"start: hook", func(c *ctr) {
			c.spec.Hooks = &specs.Hooks{StartContainer: []specs.Hook{{Path: "/bin/false"}}}
		}, "start", "startContainer hook[0] /bin/false"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCtr(t, "true")
			tc.setup(c)
			log := filepath.Join(t.TempDir(), "log.json")
			flags := []string{"--log", log, "--log-format", "json"}
			c.write()
			o := c.opts()
			o.stdout = c.out
			_, stderr, code := tupperWith(t, o, append(flags, "create", "--bundle", c.bundle, c.id)...)
			if tc.cmd == "start" {
				if code != 0 {
					t.Fatalf("create: exit %d: %s", code, stderr)
				}
				_, stderr, code = tupperWith(t, c.opts(), append(flags, "start", c.id)...)
			}
			wantError(t, tc.cmd, code, stderr, tc.want)
			if msg := lastError(readJSONLog(t, log)); !strings.Contains(msg, tc.want) {
				t.Errorf("last error line of the log: %q, want it to contain %q", msg, tc.want)
			}
		})
	}
}

// TestProcessDebugLog: --debug logs the steps of create with their
// durations, as debug lines.
func TestProcessDebugLog(t *testing.T) {
	c := newCtr(t, "true")
	log := filepath.Join(t.TempDir(), "log.json")
	c.write()
	_, stderr, code := tupperWith(t, c.opts(), "--debug", "--log", log, "--log-format", "json", "run", "--bundle", c.bundle, c.id)
	if code != 0 {
		t.Fatalf("run: exit %d: %s", code, stderr)
	}
	debug := 0
	for _, l := range readJSONLog(t, log) {
		if l.Level == "debug" {
			debug++
		}
	}
	if raw := readFile(t, log); debug < 2 || !strings.Contains(raw, `"took"`) {
		t.Errorf("--debug log has %d debug lines, want the steps of create with \"took\":\n%s", debug, raw)
	}
}
