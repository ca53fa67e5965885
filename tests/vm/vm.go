// Package vm boots a throwaway Linux guest whose only cgroup hierarchy is cgroup v2
// and runs one shell script in it, for integration tests that need a pure v2 host
// while the machine running them mounts cgroups in hybrid mode.
//
// The guest is built and booted by run-guest.sh next to this file (see README.md):
// a Debian kernel under QEMU's software emulation, with busybox, the caller's files
// and a busybox container bundle in an initramfs. This package only runs that script
// and turns the guest's console into an output and an exit status. It does not build
// tupper; callers pass the binary they built.
package vm

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Markers and exit codes shared with run-guest.sh.
const (
	beginMarker  = "TUPPER-VM-BEGIN"
	resultPrefix = "TUPPER-VM-RESULT rc="
	exitTimeout  = 124
	exitSetup    = 125
)

const (
	defaultTimeout = 10 * time.Minute
	// reportGrace is kept back from the test deadline so that a guest that hangs
	// is reported by Run, with its console, rather than by the go test panic.
	reportGrace = 30 * time.Second
	tailLines   = 40
)

// Run boots the guest, runs script in it with /bin/sh (busybox) as root, and returns
// what the script printed (stdout and stderr, in order) and its exit status.
//
// Each of files is a host path copied into the guest. An executable lands in
// /usr/local/bin (on PATH) under its base name, with its shared libraries when it is
// dynamically linked; "SRC:/guest/path" places SRC elsewhere, as in
// "testdata/config.json:/bundle/config.json". Directories are copied whole.
//
// The guest has cgroup2 on /sys/fs/cgroup with every controller enabled in the root's
// cgroup.subtree_control, tmpfs on /run and /tmp, and a container root file system
// of busybox at /bundle/rootfs (a pristine copy stays at /rootfs-template). The caller
// supplies /bundle/config.json, as a file or by running "tupper spec" in the script.
//
// A non-zero rc is returned, not reported. Run fails the test when the guest cannot
// be built (for instance when qemu cannot be installed), does not finish in time,
// or stops without reporting a result. The time limit is 10 minutes or what the test
// deadline leaves; TUPPER_VM_TIMEOUT (seconds) overrides it.
func Run(t testing.TB, script string, files ...string) (output string, rc int) {
	t.Helper()
	runner, err := runnerPath()
	if err != nil {
		t.Fatalf("vm: %v", err)
	}
	timeout, err := guestTimeout(t)
	if err != nil {
		t.Fatalf("vm: %v", err)
	}
	scriptPath := filepath.Join(t.TempDir(), "test.sh")
	if err := os.WriteFile(scriptPath, []byte(script), 0o644); err != nil {
		t.Fatalf("vm: write test script: %v", err)
	}

	args := append([]string{"--timeout", strconv.Itoa(int(timeout.Seconds())), scriptPath}, files...)
	cmd := exec.Command(runner, args...)
	var console, setup bytes.Buffer
	cmd.Stdout = &console
	cmd.Stderr = &setup
	start := time.Now()
	code := 0
	if err := cmd.Run(); err != nil {
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) {
			t.Fatalf("vm: run %s: %v", runner, err)
		}
		code = exitErr.ExitCode()
	}
	output, rc, ok := parseConsole(console.String())
	if ok {
		t.Logf("vm: guest built, booted and ran in %s", time.Since(start).Round(100*time.Millisecond))
		return output, rc
	}
	switch code {
	case exitSetup:
		t.Fatalf("vm: cannot build the guest:\n%s", tail(setup.String(), tailLines))
	case exitTimeout:
		t.Fatalf("vm: guest did not finish within %s; console:\n%s", timeout, tail(console.String(), tailLines))
	default:
		t.Fatalf("vm: guest stopped without a result (run-guest.sh exit %d); console:\n%s\n%s",
			code, tail(console.String(), tailLines), tail(setup.String(), tailLines))
	}
	return "", 0
}

// runnerPath finds run-guest.sh beside this source file, which is where tests built
// from the source tree find it; TUPPER_VM_RUNNER overrides it (for -trimpath builds).
func runnerPath() (string, error) {
	if p := os.Getenv("TUPPER_VM_RUNNER"); p != "" {
		return p, nil
	}
	_, self, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("locate run-guest.sh: no caller information; set TUPPER_VM_RUNNER")
	}
	p := filepath.Join(filepath.Dir(self), "run-guest.sh")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("locate run-guest.sh (set TUPPER_VM_RUNNER): %w", err)
	}
	return p, nil
}

// guestTimeout is the time the guest gets: TUPPER_VM_TIMEOUT, or the default cut
// short by the test's deadline when it has one.
func guestTimeout(t testing.TB) (time.Duration, error) {
	if s := os.Getenv("TUPPER_VM_TIMEOUT"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			return 0, fmt.Errorf("TUPPER_VM_TIMEOUT: want a positive number of seconds, got %q", s)
		}
		return time.Duration(n) * time.Second, nil
	}
	timeout := defaultTimeout
	if d, ok := t.(interface{ Deadline() (time.Time, bool) }); ok {
		if deadline, ok := d.Deadline(); ok {
			left := time.Until(deadline) - reportGrace
			timeout = min(timeout, max(left, 10*time.Second))
		}
	}
	return timeout, nil
}

// parseConsole returns the script's output, between the guest's begin marker and
// its last result line, and the rc on that line. ok is false when no result line
// appeared. The script's own output could contain the markers too, hence first
// begin and last result.
func parseConsole(console string) (output string, rc int, ok bool) {
	lines := strings.SplitAfter(console, "\n")
	end := -1
	for i := len(lines) - 1; i >= 0; i-- {
		line := strings.TrimRight(lines[i], "\n")
		if n, found := strings.CutPrefix(line, resultPrefix); found {
			if v, err := strconv.Atoi(n); err == nil {
				end, rc = i, v
				break
			}
		}
	}
	if end < 0 {
		return "", 0, false
	}
	begin := 0
	for i := 0; i < end; i++ {
		if strings.HasPrefix(lines[i], beginMarker) {
			begin = i + 1
			break
		}
	}
	return strings.Join(lines[begin:end], ""), rc, true
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
