package tests

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/tupper-runtime/tupper/tests/internal/fixture"
)

// ctr is one test container: a unique id, its own bundle and a default spec
// that the test may change before create or run.
type ctr struct {
	t      *testing.T
	id     string // as passed to tupper; a test may make it invalid
	key    string // the unique id it started as: names its cgroup, finds its processes
	bundle string
	root   string // --root; stateRoot when empty
	spec   *specs.Spec
	out    string // stdout file of create (the container's stdout)
}

var nonID = regexp.MustCompile(`[^A-Za-z0-9]+`)

// newCtr returns a container running args, and registers its cleanup.
func newCtr(t *testing.T, args ...string) *ctr {
	t.Helper()
	name := nonID.ReplaceAllString(t.Name(), "")
	if len(name) > 24 {
		name = name[len(name)-24:]
	}
	rnd := make([]byte, 4)
	rand.Read(rnd)
	id := "tt-" + strings.ToLower(name) + "-" + hex.EncodeToString(rnd)
	bundle := t.TempDir()
	c := &ctr{
		t: t, id: id, key: id, bundle: bundle, root: stateRoot,
		spec: fixture.Spec(rootfsDir, cgroupParent+"/"+id, args...),
		out:  filepath.Join(bundle, "stdout"),
	}
	t.Cleanup(c.cleanup)
	return c
}

func (c *ctr) opts() opts { return opts{root: c.root} }

func (c *ctr) write() {
	c.t.Helper()
	if err := fixture.WriteBundle(c.bundle, c.spec); err != nil {
		c.t.Fatal(err)
	}
}

// run writes the bundle and runs the container in the foreground.
func (c *ctr) run(flags ...string) (stdout, stderr string, code int) {
	c.t.Helper()
	c.write()
	args := append(append([]string{"run", "--bundle", c.bundle}, flags...), c.id)
	return tupperWith(c.t, c.opts(), args...)
}

// mustRun runs the container and fails the test unless it exits 0.
func (c *ctr) mustRun(flags ...string) string {
	c.t.Helper()
	out, errOut, code := c.run(flags...)
	if code != 0 {
		c.t.Fatalf("run %s: exit %d\nstdout: %s\nstderr: %s", c.id, code, out, errOut)
	}
	return out
}

// create writes the bundle and creates the container; its stdout goes to c.out.
func (c *ctr) create(flags ...string) (stderr string, code int) {
	c.t.Helper()
	c.write()
	o := c.opts()
	o.stdout = c.out
	args := append(append([]string{"create", "--bundle", c.bundle}, flags...), c.id)
	_, stderr, code = tupperWith(c.t, o, args...)
	return stderr, code
}

func (c *ctr) mustCreate(flags ...string) {
	c.t.Helper()
	if stderr, code := c.create(flags...); code != 0 {
		c.t.Fatalf("create %s: exit %d: %s", c.id, code, stderr)
	}
}

// do runs a tupper command on this container: do("kill", "--all") runs
// `tupper --root R kill --all <id>`; extra trailing arguments follow the id.
func (c *ctr) do(cmd string, flags []string, after ...string) (stdout, stderr string, code int) {
	c.t.Helper()
	args := append(append(append([]string{cmd}, flags...), c.id), after...)
	return tupperWith(c.t, c.opts(), args...)
}

func (c *ctr) must(cmd string, flags []string, after ...string) string {
	c.t.Helper()
	out, errOut, code := c.do(cmd, flags, after...)
	if code != 0 {
		c.t.Fatalf("%s %s: exit %d: %s", cmd, c.id, code, errOut)
	}
	return out
}

// state is runtime-spec's state plus runc's created and rootfs.
type state struct {
	specs.State
	Rootfs  string `json:"rootfs"`
	Created string `json:"created"`
}

func (c *ctr) state() state {
	c.t.Helper()
	out := c.must("state", nil)
	var s state
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		c.t.Fatalf("state %s: not JSON: %v: %q", c.id, err, out)
	}
	return s
}

// waitStatus polls state until it reports want.
func (c *ctr) waitStatus(want specs.ContainerState) {
	c.t.Helper()
	var got specs.ContainerState
	if !eventually(func() bool { got = c.state().Status; return got == want }) {
		c.t.Fatalf("container %s: status %q, want %q", c.id, got, want)
	}
}

// addNamespace adds or replaces a namespace of type typ.
func (c *ctr) setNamespace(typ specs.LinuxNamespaceType, path string) {
	ns := c.spec.Linux.Namespaces
	for i := range ns {
		if ns[i].Type == typ {
			ns[i].Path = path
			return
		}
	}
	c.spec.Linux.Namespaces = append(ns, specs.LinuxNamespace{Type: typ, Path: path})
}

func (c *ctr) dropNamespace(typ specs.LinuxNamespaceType) {
	var kept []specs.LinuxNamespace
	for _, ns := range c.spec.Linux.Namespaces {
		if ns.Type != typ {
			kept = append(kept, ns)
		}
	}
	c.spec.Linux.Namespaces = kept
}

// bind mounts a new host directory at dest inside the container and returns it.
func (c *ctr) bind(dest string, options ...string) string {
	c.t.Helper()
	dir := c.t.TempDir()
	c.spec.Mounts = append(c.spec.Mounts, specs.Mount{
		Destination: dest, Type: "bind", Source: dir, Options: append([]string{"rbind"}, options...),
	})
	return dir
}
