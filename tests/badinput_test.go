package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// wantError fails the test unless the command exited 1, as runc does on any
// error, and stderr names the problem, that is, contains one of the words
// (case-insensitive).
func wantError(t *testing.T, what string, code int, stderr string, words ...string) {
	t.Helper()
	if code != 1 {
		t.Errorf("%s: exit %d, want 1 (an error); stderr %q", what, code, stderr)
		return
	}
	lower := strings.ToLower(stderr)
	for _, w := range words {
		if strings.Contains(lower, strings.ToLower(w)) {
			return
		}
	}
	t.Errorf("%s: stderr %q names none of %q", what, stderr, words)
}

// TestCreateRejects: each bad bundle or id fails create with a clear message
// and leaves nothing behind.
func TestCreateRejects(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(c *ctr) // changes c.spec, c.id or c.bundle
		words []string
		raw   bool // setup wrote the bundle, or made sure there is none
	}{
		{"missing bundle", func(c *ctr) { c.bundle = filepath.Join(c.bundle, "nonexistent") }, []string{"config.json", "nonexistent"}, true},
		{"missing rootfs", func(c *ctr) { c.spec.Root.Path = filepath.Join(c.bundle, "norootfs") }, []string{"root.path", "norootfs"}, false},
		{"rootfs not a dir", func(c *ctr) { c.spec.Root.Path = "/bin/busybox" }, []string{"root.path", "directory"}, false},
		{"malformed json", func(c *ctr) { writeConfig(c, `{"ociVersion": "1.3.0", "process": `) }, []string{"config.json"}, true},
		{"bad ociVersion", func(c *ctr) { c.spec.Version = "2.0.0" }, []string{"ociVersion"}, false},
		{"no args", func(c *ctr) { c.spec.Process.Args = nil }, []string{"process.args"}, false},
		{"relative mount destination", func(c *ctr) {
			c.spec.Mounts = append(c.spec.Mounts, specs.Mount{Destination: "relative/dir", Type: "tmpfs", Source: "tmpfs"})
		}, []string{"relative/dir"}, false},
		{"unknown namespace", func(c *ctr) {
			c.spec.Linux.Namespaces = append(c.spec.Linux.Namespaces, specs.LinuxNamespace{Type: "foo"})
		}, []string{`"foo"`}, false},
		{"duplicate namespace", func(c *ctr) {
			c.spec.Linux.Namespaces = append(c.spec.Linux.Namespaces, specs.LinuxNamespace{Type: specs.NetworkNamespace})
		}, []string{"duplicate", "namespaces[6]"}, false},
		{"uid mappings without user namespace", func(c *ctr) {
			c.spec.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 1000}}
		}, []string{"uidMappings", "user namespace"}, false},
		{"id with a slash", func(c *ctr) { c.id = "a/b" + c.id }, []string{"a/b"}, false},
		{"id dot dot", func(c *ctr) { c.id = ".." }, []string{`".."`, "invalid"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCtr(t, "true")
			c.root = t.TempDir()
			tc.setup(c)
			if !tc.raw {
				c.write()
			}
			_, stderr, code := tupperWith(t, c.opts(), "create", "--bundle", c.bundle, c.id)
			wantError(t, "create", code, stderr, tc.words...)
			assertCreateLeftNothing(t, c, false)
		})
	}
}

func writeConfig(c *ctr, content string) {
	if err := os.WriteFile(filepath.Join(c.bundle, "config.json"), []byte(content), 0o644); err != nil {
		c.t.Fatal(err)
	}
}

func TestDuplicateID(t *testing.T) {
	c := newCtr(t, "sleep", "1000")
	c.mustCreate()
	before := c.state()
	_, stderr, code := tupperWith(t, c.opts(), "create", "--bundle", c.bundle, c.id)
	wantError(t, "second create", code, stderr, "exists")
	if after := c.state(); after.Pid != before.Pid || after.Status != specs.StateCreated {
		t.Errorf("the first container changed: %+v, then %+v", before, after)
	}
}

