package tests

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/tupper-runtime/tupper/tests/internal/fixture"
)

// TestSecurityProcSelfFd: the container's process holds stdio and nothing
// else of the runtime's (CVE-2024-21626 leaked a host directory fd); busybox
// ls adds its own fd 3 for the directory it lists.
func TestSecurityProcSelfFd(t *testing.T) {
	const want = "0\n1\n2\n3\n"
	t.Run("run", func(t *testing.T) {
		c := newCtr(t, "ls", "/proc/self/fd")
		if out := c.mustRun(); out != want {
			t.Errorf("fds in the container: %q, want %q", out, want)
		}
	})
	t.Run("run with log and debug", func(t *testing.T) {
		c := newCtr(t, "ls", "/proc/self/fd")
		c.write()
		log := filepath.Join(t.TempDir(), "log.json")
		out, stderr, code := tupper(t, "--root", c.root, "--log", log, "--log-format", "json", "--debug", "run", "--bundle", c.bundle, c.id)
		if code != 0 || out != want {
			t.Errorf("fds in the container with --log --debug: exit %d, stdout %q, stderr %q; want %q", code, out, stderr, want)
		}
	})
	t.Run("create and start", func(t *testing.T) {
		c := newCtr(t, "ls", "/proc/self/fd")
		c.mustCreate()
		c.must("start", nil)
		c.waitStatus(specs.StateStopped)
		if out := readFile(t, c.out); out != want {
			t.Errorf("fds in the container after start: %q, want %q", out, want)
		}
	})
	t.Run("exec", func(t *testing.T) {
		c := newCtr(t, "sleep", "1000")
		c.mustCreate()
		c.must("start", nil)
		out, stderr, code := c.do("exec", nil, "ls", "/proc/self/fd")
		if code != 0 || out != want {
			t.Errorf("fds of an exec'd process: exit %d, stdout %q, stderr %q; want %q", code, out, stderr, want)
		}
	})
}

// TestSecurityCwdOutside: a cwd that climbs or links out of the rootfs
// stays inside it.
func TestSecurityCwdOutside(t *testing.T) {
	host := hostDirWithMarker(t)
	root := privateRootfs(t)
	if err := os.Symlink(host, filepath.Join(root, "evilcwd")); err != nil {
		t.Fatal(err)
	}
	for _, cwd := range []string{"/../../../../..", "/evilcwd", "/../../../../.." + host} {
		t.Run(cwd, func(t *testing.T) {
			c := newCtr(t, "sh", "-c", "pwd; ls")
			c.spec.Root.Path = root
			c.spec.Process.Cwd = cwd
			out, _, _ := c.run()
			if strings.Contains(out, "marker") {
				t.Errorf("cwd %s reached the host directory: %q", cwd, out)
			}
			checkHostDir(t, host)
		})
	}
}

