package tests

import (
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestExecJoinsSessionKeyring: an exec'd process joins the container's
// session keyring ("_ses.<id>"), as its init did, instead of keeping the
// caller's, whose keys the container must not reach; with create
// --no-new-keyring neither does. Both of exec's paths: the C fast path
// (a plain process) and the Go init (forced by process.ioPriority, which
// only it sets); --debug names the path taken. /proc/keys lists the keys
// the process may view: the container's keyring is root's, and a process
// of another uid sees it only through possession, so the exec'd process
// runs as uid 1000.
func TestExecJoinsSessionKeyring(t *testing.T) {
	for _, noNew := range []bool{false, true} {
		name := "new-keyring"
		var createFlags []string
		if noNew {
			name, createFlags = "no-new-keyring", []string{"--no-new-keyring"}
		}
		t.Run(name, func(t *testing.T) {
			c := newCtr(t, "sleep", "1000")
			c.spec.Linux.MaskedPaths = slices.DeleteFunc(c.spec.Linux.MaskedPaths, func(p string) bool { return p == "/proc/keys" })
			c.mustCreate(createFlags...)
			c.must("start", nil)
			keyring := "_ses." + c.id
			goPath := &specs.LinuxIOPriority{Class: specs.IOPRIO_CLASS_BE, Priority: 4}
			for _, p := range []struct{ name, debug string }{
				{"fast", "for the C fast path"},
				{"go", "for the Go init"},
			} {
				flags := []string{"--user", "1000:1000"}
				args := []string{"cat", "/proc/keys"}
				if p.name == "go" {
					proc := writeProcess(t, &specs.Process{Args: args, Env: c.spec.Process.Env, Cwd: "/", IOPriority: goPath, User: specs.User{UID: 1000, GID: 1000}})
					flags, args = []string{"--process", proc}, nil
				}
				out, stderr, code := tupperWith(t, c.opts(), append(append(append([]string{"--debug", "exec"}, flags...), c.id), args...)...)
				if code != 0 {
					t.Fatalf("exec (%s) cat /proc/keys: exit %d: %s", p.name, code, stderr)
				}
				if !strings.Contains(stderr, p.debug) {
					t.Errorf("exec (%s): --debug does not say %q; stderr %q", p.name, p.debug, stderr)
				}
				joined := strings.Contains(out, keyring+":")
				if joined == noNew {
					t.Errorf("exec (%s), create %v: /proc/keys shows %s: %v, want %v\n%s", p.name, createFlags, keyring, joined, !noNew, out)
				}
			}
		})
	}
}
