package tests

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestCgroupsStagedTasksFail: on a v1 or hybrid host the v1 directories of
// a container with plain new namespaces are made by a goroutine while the
// init starts (cgroups.Staged). When that goroutine fails, after the init
// was cloned into the cgroup2 directory, create fails with the reason and
// leaves nothing: no init, no cgroup, no state. The cgroup's last level is
// named after a control file of the v1 cpu hierarchy, cpu.shares, which
// the cgroup2 hierarchy lacks: only the v1 part can fail.
func TestCgroupsStagedTasksFail(t *testing.T) {
	if pureV2() {
		t.Skip("a cgroup v1 test; the host is pure cgroup v2")
	}
	if !hasController("cpu") {
		t.Skip("the host has no cpu hierarchy")
	}
	c := newCtr(t, "true")
	c.root = t.TempDir()
	c.spec.Linux.CgroupsPath = cgroupParent + "/" + c.key + "/cpu.shares"
	stderr, code := c.create()
	if code != 1 || !strings.Contains(stderr, "cpu.shares") {
		t.Errorf("create: exit %d, stderr %q; want 1 and the cgroup that could not be made", code, stderr)
	}
	assertCreateLeftNothing(t, c, true)
}

// TestCgroupsStagedFailBeforeClone: create fails after the goroutine that
// makes the v1 part of a staged cgroup has started and before the init is
// cloned (here: a console socket nobody listens on). Nothing is left: the
// undo waits for the goroutine before it removes the cgroup, which the
// goroutine would otherwise make again behind it.
func TestCgroupsStagedFailBeforeClone(t *testing.T) {
	c := newCtr(t, "true")
	c.root = t.TempDir()
	c.spec.Process.Terminal = true
	socket := filepath.Join(t.TempDir(), "no-listener.sock")
	stderr, code := c.create("--console-socket", socket)
	if code != 1 || !strings.Contains(stderr, "connect to console socket") {
		t.Errorf("create: exit %d, stderr %q; want 1 and the console socket's error", code, stderr)
	}
	assertCreateLeftNothing(t, c, false)
}

// TestCgroupsStagedNamespaces: every set of plain new namespaces (the
// staged start: the clone makes only the pid namespace, the constructor
// the others) gives the init exactly the namespaces the config lists, and
// every thread of it the container's cgroup on every hierarchy. With a
// cgroup namespace, a process exec'd into the container sees its cgroup
// as "/" on every hierarchy: the namespace's root is the container's
// cgroup, which the constructor joined before the init unshared it.
func TestCgroupsStagedNamespaces(t *testing.T) {
	all := []specs.LinuxNamespaceType{
		specs.PIDNamespace, specs.NetworkNamespace, specs.IPCNamespace,
		specs.UTSNamespace, specs.MountNamespace, specs.CgroupNamespace,
	}
	for _, tc := range []struct {
		name string
		ns   []specs.LinuxNamespaceType
	}{
		{"all", all},
		{"no pid", []specs.LinuxNamespaceType{specs.NetworkNamespace, specs.MountNamespace, specs.CgroupNamespace, specs.UTSNamespace}},
		{"no cgroup", []specs.LinuxNamespaceType{specs.PIDNamespace, specs.MountNamespace, specs.IPCNamespace}},
		{"mount only", []specs.LinuxNamespaceType{specs.MountNamespace}},
		{"none", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCtr(t, "sleep", "1000")
			c.spec.Linux.Namespaces = nil
			for _, typ := range tc.ns {
				c.setNamespace(typ, "")
			}
			mnt := slices.Contains(tc.ns, specs.MountNamespace)
			if !mnt {
				// Both need a mount namespace; without one they would be the host's.
				c.spec.Linux.MaskedPaths, c.spec.Linux.ReadonlyPaths = nil, nil
			}
			if !slices.Contains(tc.ns, specs.UTSNamespace) {
				c.spec.Hostname = ""
			}
			c.mustCreate()
			pid := strconv.Itoa(c.state().Pid)
			for _, typ := range all {
				host, err := os.Readlink("/proc/self/ns/" + nsFile[typ])
				if err != nil {
					t.Fatal(err)
				}
				got, err := os.Readlink("/proc/" + pid + "/ns/" + nsFile[typ])
				if err != nil {
					t.Fatal(err)
				}
				if want := slices.Contains(tc.ns, typ); (got != host) != want {
					t.Errorf("init's %s namespace %s, the host's %s: want a new one %v", typ, got, host, want)
				}
			}
			checkThreadsCgroup(t, c.state().Pid, cgroupParent+"/"+c.key)
			if !mnt || !slices.Contains(tc.ns, specs.CgroupNamespace) {
				return
			}
			c.must("start", nil)
			checkCgroupLines(t, "inside the cgroup namespace, an exec'd process", c.must("exec", nil, "cat", "/proc/self/cgroup"), "/")
		})
	}
}
