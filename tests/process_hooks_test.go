package tests

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// recordHook appends one line per call to the log named by $2: the kind
// ($1), what the state on stdin says, the namespaces it ran in and an
// environment variable. It runs under the host's /bin/sh and, for
// startContainer, under the container's busybox sh.
const recordHook = `#!/bin/sh
state=$(cat)
field() { echo "$state" | sed -n "s/.*\"$1\":\"\{0,1\}\([^\",}]*\).*/\1/p"; }
ann=no
case "$state" in *'"org.tupper.hook":"yes"'*) ann=yes ;; esac
echo "$1 status=$(field status) pid=$(field pid) id=$(field id) bundle=$(field bundle) ann=$ann net=$(readlink /proc/self/ns/net) mnt=$(readlink /proc/self/ns/mnt) env=$HOOK_ENV" >> "$2"
`

// hookRecord is one line of a recordHook log.
type hookRecord struct {
	kind string
	f    map[string]string
}

func readHookLog(t *testing.T, path string) []hookRecord {
	t.Helper()
	var recs []hookRecord
	for _, line := range strings.Split(strings.TrimSpace(readFile(t, path)), "\n") {
		if line == "" {
			continue
		}
		words := strings.Fields(line)
		r := hookRecord{kind: words[0], f: map[string]string{}}
		for _, w := range words[1:] {
			k, v, _ := strings.Cut(w, "=")
			r.f[k] = v
		}
		recs = append(recs, r)
	}
	return recs
}

// hookDir is a host directory with the hook scripts, bind-mounted at /hooks
// in the container so that startContainer hooks find them there too.
type hookDir struct {
	host string
}

func newHookDir(t *testing.T, c *ctr) *hookDir {
	t.Helper()
	d := &hookDir{host: c.bind("/hooks")}
	d.script(t, "record", recordHook)
	d.script(t, "fail", "#!/bin/sh\ncat >/dev/null\necho \"hook $1 says no\" >&2\nexit 3\n")
	d.script(t, "hang", "#!/bin/sh\nexec sleep 30\n")
	if err := os.Chmod(d.host, 0o755); err != nil {
		t.Fatal(err)
	}
	return d
}

func (d *hookDir) script(t *testing.T, name, text string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(d.host, name), []byte(text), 0o755); err != nil {
		t.Fatal(err)
	}
}

// hook returns a hook running script name with args kind and log. inside
// says the path must resolve in the container (startContainer).
func (d *hookDir) hook(name, kind string, inside bool) specs.Hook {
	dir := d.host
	if inside {
		dir = "/hooks"
	}
	return specs.Hook{
		Path: filepath.Join(dir, name),
		Args: []string{name, kind, filepath.Join(dir, "log")},
		Env:  []string{"HOOK_ENV=env-" + kind},
	}
}

// TestProcessHooks: each of the six kinds runs once, in the order and the
// namespace runtime-spec gives, with its args, env and the state on stdin.
func TestProcessHooks(t *testing.T) {
	c := newCtr(t, "true")
	c.spec.Annotations = map[string]string{"org.tupper.hook": "yes"}
	d := newHookDir(t, c)
	c.spec.Hooks = &specs.Hooks{
		Prestart:        []specs.Hook{d.hook("record", "prestart", false)},
		CreateRuntime:   []specs.Hook{d.hook("record", "createRuntime", false)},
		CreateContainer: []specs.Hook{d.hook("record", "createContainer", false)},
		StartContainer:  []specs.Hook{d.hook("record", "startContainer", true)},
		Poststart:       []specs.Hook{d.hook("record", "poststart", false)},
		Poststop:        []specs.Hook{d.hook("record", "poststop", false)},
	}
	c.mustCreate()
	pid := c.state().Pid
	c.must("start", nil)
	c.waitStatus(specs.StateStopped)
	c.must("delete", nil)

	hostNet, _ := os.Readlink("/proc/self/ns/net")
	hostMnt, _ := os.Readlink("/proc/self/ns/mnt")
	recs := readHookLog(t, filepath.Join(d.host, "log"))
	var order []string
	for _, r := range recs {
		order = append(order, r.kind)
	}
	want := []string{"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"}
	if strings.Join(order, " ") != strings.Join(want, " ") {
		t.Fatalf("hooks ran in the order %q, want %q", order, want)
	}
	for _, tc := range []struct {
		kind   string
		status string
		pid    string // "" when runtime-spec leaves it optional
		inside bool   // runs in the container's namespaces
	}{
		{"prestart", "creating", strconv.Itoa(pid), false},
		{"createRuntime", "creating", strconv.Itoa(pid), false},
		{"createContainer", "creating", "", true},
		// "pid ... REQUIRED when status is created or running ... For hooks
		// executed in the container namespace, it is the pid as seen by the
		// container." -runtime.md
		{"startContainer", "created", "1", true},
		{"poststart", "running", strconv.Itoa(pid), false},
		{"poststop", "stopped", "", false},
	} {
		var r hookRecord
		for _, rec := range recs {
			if rec.kind == tc.kind {
				r = rec
			}
		}
		f := r.f
		if f["status"] != tc.status {
			t.Errorf("%s: state status %q, want %q", tc.kind, f["status"], tc.status)
		}
		if tc.pid != "" && f["pid"] != tc.pid {
			t.Errorf("%s: state pid %q, want %s", tc.kind, f["pid"], tc.pid)
		}
		if f["id"] != c.id || f["ann"] != "yes" {
			t.Errorf("%s: state id %q annotations %s, want %s with the annotation", tc.kind, f["id"], f["ann"], c.id)
		}
		if f["bundle"] != c.bundle {
			t.Errorf("%s: state bundle %q, want %q", tc.kind, f["bundle"], c.bundle)
		}
		if f["env"] != "env-"+tc.kind {
			t.Errorf("%s: HOOK_ENV %q, want env-%s", tc.kind, f["env"], tc.kind)
		}
		if inNet, inMnt := f["net"] != hostNet, f["mnt"] != hostMnt; inNet != tc.inside || inMnt != tc.inside {
			t.Errorf("%s: ran in net %s, mnt %s (the host's: %s, %s); want the container's: %v", tc.kind, f["net"], f["mnt"], hostNet, hostMnt, tc.inside)
		}
	}
}