func TestStartTwice(t *testing.T) {
	c := newCtr(t, "sleep", "1000")
	c.mustCreate()
	c.must("start", nil)
	c.waitStatus(specs.StateRunning)
	_, stderr, code := c.do("start", nil)
	wantError(t, "start of a running container", code, stderr, "running", "not created", "created")
	c.waitStatus(specs.StateRunning)
}

func TestDeleteRunning(t *testing.T) {
	c := newCtr(t, "sleep", "1000")
	c.mustCreate()
	c.must("start", nil)
	_, stderr, code := c.do("delete", nil)
	wantError(t, "delete of a running container", code, stderr, "running", "--force")
	c.waitStatus(specs.StateRunning)
	c.must("delete", []string{"--force"})
	assertNoLeak(t, c)
}

func TestDeleteCreatedForce(t *testing.T) {
	c := newCtr(t, "sleep", "1000")
	c.mustCreate()
	c.must("delete", []string{"-f"})
	assertNoLeak(t, c)
}

func TestKillUnknownSignal(t *testing.T) {
	c := newCtr(t, "sleep", "1000")
	c.mustCreate()
	c.must("start", nil)
	for _, sig := range []string{"SIGFOO", "FOO", "0x9", "99999"} {
		_, stderr, code := c.do("kill", nil, sig)
		wantError(t, "kill "+sig, code, stderr, sig)
	}
	c.waitStatus(specs.StateRunning)
}

func TestNonexistentID(t *testing.T) {
	for _, args := range [][]string{
		{"state"}, {"start"}, {"kill"}, {"kill", "--all"}, {"delete"},
	} {
		id := "tt-nonexistent-" + strings.Join(args, "")
		_, stderr, code := tupper(t, append(args, id)...)
		wantError(t, strings.Join(args, " ")+" of a nonexistent container", code, stderr, id, "does not exist", "not exist")
	}
}

// TestDeleteForceNonexistent: like runc, `delete --force` of a container that
// is already gone succeeds; containerd's shim runs `delete` and then
// `delete --force` after every exit.
func TestDeleteForceNonexistent(t *testing.T) {
	if _, stderr, code := tupper(t, "delete", "--force", "tt-nonexistent-force"); code != 0 {
		t.Errorf("delete --force of a nonexistent container: exit %d: %s", code, stderr)
	}
}

// TestInitErrors: a failure inside the container's init reaches the caller as
// an error naming the step and cause, and leaves nothing behind. dockerd maps
// a missing command to exit 127 only when the message says "executable file
// not found" or "no such file or directory".
func TestInitErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(c *ctr)
		words []string
	}{
		{"unknown filesystem", func(c *ctr) {
			c.spec.Mounts = append(c.spec.Mounts, specs.Mount{Destination: "/mnt/x", Type: "nosuchfs", Source: "none"})
		}, []string{"/mnt/x"}},
		{"missing executable", func(c *ctr) { c.spec.Process.Args = []string{"/no/such/binary"} },
			[]string{"no such file or directory", "executable file not found"}},
		{"command not in PATH", func(c *ctr) { c.spec.Process.Args = []string{"nosuchcommand"} },
			[]string{"executable file not found", "no such file or directory"}},
		{"cwd a file", func(c *ctr) { c.spec.Process.Cwd = "/bin/busybox" }, []string{"not a directory"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCtr(t, "true")
			c.root = t.TempDir()
			tc.setup(c)
			_, stderr, code := c.run()
			wantError(t, "run", code, stderr, tc.words...)
			if strings.Contains(stderr, "EOF") {
				t.Errorf("run: stderr %q reports EOF instead of the init's error", stderr)
			}
			assertNoLeak(t, c)
			if entries, _ := os.ReadDir(c.root); len(entries) > 0 {
				t.Errorf("run left %s in its --root", entries[0].Name())
			}
		})
	}
}
