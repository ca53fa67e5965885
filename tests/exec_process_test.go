package tests

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/tupper-runtime/tupper/tests/internal/fixture"
)

// `tupper exec`: a new process in a running container, in its namespaces
// and cgroup, with the attributes the flags or a process.json give.

// runningCtr creates and starts a container running `sleep 1000` (after
// edit changes its spec) and returns it with its init's host pid.
func runningCtr(t *testing.T, edit func(c *ctr)) (*ctr, int) {
	t.Helper()
	c := newCtr(t, "sleep", "1000")
	if edit != nil {
		edit(c)
	}
	c.mustCreate()
	c.must("start", nil)
	return c, c.state().Pid
}

// exec runs `tupper exec FLAGS ID ARGS...`.
func (c *ctr) exec(flags []string, args ...string) (stdout, stderr string, code int) {
	c.t.Helper()
	return c.do("exec", flags, args...)
}

func (c *ctr) mustExec(flags []string, args ...string) string {
	c.t.Helper()
	out, stderr, code := c.exec(flags, args...)
	if code != 0 {
		c.t.Fatalf("exec %s %s: exit %d\nstdout: %s\nstderr: %s", flags, args, code, out, stderr)
	}
	return out
}

// writeProcess writes p as a process.json in a temporary directory.
func writeProcess(t *testing.T, p *specs.Process) string {
	t.Helper()
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "process.json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// readPidFile returns the live pid a pid file holds. The process, a
// detached one whose parent is now the host's init, is killed at the end
// of the test and waited for until that init has reaped it: its zombie
// keeps the container's cgroup busy, and this machine's init reaps
// orphans only about once a second.
func readPidFile(t *testing.T, path string) int {
	t.Helper()
	pid, err := strconv.Atoi(strings.TrimSpace(readFile(t, path)))
	if err != nil {
		t.Fatalf("pid file %s: %q: %v", path, readFile(t, path), err)
	}
	if !alive(pid) {
		t.Fatalf("pid file %s: process %d is not running", path, pid)
	}
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		t.Fatal(err)
	}
	start := startTime(pid)
	t.Cleanup(func() {
		defer unix.Close(pidfd)
		_ = unix.PidfdSendSignal(pidfd, unix.SIGKILL, nil, 0)
		if !eventually(func() bool { return startTime(pid) != start }) {
			t.Errorf("detached process %d was never reaped", pid)
		}
	})
	return pid
}

// startTime is field 22 of /proc/PID/stat, "" once the pid is gone.
func startTime(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	_, rest, _ := strings.Cut(string(b), ") ")
	if f := strings.Fields(rest); len(f) > 19 {
		return f[19]
	}
	return ""
}

// nsNames are the namespaces under /proc/PID/ns that exec must share with
// the init.
func nsNames() []string {
	names := []string{"user", "mnt", "pid", "net", "ipc", "uts", "cgroup"}
	if hasTimeNS() {
		names = append(names, "time")
	}
	return names
}

// TestExecNamespaces: the exec'd process is in every namespace of the init
// (compared inside, with /proc/1, and from the host), sees the container's
// hostname and its processes.
func TestExecNamespaces(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(c *ctr)
	}{
		{"default", nil},
		{"time namespace", func(c *ctr) {
			if hasTimeNS() {
				c.setNamespace(specs.TimeNamespace, "")
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, pid := runningCtr(t, tc.edit)
			script := ""
			for _, n := range nsNames() {
				script += fmt.Sprintf("echo %s $(readlink /proc/self/ns/%s) $(readlink /proc/1/ns/%s); ", n, n, n)
			}
			out := c.mustExec(nil, "sh", "-c", script)
			for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
				f := strings.Fields(line)
				if len(f) != 3 {
					t.Errorf("unexpected line %q", line)
					continue
				}
				host, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", pid, f[0]))
				if err != nil {
					t.Fatal(err)
				}
				if f[1] != f[2] || f[1] != host {
					t.Errorf("%s namespace: exec'd process %s, /proc/1 inside %s, init from the host %s: want one", f[0], f[1], f[2], host)
				}
			}
			if n := len(strings.Split(strings.TrimSpace(out), "\n")); n != len(nsNames()) {
				t.Errorf("exec printed %d namespaces, want %d:\n%s", n, len(nsNames()), out)
			}
			out = c.mustExec(nil, "sh", "-c", "hostname; cat /proc/1/cmdline | tr '\\0' ' '; echo; echo $$")
			lines := strings.Split(strings.TrimSpace(out), "\n")
			if len(lines) != 3 || lines[0] != c.spec.Hostname || strings.TrimSpace(lines[1]) != "sleep 1000" || lines[2] == "1" {
				t.Errorf("hostname, pid 1's command and own pid inside: %q; want %s, sleep 1000 and not 1", lines, c.spec.Hostname)
			}
		})
	}
}