// TestSecurityExecCwdOutside: exec chdirs to process.cwd with the runtime's
// privileges, before it drops them, so a cwd that is a /proc magic link
// can land outside the container's root (CVE-2024-21626 class: there a
// leaked host directory fd, here a host process's cwd, which the
// container's own process could not follow for lack of CAP_SYS_PTRACE).
// The container shares the host's pid namespace, so its /proc shows a host
// process whose cwd is a host directory. Both of exec's paths must refuse
// that cwd: the C fast path (nsenter/fastexec.c, a plain process) and the
// Go init (forced by process.ioPriority, which only it sets). --debug names
// the path taken, so the fast-path case cannot silently test the Go init.
// /proc/self/fd/N for the fds a runtime could leak must not reach the host
// either: refused or inside the container.
func TestSecurityExecCwdOutside(t *testing.T) {
	host := hostDirWithMarker(t)
	sleeper := exec.Command("sleep", "1000")
	sleeper.Dir = host
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = sleeper.Process.Kill()
		_ = sleeper.Wait()
	})
	c, _ := runningCtr(t, func(c *ctr) { c.dropNamespace(specs.PIDNamespace) })
	const script = "pwd; ls"
	hostCwd := fmt.Sprintf("/proc/%d/cwd", sleeper.Process.Pid)
	// The host process must be in the container's /proc, or the cases
	// below would pass for a cwd that does not exist.
	if out := c.mustExec(nil, "cat", fmt.Sprintf("/proc/%d/cmdline", sleeper.Process.Pid)); !strings.HasPrefix(out, "sleep") {
		t.Fatalf("the host's sleep is not in the container's /proc: cmdline %q", out)
	}
	goPath := &specs.LinuxIOPriority{Class: specs.IOPRIO_CLASS_BE, Priority: 4}
	for _, p := range []struct {
		name, debug string
		flags       func(cwd string) ([]string, []string)
	}{
		{"fast", "for the C fast path", func(cwd string) ([]string, []string) {
			return []string{"--cwd", cwd}, []string{"sh", "-c", script}
		}},
		{"go", "for the Go init", func(cwd string) ([]string, []string) {
			proc := writeProcess(t, &specs.Process{Args: []string{"sh", "-c", script}, Env: c.spec.Process.Env, Cwd: cwd, IOPriority: goPath})
			return []string{"--process", proc}, nil
		}},
	} {
		t.Run(p.name, func(t *testing.T) {
			try := func(cwd string) (string, string, int) {
				flags, args := p.flags(cwd)
				out, stderr, code := tupperWith(t, c.opts(), append(append(append([]string{"--debug", "exec"}, flags...), c.id), args...)...)
				if !strings.Contains(stderr, p.debug) {
					t.Errorf("exec --cwd %s: --debug does not say %q; stderr %q", cwd, p.debug, stderr)
				}
				return out, stderr, code
			}
			out, stderr, code := try(hostCwd)
			want := "process.cwd " + hostCwd + ": resolves outside the container"
			if code == 0 || !strings.Contains(stderr, want) {
				t.Errorf("exec --cwd %s (a host process's cwd): exit %d, stdout %q, stderr %q; want refused with %q", hostCwd, code, out, stderr, want)
			}
			if strings.Contains(out, "marker") {
				t.Errorf("exec --cwd %s reached the host directory: %q", hostCwd, out)
			}
			for fd := 3; fd <= 12; fd++ {
				for _, cwd := range []string{fmt.Sprintf("/proc/self/fd/%d", fd), fmt.Sprintf("/proc/self/fd/%d/..", fd)} {
					out, stderr, code := try(cwd)
					if strings.Contains(out, "marker") || (code == 0 && !strings.HasPrefix(out, "/")) {
						t.Errorf("exec --cwd %s: exit %d, stdout %q, stderr %q; want refused or a cwd inside the container", cwd, code, out, stderr)
					}
				}
			}
			checkHostDir(t, host)
		})
	}
}

// privateRootfs builds a busybox rootfs the test may change.
func privateRootfs(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "rootfs")
	if err := fixture.BuildRootfs(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

// hostDirWithMarker makes a host directory holding one file, "marker",
// that no container may see or change.
func hostDirWithMarker(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "marker"), []byte("host\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	return dir
}

// checkHostDir fails the test if dir holds anything but its marker, the
// marker changed, dir changed mode or owner, or something is mounted there.
func checkHostDir(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("host dir %s: %v", dir, err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if len(names) != 1 || names[0] != "marker" {
		t.Errorf("host dir %s now holds %v, want only marker", dir, names)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "marker")); err != nil || string(b) != "host\n" {
		t.Errorf("host marker changed: %q, %v", b, err)
	}
	var st syscall.Stat_t
	if err := syscall.Lstat(dir, &st); err != nil || st.Mode&0o7777 != 0o700 || st.Uid != 0 || st.Gid != 0 {
		t.Errorf("host dir %s: mode %o uid %d gid %d (%v), want 700 root", dir, st.Mode&0o7777, st.Uid, st.Gid, err)
	}
	checkNotMounted(t, dir)
}

// checkNotMounted fails the test if the host sees a mount at or under path.
func checkNotMounted(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 4 && (f[4] == path || strings.HasPrefix(f[4], path+"/")) {
			t.Errorf("host mount at %s: %s", path, line)
		}
	}
}

