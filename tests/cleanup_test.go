package tests

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/tupper-runtime/tupper/tests/internal/fixture"
)

// cleanup force-deletes the container, kills whatever is left in its cgroups,
// removes them, and checks that the host's device nodes are untouched.
func (c *ctr) cleanup() {
	t := c.t
	tupperWith(t, c.opts(), "delete", "--force", c.id)
	if err := fixture.RemoveCgroups(cgroupParent, cgroupParent+"/"+c.key); err != nil {
		t.Errorf("cleanup: %v", err)
	}
	for _, pid := range fixture.ProcsMatching(c.key) {
		t.Errorf("cleanup: process %d still running: %s", pid, fixture.Cmdline(pid))
		syscall.Kill(pid, syscall.SIGKILL)
	}
	checkDevices(t)
}

// assertNoLeak checks that nothing of container c is left on the host: no
// state dir, no mount mentioning its bundle or state dir, no cgroup dir, no
// process mentioning its id.
func assertNoLeak(t *testing.T, c *ctr) {
	t.Helper()
	stateDir := filepath.Join(c.root, c.key)
	if _, err := os.Lstat(stateDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("leak: state dir %s exists (err %v)", stateDir, err)
	}
	mountinfo, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(mountinfo), "\n") {
		if strings.Contains(line, c.bundle) || strings.Contains(line, stateDir) {
			t.Errorf("leak: mount %s", line)
		}
	}
	// The kernel frees a cgroup and reaps a process a moment after the runtime
	// is done with them; give it that moment before calling it a leak.
	var dirs []string
	var pids []int
	eventually(func() bool {
		dirs, pids = fixture.CgroupDirs(cgroupParent+"/"+c.key), fixture.ProcsMatching(c.key)
		return len(dirs) == 0 && len(pids) == 0
	})
	for _, d := range dirs {
		t.Errorf("leak: cgroup %s", d)
	}
	for _, pid := range pids {
		t.Errorf("leak: process %d: %s", pid, fixture.Cmdline(pid))
	}
}

// checkDevices fails the test if a host device node changed owner, mode or
// number, or stopped being a world-writable character device.
func checkDevices(t *testing.T) {
	t.Helper()
	for _, c := range fixture.DeviceChanges(devicesAtStart) {
		t.Error(c)
	}
}

// assertCreateLeftNothing checks a failed create of c, which was given a
// --root of its own: nothing of assertNoLeak's, and no entry in that root.
// With nested, c's cgroupsPath lies below cgroupParent/c.key: the
// container's own cgroup must be gone; the levels above it, made by the
// test or by tupper as missing parents (which it leaves, as it leaves
// every level above a container's cgroup), are removed before the check.
func assertCreateLeftNothing(t *testing.T, c *ctr, nested bool) {
	t.Helper()
	if nested {
		if dirs := fixture.CgroupDirs(c.spec.Linux.CgroupsPath); len(dirs) > 0 {
			t.Errorf("create left the container's cgroup: %s", dirs)
		}
		for _, d := range fixture.CgroupDirs(cgroupParent + "/" + c.key) {
			if err := os.Remove(d); err != nil {
				t.Errorf("remove %s: %v", d, err)
			}
		}
	}
	assertNoLeak(t, c)
	if entries, _ := os.ReadDir(c.root); len(entries) > 0 {
		t.Errorf("create left %s in its --root", filepath.Join(c.root, entries[0].Name()))
	}
}