// TestExecUser: --user and --additional-gids, numeric as runc takes them.
func TestExecUser(t *testing.T) {
	c, _ := runningCtr(t, nil)
	for _, tc := range []struct {
		flags []string
		want  string
	}{
		{[]string{"-u", "1000:1000", "-g", "10", "-g", "20"}, "1000 1000 10 20"},
		{[]string{"--user", "1000:1000", "--additional-gids", "10"}, "1000 1000 10"},
		{[]string{"-u", "1000"}, "1000 0"},
		{[]string{"-u", "0:5"}, "0 5"},
		{nil, "0 0"},
	} {
		t.Run(strings.Join(tc.flags, " "), func(t *testing.T) {
			// Supplementary groups from /proc: `id -G` adds the gid itself.
			out := c.mustExec(tc.flags, "sh", "-c", `echo $(id -u) $(id -g) $(grep Groups /proc/self/status | cut -f2)`)
			if got := strings.Join(strings.Fields(out), " "); got != tc.want {
				t.Errorf("uid, gid, groups: %q, want %q", got, tc.want)
			}
		})
	}
}

// TestExecEnvCwd: --env adds or replaces variables of the config's
// process; --cwd sets the working directory.
func TestExecEnvCwd(t *testing.T) {
	c, _ := runningCtr(t, func(c *ctr) { c.spec.Process.Env = append(c.spec.Process.Env, "KEEP=kept", "OVER=old") })
	out := c.mustExec([]string{"--cwd", "/tmp", "--env", "FOO=bar", "--env", "OVER=new"},
		"sh", "-c", `pwd; echo "$FOO $KEEP $OVER $HOME"`)
	if want := "/tmp\nbar kept new /root\n"; out != want {
		t.Errorf("cwd and env: %q, want %q", out, want)
	}
	if out := c.mustExec(nil, "pwd"); out != "/\n" {
		t.Errorf("default cwd: %q, want the config's /", out)
	}
}

// TestExecExitCode: foreground exec returns the process's status, 128+N
// for a death by signal N.
func TestExecExitCode(t *testing.T) {
	c, _ := runningCtr(t, nil)
	for _, tc := range []struct {
		script string
		want   int
	}{
		{"exit 0", 0}, {"exit 7", 7}, {"exit 255", 255}, {"kill -9 $$", 137}, {"kill -TERM $$", 143},
	} {
		t.Run(tc.script, func(t *testing.T) {
			if _, stderr, code := c.exec(nil, "sh", "-c", tc.script); code != tc.want {
				t.Errorf("exit %d, want %d; stderr %q", code, tc.want, stderr)
			}
		})
	}
	if st := c.state(); st.Status != specs.StateRunning {
		t.Errorf("container %s after the execs, want running", st.Status)
	}
}

// TestExecForwardsSignal: a signal sent to the foreground `tupper exec`
// reaches the process, whose exit code comes back.
func TestExecForwardsSignal(t *testing.T) {
	c, _ := runningCtr(t, nil)
	b := tupperBackground(t, c.opts(), "exec", c.id, "sh", "-c", `trap "exit 42" TERM; echo ready; while :; do sleep 0.1; done`)
	b.waitOutput(t, "ready")
	if err := b.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := b.wait(t); code != 42 {
		t.Errorf("exit %d after SIGTERM, want the trap's 42; stderr %q", code, readFile(t, b.errPath))
	}
}

