package tests

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// fakeTaskDir is a host directory to bind over the init's /proc/1/task,
// with attr files for tids 1 to 64 (the init is pid 1 of a new pid
// namespace, and its Go threads take the next few numbers), so that
// /proc/thread-self/attr/... resolves into it whichever thread writes.
// AppArmor reads as enabled: attr/apparmor/current is there.
func fakeTaskDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for tid := 1; tid <= 64; tid++ {
		attr := filepath.Join(dir, fmt.Sprint(tid), "attr")
		if err := os.MkdirAll(filepath.Join(attr, "apparmor"), 0o755); err != nil {
			t.Fatal(err)
		}
		for name, content := range map[string]string{"apparmor/current": "unconfined\n", "apparmor/exec": "", "exec": ""} {
			if err := os.WriteFile(filepath.Join(attr, name), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir
}

// labelsWritten lists the fake attr files that hold something they did not
// hold at the start: a label the runtime wrote into a plain file.
func labelsWritten(t *testing.T, dir string) []string {
	t.Helper()
	var got []string
	for _, pattern := range []string{"*/attr/exec", "*/attr/apparmor/exec"} {
		files, _ := filepath.Glob(filepath.Join(dir, pattern))
		for _, f := range files {
			if b := readFile(t, f); b != "" {
				got = append(got, fmt.Sprintf("%s: %q", strings.TrimPrefix(f, dir), b))
			}
		}
	}
	return got
}

// TestSecurityLSMLabelRedirect is CVE-2019-16884 against a host without
// AppArmor or SELinux: the config binds a host directory over the init's
// /proc/1/task, which holds every file the init reads to decide that the
// LSM is enabled and every file it writes the label to; for SELinux a file
// over /proc/filesystems lists selinuxfs. A runtime that writes the label
// through a plain open reports success, and the process runs unconfined
// with the label in a host file. tupper must refuse, with openProc's
// refusal to cross a mount, and nothing may reach the host files. (What
// this does not show: that the label lands on a host where the LSM is
// real; the unit tests in libcontainer/container cover the open itself.)
func TestSecurityLSMLabelRedirect(t *testing.T) {
	tests := []struct {
		name  string
		label func(p *specs.Process)
		field string
	}{
		{"AppArmor", func(p *specs.Process) { p.ApparmorProfile = "tupper-test" }, `process.apparmorProfile "tupper-test"`},
		{"SELinux", func(p *specs.Process) { p.SelinuxLabel = "system_u:system_r:tupper_t:s0" }, `process.selinuxLabel "system_u:system_r:tupper_t:s0"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := fakeTaskDir(t)
			filesystems := filepath.Join(t.TempDir(), "filesystems")
			if err := os.WriteFile(filesystems, []byte("nodev\tproc\nnodev\tselinuxfs\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			c := newCtr(t, "true")
			c.spec.Mounts = append(c.spec.Mounts,
				specs.Mount{Destination: "/proc/1/task", Type: "bind", Source: fake, Options: []string{"rbind"}},
				specs.Mount{Destination: "/proc/filesystems", Type: "bind", Source: filesystems, Options: []string{"bind"}})
			tt.label(c.spec.Process)
			out, stderr, code := c.run()
			t.Logf("exit %d, stdout %q, stderr %q", code, out, stderr)
			if w := labelsWritten(t, fake); len(w) > 0 {
				t.Errorf("the label went into a host file mounted over /proc (CVE-2019-16884), exit %d: %s", code, strings.Join(w, ", "))
			}
			want := tt.field + ": open /proc/thread-self/attr/"
			if code == 0 || !strings.Contains(stderr, want) || !strings.Contains(stderr, "invalid cross-device link") {
				t.Errorf("run: exit %d, stderr %q; want a failure with %q ... invalid cross-device link", code, stderr, want)
			}
		})
	}
}

// mountSymlinkIn mounts a new symlink to target over path (itself a
// symlink) in the mount namespace of pid, from a thread of its own that
// enters that namespace and dies with it. Mounting over a symlink takes
// the new mount API: open_tree of the link, then move_mount onto path
// without following it.
func mountSymlinkIn(t *testing.T, pid int, target, path string) {
	t.Helper()
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread exits in the container's namespace
		errs <- func() error {
			tree, err := unix.OpenTree(unix.AT_FDCWD, link, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_SYMLINK_NOFOLLOW)
			if err != nil {
				return fmt.Errorf("open_tree %s: %w", link, err)
			}
			defer unix.Close(tree)
			ns, err := unix.Open(fmt.Sprintf("/proc/%d/ns/mnt", pid), unix.O_RDONLY|unix.O_CLOEXEC, 0)
			if err != nil {
				return err
			}
			defer unix.Close(ns)
			// A thread shares its root and cwd with the process until
			// it unshares them, and setns refuses a mount namespace
			// to a thread that shares them.
			if err := unix.Unshare(unix.CLONE_FS); err != nil {
				return fmt.Errorf("unshare fs: %w", err)
			}
			if err := unix.Setns(ns, unix.CLONE_NEWNS); err != nil {
				return fmt.Errorf("enter the container's mount namespace: %w", err)
			}
			if err := unix.MoveMount(tree, "", unix.AT_FDCWD, path, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
				return fmt.Errorf("move_mount onto %s: %w", path, err)
			}
			return nil
		}()
	}()
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
}

// TestSecurityExecOOMRedirect: exec's fast path (nsenter/fastexec.c)
// writes process.oomScoreAdj to /proc/self/oom_score_adj in the
// container's mount namespace, which a container with CAP_SYS_ADMIN there
// may have changed. Here a symlink to 1 is mounted over the container's
// /proc/self: a write that follows it lands in the init's oom_score_adj
// (passing O_NOFOLLOW, which only looks at the last component, and a check
// that the file is on procfs). The write must be refused with the
// verified-procfs error, or land in the exec'd process's own file; the
// init's score must not move.
//
// Only the fast path: exec's Go init is refused under this mount before
// it starts (TestSecurityExecGoPathProcSelf). Its write, openProc, is
// unit-tested against the same mount (libcontainer/container
// TestOpenProcRefuses).
func TestSecurityExecOOMRedirect(t *testing.T) {
	const score = 123
	c, pid := runningCtr(t, nil)
	initScore := filepath.Join("/proc", fmt.Sprint(pid), "oom_score_adj")
	before := readFile(t, initScore)
	if before == fmt.Sprintf("%d\n", score) {
		t.Fatalf("the init's oom_score_adj is %d already", score)
	}
	mountSymlinkIn(t, pid, "1", "/proc/self")
	if out := c.mustExec(nil, "readlink", "/proc/self"); out != "1\n" {
		t.Fatalf("/proc/self in the container links to %q after the mount, want 1", out)
	}
	oom := score
	p := &specs.Process{
		Args: []string{"sh", "-c", "cat /proc/$$/oom_score_adj"},
		Env:  []string{"PATH=/bin:/usr/bin"}, Cwd: "/", OOMScoreAdj: &oom,
	}
	out, stderr, code := c.exec([]string{"--process", writeProcess(t, p)})
	t.Logf("exec: exit %d, stdout %q, stderr %q", code, out, stderr)
	if after := readFile(t, initScore); after != before {
		t.Errorf("exec's oomScoreAdj went to the init through the mount over /proc/self: init's oom_score_adj %q, was %q", after, before)
	}
	const refusal = "process.oomScoreAdj: open /proc/self/oom_score_adj: self: invalid cross-device link"
	switch {
	case code == 0 && out != fmt.Sprintf("%d\n", score):
		t.Errorf("exec succeeded with its own oom_score_adj %q, want %d", out, score)
	case code != 0 && !strings.Contains(stderr, refusal):
		t.Errorf("exec: exit %d, stderr %q; want success, or a failure with %q", code, stderr, refusal)
	}
}

// TestSecurityExecGoPathProcSelf: the Go init of exec (taken here for
// process.ioPriority, which only the Go init sets) starts in the
// container's mount namespace, and a Go program reads /proc/self at start
// (glibc finds the main thread's stack in /proc/self/maps for the cgo
// runtime). With a symlink to 1 mounted over the container's /proc/self it
// read the container's init's files instead and died of SIGSEGV, and exec
// said only "broken pipe" or "connection reset by peer". exec must fail
// with an error that says what is wrong, on stderr and in the --log file,
// leave no process behind, and the container must take a plain exec
// afterwards.
func TestSecurityExecGoPathProcSelf(t *testing.T) {
	for _, detach := range []bool{false, true} {
		t.Run(fmt.Sprintf("detach=%v", detach), func(t *testing.T) {
			c, pid := runningCtr(t, nil)
			mountSymlinkIn(t, pid, "1", "/proc/self")
			p := &specs.Process{
				Args: []string{"true"}, Env: []string{"PATH=/bin:/usr/bin"}, Cwd: "/",
				IOPriority: &specs.LinuxIOPriority{Class: specs.IOPRIO_CLASS_BE, Priority: 4},
			}
			log := filepath.Join(t.TempDir(), "log.json")
			args := []string{"--log", log, "--log-format=json", "exec", "--process", writeProcess(t, p)}
			if detach {
				args = append(args, "--detach")
			}
			_, stderr, code := tupperWith(t, c.opts(), append(args, c.id)...)
			t.Logf("exec: exit %d, stderr %q", code, stderr)
			const want = "open /proc/self: self: invalid cross-device link"
			if code == 0 || !strings.Contains(stderr, "exec "+c.id+": ") || !strings.Contains(stderr, want) {
				t.Errorf("exec: exit %d, stderr %q; want a failure with %q", code, stderr, want)
			}
			if logged := readFile(t, log); !strings.Contains(logged, `"level":"error"`) || !strings.Contains(logged, want) {
				t.Errorf("--log file %q: want an error line with %q", logged, want)
			}
			if left := othersInPidNS(t, pid); len(left) > 0 {
				t.Errorf("processes left in the container after the failed exec: %s", left)
			}
			if out := c.mustExec(nil, "echo", "ok"); out != "ok\n" {
				t.Errorf("plain exec after the failed one: %q, want ok", out)
			}
		})
	}
}

// othersInPidNS lists the processes, zombies included, in the pid
// namespace of pid other than pid itself, as "PID (comm) state".
func othersInPidNS(t *testing.T, pid int) []string {
	t.Helper()
	ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", pid))
	if err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if e.Name() == fmt.Sprint(pid) {
			continue
		}
		if other, err := os.Readlink(filepath.Join("/proc", e.Name(), "ns/pid")); err != nil || other != ns {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // gone meanwhile
		}
		out = append(out, strings.TrimSpace(string(stat[:min(len(stat), 40)])))
	}
	return out
}

// TestCreateInitKilledBeforeReport is create's side of the above: an init
// that dies of a signal before it reports ready (killed here by a
// createRuntime hook, while it waits for the hooks to finish; SIGKILL, as
// a SIGSEGV sent by kill is a Go panic and exit status 2) must make
// create fail with how the init ended, not with the broken pipe of the
// parent's next send, and leave no container behind.
func TestCreateInitKilledBeforeReport(t *testing.T) {
	c := newCtr(t, "true")
	c.root = t.TempDir()
	c.spec.Hooks = &specs.Hooks{CreateRuntime: []specs.Hook{{
		Path: "/bin/sh",
		Args: []string{"sh", "-c", `kill -KILL "$(sed -n 's/.*"pid": *\([0-9]*\).*/\1/p')"`},
	}}}
	c.write()
	_, stderr, code := c.do("create", []string{"--bundle", c.bundle})
	const want = "init process was killed by SIGKILL (killed) before it reported"
	if code == 0 || !strings.Contains(stderr, want) {
		t.Errorf("create: exit %d, stderr %q; want a failure with %q", code, stderr, want)
	}
	assertCreateLeftNothing(t, c, false)
}
