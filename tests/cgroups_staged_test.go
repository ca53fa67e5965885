package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tupper-runtime/tupper/tests/internal/fixture"
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
	if dirs := fixture.CgroupDirs(c.spec.Linux.CgroupsPath); len(dirs) > 0 {
		t.Errorf("create left the container's cgroup: %s", dirs)
	}
	// The levels above it are the ones tupper made as missing parents,
	// which it leaves as it leaves every level above a container's cgroup.
	for _, d := range fixture.CgroupDirs(cgroupParent + "/" + c.key) {
		if err := os.Remove(d); err != nil {
			t.Errorf("remove %s: %v", d, err)
		}
	}
	assertNoLeak(t, c)
	if entries, _ := os.ReadDir(c.root); len(entries) > 0 {
		t.Errorf("create left %s in its --root", filepath.Join(c.root, entries[0].Name()))
	}
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
	assertNoLeak(t, c)
	if entries, _ := os.ReadDir(c.root); len(entries) > 0 {
		t.Errorf("create left %s in its --root", filepath.Join(c.root, entries[0].Name()))
	}
}