// consoleListener listens on a new console socket and returns its path and
// a channel that receives the pty master sent on it.
func consoleListener(t *testing.T) (string, <-chan *os.File) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "console.sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	got := make(chan *os.File, 1)
	go func() {
		f, err := receiveFd(l)
		if err != nil {
			t.Errorf("console socket: %v", err)
			f = nil
		}
		got <- f
	}()
	return sock, got
}

// readPty reads the master until the last slave fd closes (EIO).
func readPty(t *testing.T, got <-chan *os.File) string {
	t.Helper()
	var master *os.File
	select {
	case master = <-got:
	case <-time.After(cmdTimeout):
		t.Fatal("no pty master arrived on the console socket")
	}
	if master == nil {
		t.FailNow()
	}
	defer master.Close()
	return strings.ReplaceAll(readMaster(t, master), "\r\n", "\n")
}

const ttyProbe = "test -t 0 && test -t 1 && test -t 2 && echo tty-ok; tty"

// TestExecTTY: exec --tty --console-socket, in the foreground, sends the
// pty master and runs the process on the pty; its exit code comes back.
func TestExecTTY(t *testing.T) {
	c, _ := runningCtr(t, nil)
	sock, got := consoleListener(t)
	done := make(chan int, 1)
	var stderr string
	go func() {
		var code int
		_, stderr, code = c.exec([]string{"--tty", "--console-socket", sock}, "sh", "-c", ttyProbe+"; exit 3")
		done <- code
	}()
	text := readPty(t, got)
	if code := <-done; code != 3 {
		t.Errorf("exec --tty: exit %d, want 3; stderr %q", code, stderr)
	}
	if !strings.Contains(text, "tty-ok\n/dev/pts/") {
		t.Errorf("output through the pty: %q, want tty-ok and a /dev/pts name", text)
	}
}