// TestSecurityMountTargetSymlink: a mount destination that is, or passes
// through, a symlink pointing out of the rootfs is resolved inside the
// rootfs (or refused); the host directory it names is never created into,
// mounted on or changed.
func TestSecurityMountTargetSymlink(t *testing.T) {
	for _, tc := range []struct {
		name string
		link string // in the rootfs
		to   func(host string) string
		dest string
		typ  string
		file bool // bind a file rather than mount a directory
	}{
		{"absolute link", "mnt/evil", func(h string) string { return h }, "/mnt/evil", "tmpfs", false},
		{"relative link", "mnt/evil", func(h string) string { return "../../../../../../.." + h }, "/mnt/evil/sub", "tmpfs", false},
		{"link to a new dir", "mnt/evil", func(h string) string { return h + "/newdir" }, "/mnt/evil", "bind", false},
		{"link to a new file", "mnt/evilfile", func(h string) string { return h + "/newfile" }, "/mnt/evilfile", "bind", true},
		{"proc is a link", "proc", func(h string) string { return h }, "/proc", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			host := hostDirWithMarker(t)
			root := privateRootfs(t)
			link := filepath.Join(root, tc.link)
			if err := os.RemoveAll(link); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(tc.to(host), link); err != nil {
				t.Fatal(err)
			}
			c := newCtr(t, "sleep", "1000")
			c.spec.Root.Path = root
			switch {
			case tc.typ == "tmpfs":
				c.spec.Mounts = append(c.spec.Mounts, specs.Mount{Destination: tc.dest, Type: "tmpfs", Source: "tmpfs"})
			case tc.file:
				src := filepath.Join(t.TempDir(), "src")
				if err := os.WriteFile(src, []byte("source\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				c.spec.Mounts = append(c.spec.Mounts, specs.Mount{Destination: tc.dest, Type: "bind", Source: src, Options: []string{"bind"}})
			case tc.typ == "bind":
				c.spec.Mounts = append(c.spec.Mounts, specs.Mount{Destination: tc.dest, Type: "bind", Source: t.TempDir(), Options: []string{"rbind"}})
			}
			// Refusing is as good as resolving inside; what must not happen
			// is a change to the host.
			if stderr, code := c.create(); code == 0 {
				checkHostDir(t, host)
				c.do("delete", []string{"--force"})
			} else {
				t.Logf("create refused: %s", stderr)
			}
			checkHostDir(t, host)
		})
	}
}

// hostFile makes a host file with a distinctive owner, mode and content.
func hostFile(t *testing.T) (path string, check func()) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "hostfile")
	if err := os.WriteFile(path, []byte("host secret\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(path, 4321, 4322); err != nil {
		t.Fatal(err)
	}
	return path, func() {
		t.Helper()
		var st syscall.Stat_t
		if err := syscall.Lstat(path, &st); err != nil {
			t.Errorf("host file %s: %v", path, err)
			return
		}
		if st.Mode != syscall.S_IFREG|0o640 || st.Uid != 4321 || st.Gid != 4322 {
			t.Errorf("host file %s changed: mode %o uid %d gid %d, want a regular file 640 4321:4322", path, st.Mode, st.Uid, st.Gid)
		}
		if b, err := os.ReadFile(path); err != nil || string(b) != "host secret\n" {
			t.Errorf("host file %s content changed: %q, %v", path, b, err)
		}
		checkNotMounted(t, path)
	}
}

// devRootfs is a private rootfs whose /dev is its own directory (no tmpfs
// over it), with dev/<name> a symlink to target.
func devRootfs(t *testing.T, c *ctr, name, target string) {
	t.Helper()
	root := privateRootfs(t)
	if err := os.Symlink(target, filepath.Join(root, "dev", name)); err != nil {
		t.Fatal(err)
	}
	c.spec.Root.Path = root
	c.spec.Mounts = withoutMount(c.spec.Mounts, "/dev")
}

// TestSecurityDevNullSymlink: a rootfs whose /dev/null links to a host
// file: the runtime must not chown, chmod, replace or mount over the host
// file while it makes the container's devices.
func TestSecurityDevNullSymlink(t *testing.T) {
	for _, rel := range []bool{false, true} {
		t.Run(fmt.Sprintf("relative=%v", rel), func(t *testing.T) {
			path, check := hostFile(t)
			target := path
			if rel {
				target = "../../../../../../.." + path
			}
			c := newCtr(t, "sh", "-c", "echo x > /dev/null; stat -L -c %F /dev/null")
			devRootfs(t, c, "null", target)
			out, stderr, code := c.run()
			t.Logf("inside: exit %d, stdout %q, stderr %q", code, out, stderr)
			check()
		})
	}
}

