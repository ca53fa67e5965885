// Package tests runs the tupper binary against real containers built from a
// busybox rootfs. It needs root; it builds the binary and the rootfs once.
//
// Every container gets a unique id, an absolute cgroup path /tupper-test/<id>
// and state under a temporary --root (never /run/tupper); cleanups delete it,
// kill what is left in its cgroups and remove them.
package tests

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/tupper-runtime/tupper/tests/internal/fixture"
)

// cgroupParent holds every cgroup the tests create.
const cgroupParent = "/tupper-test"

// Set once by TestMain, read-only afterwards.
var (
	tupperBin      string              // the binary under test
	rootfsDir      string              // shared busybox rootfs (absolute)
	stateRoot      string              // default --root for every tupper call
	devicesAtStart fixture.DeviceTable // host device nodes as they were at the start
)

func TestMain(m *testing.M) {
	if os.Geteuid() != 0 {
		fmt.Println("SKIP integration tests: they run real containers and need root")
		os.Exit(0)
	}
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	tmp, err := os.MkdirTemp("", "tupper-tests-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)
	// The rootfs below must be reachable from a user namespace's unprivileged ids.
	if err := os.Chmod(tmp, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := setup(tmp); err != nil {
		fmt.Fprintln(os.Stderr, "setup:", err)
		return 1
	}
	code := m.Run()
	// Parents only: the children were removed by each test's cleanup, and
	// rmdir refuses a cgroup that still has children.
	for _, d := range fixture.CgroupDirs(cgroupParent) {
		if err := os.Remove(d); err != nil {
			fmt.Fprintln(os.Stderr, "warning: cgroup left behind:", err)
		}
	}
	return code
}

func setup(tmp string) error {
	var err error
	if devicesAtStart, err = fixture.ReadDevices(); err != nil {
		return err
	}
	if tupperBin, err = fixture.Binary(tmp); err != nil {
		return err
	}
	rootfsDir = filepath.Join(tmp, "rootfs")
	if err := fixture.BuildRootfs(rootfsDir); err != nil {
		return fmt.Errorf("build rootfs: %w", err)
	}
	stateRoot = filepath.Join(tmp, "state")
	return os.MkdirAll(stateRoot, 0o700)
}