// TestExecDetach: the calls containerd's shim and conmon make. The pid
// file holds a live pid in the container's cgroup and in its ps.
func TestExecDetach(t *testing.T) {
	for _, tc := range []struct {
		name string
		tty  bool
		args func(proc, pidFile, sock, log, id string) []string
	}{
		{"containerd", false, func(proc, pidFile, _, _, id string) []string {
			return []string{"exec", "--process", proc, "--detach", "--pid-file", pidFile, id}
		}},
		{"containerd tty", true, func(proc, pidFile, sock, _, id string) []string {
			return []string{"exec", "--process", proc, "--console-socket", sock, "--detach", "--pid-file", pidFile, id}
		}},
		{"podman", false, func(proc, pidFile, _, log, id string) []string {
			return []string{"--log-format=json", "--log", log, "exec", "--pid-file", pidFile, "--process", proc, "--detach", id}
		}},
		{"podman tty", true, func(proc, pidFile, sock, log, id string) []string {
			return []string{"--log-format=json", "--log", log, "exec", "--pid-file", pidFile, "--process", proc, "--detach", "--tty", "--console-socket", sock, id}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := runningCtr(t, nil)
			dir := t.TempDir()
			args := []string{"sh", "-c", "echo started; exec sleep 1000"}
			if tc.tty {
				args = []string{"sh", "-c", ttyProbe + "; exec sleep 1000"}
			}
			proc := writeProcess(t, &specs.Process{Terminal: tc.tty, Args: args, Cwd: "/", Env: c.spec.Process.Env})
			pidFile, log := filepath.Join(dir, "exec.pid"), filepath.Join(dir, "log.json")
			o := c.opts()
			o.stdout = filepath.Join(dir, "stdout") // the detached process's, too
			var sock string
			var got <-chan *os.File
			if tc.tty {
				sock, got = consoleListener(t)
			}
			_, stderr, code := tupperWith(t, o, tc.args(proc, pidFile, sock, log, c.id)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			pid := readPidFile(t, pidFile)
			checkCgroup(t, pid, cgroupParent+"/"+c.key)
			if !slices.Contains(c.psJSON(), pid) {
				t.Errorf("ps of the container %v lacks the exec'd pid %d", c.psJSON(), pid)
			}
			if tc.tty {
				var master *os.File
				select {
				case master = <-got:
				case <-time.After(cmdTimeout):
					t.Fatal("no pty master arrived")
				}
				if master == nil {
					t.FailNow()
				}
				defer master.Close()
				buf := make([]byte, 512)
				master.SetReadDeadline(time.Now().Add(cmdTimeout))
				var text string
				for !strings.Contains(text, "/dev/pts/") {
					n, err := master.Read(buf)
					if err != nil {
						t.Fatalf("read pty master: %v (so far %q)", err, text)
					}
					text += string(buf[:n])
				}
				if !strings.Contains(text, "tty-ok") {
					t.Errorf("output through the pty: %q, want tty-ok", text)
				}
			} else if !eventually(func() bool { return strings.Contains(readFile(t, o.stdout), "started") }) {
				t.Errorf("the detached process's stdout never reached the caller's: %q", readFile(t, o.stdout))
			}
			c.must("kill", nil, "9")
			c.waitStatus(specs.StateStopped)
			if !eventually(func() bool { return !alive(pid) }) {
				t.Errorf("exec'd process %d survived the container's init", pid)
			}
		})
	}
}

// TestExecProcessFile: --process takes the whole process from the file,
// not from the config: args, env, cwd, user, capabilities.
func TestExecProcessFile(t *testing.T) {
	c, _ := runningCtr(t, func(c *ctr) { c.spec.Process.Env = append(c.spec.Process.Env, "KEEP=config") })
	proc := writeProcess(t, &specs.Process{
		Args: []string{"sh", "-c", `echo "$(id -u):$(id -g) $(pwd) $ONLY $KEEP"; grep CapEff /proc/self/status`},
		Env:  []string{"PATH=/bin:/usr/bin", "ONLY=file"},
		Cwd:  "/etc",
		User: specs.User{UID: 1000, GID: 1001},
		Capabilities: &specs.LinuxCapabilities{
			Bounding: []string{"CAP_KILL"}, Effective: []string{"CAP_KILL"}, Permitted: []string{"CAP_KILL"},
			Ambient: []string{"CAP_KILL"}, Inheritable: []string{"CAP_KILL"},
		},
	})
	out := c.mustExec([]string{"--process", proc})
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || lines[0] != "1000:1001 /etc file " {
		t.Errorf("process file: %q, want 1000:1001 /etc file and no variable of the config", lines)
	}
	if len(lines) == 2 && !strings.HasSuffix(lines[1], "0000000000000020") {
		t.Errorf("process file: %q, want CAP_KILL (bit 5) effective as an ambient capability", lines[1])
	}
	if out := c.mustExec([]string{"-p", proc}); !strings.HasPrefix(out, "1000:1001") {
		t.Errorf("exec -p: %q", out)
	}
}

// TestExecInCgroupAndPs: a running exec'd process is listed by ps and in
// the container's cgroup.procs, and leaves them when it ends.
func TestExecInCgroupAndPs(t *testing.T) {
	c, pid := runningCtr(t, nil)
	pidFile := filepath.Join(t.TempDir(), "pid")
	c.mustExec([]string{"--detach", "--pid-file", pidFile}, "sleep", "1000")
	execPid := readPidFile(t, pidFile)
	if got := c.cgroupProcs(); !slices.Contains(got, execPid) || !slices.Contains(got, pid) {
		t.Errorf("cgroup.procs %v, want the init %d and the exec'd %d", got, pid, execPid)
	}
	if got := c.psJSON(); !slices.Contains(got, execPid) {
		t.Errorf("ps %v lacks the exec'd %d", got, execPid)
	}
	if err := syscall.Kill(execPid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if !eventually(func() bool { return !slices.Contains(c.cgroupProcs(), execPid) }) {
		t.Errorf("killed exec'd process %d still in cgroup.procs", execPid)
	}
	if st := c.state(); st.Status != specs.StateRunning {
		t.Errorf("container %s after its exec'd process died, want running", st.Status)
	}
}

// capEff reads the effective capability set of the exec'd shell.
func capEff(t *testing.T, c *ctr, flags ...string) (uint64, string) {
	t.Helper()
	f := statusFields(c.mustExec(flags, "cat", "/proc/self/status"))
	eff, err := strconv.ParseUint(f["CapEff"], 16, 64)
	if err != nil {
		t.Fatalf("CapEff %q: %v", f["CapEff"], err)
	}
	return eff, f["NoNewPrivs"]
}

// TestExecCapNoNewPrivs: --cap adds to the config's capabilities;
// --no-new-privs sets the flag the config leaves off.
func TestExecCapNoNewPrivs(t *testing.T) {
	const sysAdmin, netAdmin = 21, 12
	c, _ := runningCtr(t, func(c *ctr) { c.spec.Process.NoNewPrivileges = false })
	base, nnp := capEff(t, c)
	if base&(1<<sysAdmin) != 0 || nnp != "0" {
		t.Fatalf("without flags: CapEff %#x NoNewPrivs %s; want no CAP_SYS_ADMIN and 0", base, nnp)
	}
	for _, flags := range [][]string{{"--cap", "CAP_SYS_ADMIN"}, {"-c", "CAP_SYS_ADMIN"}} {
		if eff, _ := capEff(t, c, flags...); eff != base|1<<sysAdmin {
			t.Errorf("%s: CapEff %#x, want %#x", flags, eff, base|1<<sysAdmin)
		}
	}
	if eff, _ := capEff(t, c, "--cap", "CAP_SYS_ADMIN", "--cap", "CAP_NET_ADMIN"); eff != base|1<<sysAdmin|1<<netAdmin {
		t.Errorf("two --cap: CapEff %#x, want %#x", eff, base|1<<sysAdmin|1<<netAdmin)
	}
	if _, nnp := capEff(t, c, "--no-new-privs"); nnp != "1" {
		t.Errorf("--no-new-privs: NoNewPrivs %s, want 1", nnp)
	}
}

// TestExecSubCgroup: --cgroup runs the process in a sub-cgroup of the
// container's, made beforehand in every hierarchy.
func TestExecSubCgroup(t *testing.T) {
	c, _ := runningCtr(t, nil)
	for _, dir := range c.cgroupDirs() {
		sub := filepath.Join(dir, "sub")
		if err := os.Mkdir(sub, 0o755); err != nil {
			t.Fatal(err)
		}
		// A v1 cpuset cgroup takes no task until it has cpus and mems.
		for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
			if b, err := os.ReadFile(filepath.Join(dir, f)); err == nil {
				if err := os.WriteFile(filepath.Join(sub, f), b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	pidFile := filepath.Join(t.TempDir(), "pid")
	c.mustExec([]string{"--cgroup", "sub", "--detach", "--pid-file", pidFile}, "sleep", "1000")
	pid := readPidFile(t, pidFile)
	checkCgroup(t, pid, cgroupParent+"/"+c.key+"/sub")
	_, stderr, code := c.exec([]string{"--cgroup", "nosuch"}, "true")
	if code == 0 {
		t.Errorf("exec --cgroup into a missing sub-cgroup succeeded")
	} else if !strings.Contains(stderr, "nosuch") {
		t.Errorf("exec --cgroup nosuch: stderr %q does not name the cgroup", stderr)
	}
}

// cgroupDirs lists the container's cgroup directory in every hierarchy.
func (c *ctr) cgroupDirs() []string {
	c.t.Helper()
	dirs := fixture.CgroupDirs(cgroupParent + "/" + c.key)
	if len(dirs) == 0 {
		c.t.Fatalf("container %s has no cgroup directory", c.id)
	}
	return dirs
}
