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
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tupper-runtime/tupper/tests/internal/fixture"
)

// cgroupParent holds every cgroup the tests create.
const cgroupParent = "/tupper-test"

// Set once by TestMain, read-only afterwards.
var (
	tupperBin      string      // the binary under test
	rootfsDir      string      // shared busybox rootfs (absolute)
	stateRoot      string      // default --root for every tupper call
	devicesAtStart deviceTable // host device nodes as they were at the start
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
	if devicesAtStart, err = readDevices(); err != nil {
		return err
	}
	tupperBin = os.Getenv("TUPPER_BINARY")
	if tupperBin == "" {
		tupperBin = filepath.Join(tmp, "tupper")
		if err := buildTupper(tupperBin); err != nil {
			return err
		}
	}
	if tupperBin, err = filepath.Abs(tupperBin); err != nil {
		return err
	}
	if _, err := os.Stat(tupperBin); err != nil {
		return fmt.Errorf("TUPPER_BINARY (relative to tests/): %w", err)
	}
	rootfsDir = filepath.Join(tmp, "rootfs")
	if err := fixture.BuildRootfs(rootfsDir); err != nil {
		return fmt.Errorf("build rootfs: %w", err)
	}
	stateRoot = filepath.Join(tmp, "state")
	return os.MkdirAll(stateRoot, 0o700)
}

// buildTupper builds the binary the way `make build` does.
func buildTupper(out string) error {
	commit, _ := exec.Command("git", "rev-parse", "--short", "HEAD").Output()
	ldflags := "-s -w -extldflags -static -X main.version=test -X main.commit=" + strings.TrimSpace(string(commit))
	cmd := exec.Command("go", "build", "-trimpath", "-tags", "netgo osusergo urfave_cli_no_docs", "-ldflags", ldflags, "-o", out, "github.com/tupper-runtime/tupper")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %w\n%s", err, b)
	}
	return nil
}
