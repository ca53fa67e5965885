package tests

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestCgroupsInitThreadsJoined: every thread of a created container's init
// is in the container's cgroup on every hierarchy, the cgroup2 one of a
// hybrid host included. On a v1 or hybrid host the v1 directories are made
// while the init starts, and its constructor joins them before the Go
// runtime starts a thread; a join after that would move one thread only.
// The C init (the default for this config) starts no Go runtime: its one
// thread must be there too.
func TestCgroupsInitThreadsJoined(t *testing.T) {
	for _, tc := range []struct {
		init       string
		minThreads int
	}{{"go", 2}, {"", 1}} {
		t.Run("init="+tc.init, func(t *testing.T) {
			t.Setenv("TUPPER_INIT", tc.init)
			c := newCtr(t, "sleep", "100")
			c.mustCreate()
			pid := c.state().Pid
			n := checkThreadsCgroup(t, pid, cgroupParent+"/"+c.key)
			if n < tc.minThreads {
				t.Fatalf("init %d has %d thread(s), want at least %d", pid, n, tc.minThreads)
			}
		})
	}
}

// checkThreadsCgroup checks that every thread of pid is in cgroup want, and
// returns how many threads it checked.
func checkThreadsCgroup(t *testing.T, pid int, want string) int {
	t.Helper()
	dir := filepath.Join("/proc", strconv.Itoa(pid), "task")
	tasks, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range tasks {
		checkCgroupLines(t, "thread "+task.Name()+" of "+strconv.Itoa(pid), readFile(t, filepath.Join(dir, task.Name(), "cgroup")), want)
	}
	return len(tasks)
}

// checkCgroupLines checks that every line of a /proc/PID/cgroup names
// cgroup want; on a hybrid host, an empty cgroup2 hierarchy is skipped,
// as tupper makes no cgroup there.
func checkCgroupLines(t *testing.T, who, text, want string) {
	t.Helper()
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 || parts[0] == "0" && !pureV2() && !unifiedHasControllers() {
			continue
		}
		if parts[2] != want {
			t.Errorf("%s is in cgroup %s on hierarchy %q, want %s", who, parts[2], parts[0]+":"+parts[1], want)
		}
	}
}

// TestCgroupsJoinRefused: when the init cannot join its cgroup (a v1
// cpuset cgroup without cpus, where the kernel refuses tasks with ENOSPC),
// create fails with the kernel's reason, and leaves nothing behind.
func TestCgroupsJoinRefused(t *testing.T) {
	if pureV2() {
		t.Skip("a cgroup v1 cpuset test; the host is pure cgroup v2")
	}
	if !hasController("cpuset") {
		t.Skip("the host has no cpuset hierarchy")
	}
	c := newCtr(t, "true")
	c.root = t.TempDir()
	// A level made here, not by tupper, gets no cpus (cgroup.clone_children
	// is 0), and tupper copies its empty value to the container's cgroup.
	// The shared parent must not be such a level: every later container
	// under it would fail to join. Made here when missing, it gets the
	// root's cpus and mems.
	parent := filepath.Join("/sys/fs/cgroup/cpuset", cgroupParent)
	if err := os.Mkdir(parent, 0o755); err == nil {
		for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
			v := readFile(t, filepath.Join("/sys/fs/cgroup/cpuset", f))
			if err := os.WriteFile(filepath.Join(parent, f), []byte(v), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	} else if !os.IsExist(err) {
		t.Fatal(err)
	}
	empty := filepath.Join(parent, c.key)
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	if cpus := strings.TrimSpace(readFile(t, filepath.Join(empty, "cpuset.cpus"))); cpus != "" {
		t.Fatalf("%s got cpus %q; the test needs none", empty, cpus)
	}
	c.spec.Linux.CgroupsPath = cgroupParent + "/" + c.key + "/ctr"
	stderr, code := c.create()
	tasks := filepath.Join(empty, "ctr", "tasks")
	if code != 1 || !strings.Contains(stderr, "join cgroup: write "+tasks+": no space left on device") {
		t.Errorf("create: exit %d, stderr %q; want 1 and the refused join of %s", code, stderr, tasks)
	}
	assertCreateLeftNothing(t, c, true)
}

// unifiedHasControllers tells whether a hybrid host's cgroup2 hierarchy has
// any controller, in which case tupper places containers there too.
func unifiedHasControllers() bool {
	b, err := os.ReadFile("/sys/fs/cgroup/unified/cgroup.controllers")
	return err == nil && strings.TrimSpace(string(b)) != ""
}

// TestCgroupsDeviceRuleRefused: a device rule the runtime refuses fails
// create with the field's name and leaves nothing behind. On a v1 or
// hybrid host the rules are written while the init starts, before it is
// sent its config; elsewhere with the other resources.
func TestCgroupsDeviceRuleRefused(t *testing.T) {
	c := newCtr(t, "true")
	c.root = t.TempDir()
	major, minor := int64(1), int64(3)
	c.spec.Linux.Resources.Devices = append(c.spec.Linux.Resources.Devices,
		specs.LinuxDeviceCgroup{Allow: true, Type: "c", Major: &major, Minor: &minor, Access: "rwz"})
	stderr, code := c.create()
	if code != 1 || !strings.Contains(stderr, "linux.resources.devices[1]") {
		t.Errorf("create: exit %d, stderr %q; want 1 and the rule's field", code, stderr)
	}
	assertCreateLeftNothing(t, c, false)
}