// TestSecurityDevConsoleSymlink: with process.terminal, the pty is bound
// at /dev/console; a rootfs whose /dev/console links to a host file must
// leave that file alone.
func TestSecurityDevConsoleSymlink(t *testing.T) {
	path, check := hostFile(t)
	c := newCtr(t, "sh", "-c", "tty; stat -c %F /dev/console")
	c.spec.Process.Terminal = true
	devRootfs(t, c, "console", path)
	sock, waitMaster := ptyListener(t)
	if stderr, code := c.create("--console-socket", sock); code != 0 {
		t.Logf("create refused: %s", stderr)
		check()
		return
	}
	master := waitMaster()
	check()
	c.must("start", nil)
	done := make(chan string, 1)
	go func() { b, _ := io.ReadAll(master); done <- string(b) }()
	select {
	case out := <-done:
		t.Logf("inside: %q", out)
	case <-time.After(cmdTimeout):
		t.Error("the pty never reached EOF")
	}
	check()
}

// TestSecurityStdioDevNull: stdio the runtime got as the host's /dev/null
// reaches the process as the container's /dev/null; through
// /proc/self/fd/0 a root process could otherwise chmod or chown the
// host's node. Checked without trying it: the two must be one inode.
func TestSecurityStdioDevNull(t *testing.T) {
	const probe = "stat -L -c %d:%i /proc/self/fd/0 /dev/null"
	same := func(t *testing.T, what, out string) {
		t.Helper()
		f := strings.Fields(out)
		if len(f) != 2 || f[0] != f[1] {
			t.Errorf("%s: stdin and /dev/null are %q, want one inode (the container's)", what, out)
		}
	}
	t.Run("run", func(t *testing.T) {
		c := newCtr(t, "sh", "-c", probe)
		same(t, "run", c.mustRun())
	})
	t.Run("exec", func(t *testing.T) {
		c := newCtr(t, "sleep", "1000")
		c.mustCreate()
		c.must("start", nil)
		out, stderr, code := c.do("exec", nil, "sh", "-c", probe)
		if code != 0 {
			t.Fatalf("exec: exit %d: %s", code, stderr)
		}
		same(t, "exec", out)
	})
}

// TestSecuritySysctlRedirect: the runtime's writes to /proc must land on
// the procfs file they name. Here the config mounts a directory over
// /proc/sys/net whose ipv4/ip_forward links to /proc/sys/kernel/hostname
// (harmless: the container's own UTS namespace); were it core_pattern,
// a redirected sysctl write would change the host (CVE-2025-52881 class).
// run must fail, and for the reason that protects: the write's open
// refuses to cross into the mount over /proc/sys/net (or, were that check
// gone, to follow the symlink). Any other failure, such as a runtime that
// refuses the mount, would leave the write untested.
func TestSecuritySysctlRedirect(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "ipv4"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/proc/sys/kernel/hostname", filepath.Join(dir, "ipv4", "ip_forward")); err != nil {
		t.Fatal(err)
	}
	c := newCtr(t, "hostname")
	c.spec.Mounts = append(c.spec.Mounts, specs.Mount{Destination: "/proc/sys/net", Type: "bind", Source: dir, Options: []string{"rbind"}})
	c.spec.Linux.Sysctl = map[string]string{"net.ipv4.ip_forward": "1"}
	out, stderr, code := c.run()
	t.Logf("exit %d, stdout %q, stderr %q", code, out, stderr)
	if code == 0 && out != "tupper-test\n" {
		t.Errorf("the sysctl write followed a symlink out of procfs: hostname is %q, want tupper-test", out)
	}
	const refusal = `linux.sysctl "net.ipv4.ip_forward": open /proc/sys/net/ipv4/ip_forward: `
	if code == 0 || !strings.Contains(stderr, refusal+"invalid cross-device link") && !strings.Contains(stderr, refusal+"too many levels of symbolic links") {
		t.Errorf("run: exit %d, stderr %q; want a failure with %q and the refusal to cross a mount or follow a symlink", code, stderr, refusal)
	}
}
