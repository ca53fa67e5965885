package cgroups

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// realCgroup returns a Manager for a fresh /tupper-test/cgtest-<random> on
// this host. Cleanup destroys it and removes the /tupper-test levels this
// test created, when they are empty.
func realCgroup(t *testing.T) Manager {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates cgroups under /tupper-test")
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	m, err := New("/tupper-test/cgtest-"+hex.EncodeToString(b), "unused")
	if err != nil {
		t.Fatal(err)
	}
	var parents []string
	for _, dir := range m.Paths() {
		// Never anything but our own /tupper-test tree.
		if !strings.Contains(dir, "/tupper-test/cgtest-") {
			t.Fatalf("cgroup %s is outside /tupper-test", dir)
		}
		parent := filepath.Dir(dir)
		if _, err := os.Stat(parent); errors.Is(err, fs.ErrNotExist) && !slices.Contains(parents, parent) {
			parents = append(parents, parent)
		}
	}
	t.Cleanup(func() {
		if err := m.Destroy(); err != nil {
			t.Errorf("cleanup: %v", err)
		}
		for _, p := range parents {
			_ = unix.Rmdir(p)
		}
	})
	return m
}

// startSleep starts a child that Cleanup kills.
func startSleep(t *testing.T) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd
}

func TestRealLifecycle(t *testing.T) {
	m := realCgroup(t)
	cmd := startSleep(t)
	pid := cmd.Process.Pid

	if err := m.Apply(0); err != nil {
		t.Fatal(err)
	}
	if fd := m.CgroupFD(); fd >= 0 {
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR {
			t.Errorf("CgroupFD %d: not a directory (%v)", fd, err)
		}
	}
	if err := m.Apply(pid); err != nil {
		t.Fatal(err)
	}

	pids, err := m.Pids()
	if err != nil || !slices.Contains(pids, pid) {
		t.Fatalf("Pids() = %v, %v; want %d in it", pids, err, pid)
	}
	for ctrl, dir := range m.Paths() {
		procs, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
		if err != nil || !slices.Contains(strings.Fields(string(procs)), strconv.Itoa(pid)) {
			t.Errorf("%s: cgroup.procs = %q, %v; want %d in it", ctrl, procs, err, pid)
		}
	}

	if err := m.Freeze(true); err != nil {
		t.Fatal(err)
	}
	if f, err := m.Frozen(); err != nil || !f {
		t.Errorf("after Freeze(true): Frozen() = %v, %v", f, err)
	}
	if err := m.Freeze(false); err != nil {
		t.Fatal(err)
	}
	if f, err := m.Frozen(); err != nil || f {
		t.Errorf("after Freeze(false): Frozen() = %v, %v", f, err)
	}

	if err := m.Kill(unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Errorf("sleep ended with %v, want killed", err)
	}

	if err := m.Destroy(); err != nil {
		t.Fatal(err)
	}
	for ctrl, dir := range m.Paths() {
		if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s: %s still there after Destroy (%v)", ctrl, dir, err)
		}
	}
	if err := m.Destroy(); err != nil {
		t.Errorf("second Destroy: %v", err)
	}
}

func TestRealLoad(t *testing.T) {
	m := realCgroup(t)
	cmd := startSleep(t)
	if err := m.Apply(cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	l, err := Load(m.Paths())
	if err != nil {
		t.Fatal(err)
	}
	pids, err := l.Pids()
	if err != nil || !slices.Equal(pids, []int{cmd.Process.Pid}) {
		t.Errorf("loaded Pids() = %v, %v", pids, err)
	}
	if err := l.Kill(unix.SIGTERM); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if err := l.Destroy(); err != nil {
		t.Fatal(err)
	}
}