// TestProcessHookFailsCreate: a prestart, createRuntime or createContainer
// hook that fails or times out makes create fail, names the hook, and
// leaves nothing behind (runtime.md lifecycle steps 3-5).
func TestProcessHookFailsCreate(t *testing.T) {
	for _, kind := range []string{"prestart", "createRuntime", "createContainer"} {
		for _, script := range []string{"fail", "hang"} {
			t.Run(kind+"/"+script, func(t *testing.T) {
				c := newCtr(t, "true")
				c.root = t.TempDir()
				d := newHookDir(t, c)
				h := d.hook(script, kind, false)
				after := d.hook("record", kind, false)
				if script == "hang" {
					h.Timeout = intPtr(1)
				}
				hooks := []specs.Hook{h, after}
				c.spec.Hooks = &specs.Hooks{}
				switch kind {
				case "prestart":
					c.spec.Hooks.Prestart = hooks //nolint:staticcheck // deprecated, still honoured
				case "createRuntime":
					c.spec.Hooks.CreateRuntime = hooks
				case "createContainer":
					c.spec.Hooks.CreateContainer = hooks
				}
				t0 := time.Now()
				stderr, code := c.create()
				words := []string{kind, "hook " + kind + " says no"}
				if script == "hang" {
					words = []string{"timed out"}
					if took := time.Since(t0); took > 15*time.Second {
						t.Errorf("create took %v with a hook timeout of 1s", took)
					}
				}
				for _, w := range words {
					if !strings.Contains(stderr, w) {
						t.Errorf("create: stderr %q lacks %q", stderr, w)
					}
				}
				wantError(t, "create", code, stderr, kind)
				if code == 0 {
					return
				}
				assertCreateLeftNothing(t, c, false)
				if recs := readHookLog(t, filepath.Join(d.host, "log")); len(recs) > 0 {
					t.Errorf("the hook after the failing one ran: %v", recs)
				}
			})
		}
	}
}

// TestProcessHookFailsStart: a failing startContainer hook makes start fail
// and the container stopped, before the process runs (lifecycle step 7).
func TestProcessHookFailsStart(t *testing.T) {
	c := newCtr(t, "sh", "-c", "echo ran > /hooks/process-ran")
	d := newHookDir(t, c)
	c.spec.Hooks = &specs.Hooks{StartContainer: []specs.Hook{d.hook("fail", "startContainer", true)}}
	c.mustCreate()
	_, stderr, code := c.do("start", nil)
	wantError(t, "start", code, stderr, "hook startContainer says no")
	c.waitStatus(specs.StateStopped)
	if _, err := os.Stat(filepath.Join(d.host, "process-ran")); err == nil {
		t.Error("the process ran after its startContainer hook failed")
	}
	c.must("delete", nil)
	assertNoLeak(t, c)
}

// TestProcessHookFailsPoststart: runtime-spec 1.3.0, lifecycle step 9: "If
// any poststart hook fails, the runtime MUST generate an error, stop the
// container, and continue the lifecycle at step 12." runc does the same
// (earlier spec versions only asked for a warning).
func TestProcessHookFailsPoststart(t *testing.T) {
	c := newCtr(t, "sleep", "1000")
	d := newHookDir(t, c)
	c.spec.Hooks = &specs.Hooks{Poststart: []specs.Hook{d.hook("fail", "poststart", false)}}
	c.mustCreate()
	_, stderr, code := c.do("start", nil)
	wantError(t, "start", code, stderr, "hook poststart says no")
	c.waitStatus(specs.StateStopped)
}

// TestProcessHookFailsPoststop: "If any poststop hook fails, the runtime
// MUST log a warning, but the remaining hooks and lifecycle continue as if
// the hook had succeeded." -runtime.md
func TestProcessHookFailsPoststop(t *testing.T) {
	for _, script := range []string{"fail", "hang"} {
		t.Run(script, func(t *testing.T) {
			c := newCtr(t, "true")
			d := newHookDir(t, c)
			h := d.hook(script, "poststop", false)
			if script == "hang" {
				h.Timeout = intPtr(1)
			}
			c.spec.Hooks = &specs.Hooks{Poststop: []specs.Hook{h, d.hook("record", "poststop", false)}}
			c.mustCreate()
			c.must("start", nil)
			c.waitStatus(specs.StateStopped)
			_, stderr, code := c.do("delete", nil)
			if code != 0 {
				t.Fatalf("delete: exit %d, want 0 despite the failing poststop hook: %s", code, stderr)
			}
			if !strings.Contains(stderr, "poststop") {
				t.Errorf("delete: stderr %q has no warning about the poststop hook", stderr)
			}
			if recs := readHookLog(t, filepath.Join(d.host, "log")); len(recs) != 1 {
				t.Errorf("the poststop hook after the failing one ran %d times, want once", len(recs))
			}
			assertNoLeak(t, c)
		})
	}
}
