package clients

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tupper-runtime/tupper/tests/internal/fixture"
)

// dockerCLI is the client that Debian's docker.io ships with dockerd. A newer
// docker earlier in PATH (this machine image has one in /usr/local/bin) would
// negotiate the API down too, but the tests pin the pair they document.
const dockerCLI = "/usr/bin/docker"

// dockerCgroup is the --cgroup-parent of the test's dockerd.
const dockerCgroup = cgroupParent + "/docker"

// TestDocker starts a dockerd of its own with tupper registered as a runtime
// (and made the default), and checks Docker's run, exec, update, pause, stop,
// kill and rm from inside the containers and in the calls tupper got.
func TestDocker(t *testing.T) {
	needBinaries(t, "dockerd", "containerd", "containerd-shim-runc-v2", "mount", "iptables-save", dockerCLI)
	before := dockerHostState()
	t.Cleanup(func() {
		checkHost(t, dockerCgroup)
		after := dockerHostState()
		for _, k := range slices.Sorted(maps.Keys(before)) {
			if before[k] != after[k] {
				t.Errorf("dockerd changed the host's %s:\nbefore: %s\nafter:  %s", k, before[k], after[k])
			}
		}
	})
	d := startDockerd(t)
	d.mustDocker(t, "import", rootfsTar, "busybox:local")

	t.Run("run", func(t *testing.T) {
		id, out, stderr, code := d.run(t, []string{"--runtime", "tupper"},
			"sh", "-c", "echo to-stdout; echo to-stderr >&2; cat /proc/self/cgroup; exit 7")
		if code != 7 {
			t.Errorf("exit code %d, want 7 (stderr %q)", code, stderr)
		}
		if !strings.Contains(out, "to-stdout") || !strings.Contains(stderr, "to-stderr") {
			t.Errorf("stdout %q, stderr %q: want to-stdout and to-stderr apart", out, stderr)
		}
		if want := ":memory:" + dockerCgroup + "/" + id + "\n"; !strings.Contains(out, want) {
			t.Errorf("/proc/self/cgroup in the container:\n%s\nwant a line ending %q", out, want)
		}
		for _, verb := range []string{"create", "start", "delete"} {
			if len(calls(verb, id)) == 0 {
				t.Errorf("tupper got no %s call for %s; calls:\n%s", verb, id, strings.Join(calls(id), "\n"))
			}
		}
		for _, c := range calls(id) {
			if !strings.Contains(c, "--log-format json") || !strings.Contains(c, "--root "+d.dir) {
				t.Errorf("call without containerd's global flags: %s", c)
			}
		}
	})

	t.Run("default runtime", func(t *testing.T) {
		id, out, _, code := d.run(t, nil, "echo", "by-default")
		if code != 0 || strings.TrimSpace(out) != "by-default" {
			t.Errorf("docker run without --runtime: exit %d, output %q", code, out)
		}
		if len(calls("create", id)) == 0 {
			t.Errorf("default-runtime tupper: tupper got no create call for %s", id)
		}
		info := d.mustDocker(t, "info", "--format", "{{.DefaultRuntime}} {{.RuncCommit.ID}}")
		v, err := exec.Command(realTupper, "--version").Output()
		if err != nil {
			t.Fatal(err)
		}
		_, commit, _ := strings.Cut(string(v), "commit: ")
		commit, _, _ = strings.Cut(commit, "\n")
		// dockerd asks the default runtime for its --version and shows the
		// "commit:" line as the runc commit.
		if want := strings.TrimSpace("tupper " + commit); strings.TrimSpace(info) != want {
			t.Errorf("docker info: %q, want %q", info, want)
		}
		if len(calls("--version")) == 0 {
			t.Error("tupper got no --version call from docker info")
		}
	})

	t.Run("runtimeArgs", func(t *testing.T) {
		id, out, stderr, code := d.run(t, []string{"--runtime", "tupper-debug"}, "echo", "with-args")
		if code != 0 || strings.TrimSpace(out) != "with-args" {
			t.Fatalf("exit %d, output %q, stderr %q", code, out, stderr)
		}
		cs := calls(id)
		if len(cs) == 0 {
			t.Fatalf("tupper got no call for %s", id)
		}
		for _, c := range cs {
			if !strings.HasPrefix(c, "--debug ") {
				t.Errorf("runtimeArgs [\"--debug\"] not first in: %s", c)
			}
		}
	})

	t.Run("exec", func(t *testing.T) {
		id := d.start(t, []string{"-e", "FROM_RUN=run-env"}, "sleep 1000")
		out, stderr, code := d.docker(t, "exec", "-e", "FROM_EXEC=exec-env", "-w", "/tmp", "-u", "65534", id,
			"sh", "-c", `echo "$FROM_RUN $FROM_EXEC $(pwd) $(id -u)"; exit 3`)
		if code != 3 {
			t.Errorf("exit code %d, want 3 (stderr %q)", code, stderr)
		}
		if want := "run-env exec-env /tmp 65534"; strings.TrimSpace(out) != want {
			t.Errorf("output %q, want %q", out, want)
		}
		if len(calls("exec --process", "--detach", id)) == 0 {
			t.Errorf("tupper got no exec call for %s; calls:\n%s", id, strings.Join(calls(id), "\n"))
		}
		// Docker maps any failure to start an exec to 126, with runc as well,
		// and prints the runtime's error on stdout.
		out, stderr, code = d.docker(t, "exec", id, "no-such-command")
		if code != 126 || !strings.Contains(out+stderr, "executable file not found") {
			t.Errorf("exec of a missing command: exit %d, output %q; want 126, executable file not found", code, out+stderr)
		}
	})

	t.Run("exec tty", func(t *testing.T) {
		id := d.start(t, nil, "sleep 1000")
		// tty checks that the shell's stdin is the container's pty.
		out := d.dockerInPty(t, 33, 101, "exec", "-it", id, "sh", "-c", dockerTTYScript)
		if !strings.Contains(out, "/dev/pts/") || !strings.Contains(out, "size 33 101") {
			t.Errorf("docker exec -it: %q, want /dev/pts/N and the size 33 101", out)
		}
		if len(calls("exec", "--console-socket", id)) == 0 {
			t.Errorf("tupper got no exec call with --console-socket for %s", id)
		}
	})

	t.Run("run tty", func(t *testing.T) {
		cid := filepath.Join(t.TempDir(), "cid")
		out := d.dockerInPty(t, 20, 70, "run", "--rm", "-it", "--cidfile", cid, "--runtime", "tupper", "--network", "none",
			"busybox:local", "sh", "-c", dockerTTYScript)
		if !strings.Contains(out, "/dev/pts/") || !strings.Contains(out, "size 20 70") {
			t.Errorf("docker run -it: %q, want /dev/pts/N and the size 20 70", out)
		}
		id, _ := os.ReadFile(cid)
		if len(calls("create", "--console-socket", string(id))) == 0 {
			t.Errorf("tupper got no create call with --console-socket for %s", id)
		}
	})

	t.Run("update", func(t *testing.T) {
		id := d.start(t, nil, "sleep 1000")
		// dockerd refuses --memory alone on a container that has no limit
		// yet ("should be smaller than already set memoryswap"), with runc too.
		d.mustDocker(t, "update", "--memory", "64m", "--memory-swap", "64m", "--pids-limit", "50", id)
		if len(calls("update --resources -", id)) == 0 {
			t.Errorf("tupper got no update call for %s", id)
		}
		inside := d.mustDocker(t, "exec", id, "cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/pids/pids.max")
		if got := strings.Fields(inside); !slices.Equal(got, []string{"67108864", "50"}) {
			t.Errorf("memory and pids limits in the container: %q, want 67108864 and 50", got)
		}
		cg := dockerCgroup + "/" + id
		for file, want := range map[string]string{"memory.limit_in_bytes": "67108864", "pids.max": "50"} {
			if got := dockerReadCgroup(t, cg, file); got != want {
				t.Errorf("%s of %s: %q, want %q", file, cg, got, want)
			}
		}
	})

	t.Run("pause", func(t *testing.T) {
		id := d.start(t, nil, "i=0; while :; do i=$((i+1)); echo $i > /tmp/count; sleep 0.1; done")
		cg := dockerCgroup + "/" + id
		d.mustDocker(t, "pause", id)
		if s := d.status(t, id); s != "paused" {
			t.Errorf("status after pause %q, want paused", s)
		}
		if s := dockerReadCgroup(t, cg, "freezer.state"); s != "FROZEN" {
			t.Errorf("freezer.state %q, want FROZEN", s)
		}
		procs := strings.Fields(dockerReadCgroup(t, cg, "cgroup.procs"))
		if len(procs) == 0 {
			t.Fatal("no process in the container's cgroup")
		}
		for _, p := range procs {
			// A frozen task shows as D (uninterruptible) in /proc.
			if st := dockerProcState(p); st != "D" {
				t.Errorf("process %s of the paused container is in state %q, want D", p, st)
			}
		}
		count := func() string {
			b, _ := os.ReadFile("/proc/" + d.pid(t, id) + "/root/tmp/count")
			return strings.TrimSpace(string(b))
		}
		frozen := count()
		if len(calls("pause", id)) == 0 {
			t.Errorf("tupper got no pause call for %s", id)
		}
		d.mustDocker(t, "unpause", id)
		if s := d.status(t, id); s != "running" {
			t.Errorf("status after unpause %q, want running", s)
		}
		if s := dockerReadCgroup(t, cg, "freezer.state"); s != "THAWED" {
			t.Errorf("freezer.state %q, want THAWED", s)
		}
		if !dockerEventually(func() bool { return count() != frozen }) {
			t.Errorf("the counter stayed at %q after unpause", frozen)
		}
		if len(calls("resume", id)) == 0 {
			t.Errorf("tupper got no resume call for %s", id)
		}
	})

	t.Run("kill and stop", func(t *testing.T) {
		id := d.start(t, nil, `trap "echo got-usr1" USR1; trap "echo got-term; exit 5" TERM; while :; do sleep 0.1; done`)
		d.mustDocker(t, "kill", "-s", "USR1", id)
		if !dockerEventually(func() bool { return strings.Contains(d.mustDocker(t, "logs", id), "got-usr1") }) {
			t.Errorf("the container's USR1 trap did not run; logs: %q", d.mustDocker(t, "logs", id))
		}
		if len(calls("kill", id+" 10")) == 0 {
			t.Errorf("tupper got no kill %s 10 call", id)
		}
		d.mustDocker(t, "stop", "-t", "1", id)
		st := d.mustDocker(t, "inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", id)
		if strings.TrimSpace(st) != "exited 5" {
			t.Errorf("after docker stop: %q, want exited 5 (the TERM trap's code)", st)
		}
		if !strings.Contains(d.mustDocker(t, "logs", id), "got-term") {
			t.Error("the container's TERM trap did not run")
		}
		if len(calls("kill", id+" 15")) == 0 {
			t.Errorf("tupper got no kill %s 15 call", id)
		}
		d.mustBeGone(t, id)
	})

	t.Run("rm -f", func(t *testing.T) {
		id := d.start(t, nil, "sleep 1000")
		d.mustDocker(t, "rm", "-f", id)
		if ids := d.mustDocker(t, "ps", "-aq", "--no-trunc"); strings.Contains(ids, id) {
			t.Errorf("docker ps -a still lists %s", id)
		}
		if len(calls("kill", id+" 9")) == 0 {
			t.Errorf("tupper got no kill %s 9 call", id)
		}
		d.mustBeGone(t, id)
	})

	t.Run("missing executable", func(t *testing.T) {
		for _, tc := range []struct {
			cmd  string
			code int
			msg  string // dockerd picks the exit code by this text in the runtime's error
		}{
			{"no-such-command", 127, "executable file not found"},
			{"/no/such/file", 127, "no such file or directory"},
			{"/etc/passwd", 126, "permission denied"},
		} {
			t.Run(tc.cmd, func(t *testing.T) {
				id, _, stderr, code := d.run(t, []string{"--runtime", "tupper"}, tc.cmd)
				if code != tc.code || !strings.Contains(stderr, tc.msg) {
					t.Errorf("docker run %s: exit %d, stderr %q; want %d and %q", tc.cmd, code, stderr, tc.code, tc.msg)
				}
				if len(calls("create", id)) == 0 {
					t.Errorf("tupper got no create call for %s", id)
				}
			})
		}
	})
}

// dockerTTYScript prints the name of its terminal and the terminal's size. The
// docker client sets the size of the container's pty to that of its own
// terminal only once the process has started, so the script waits for it (up
// to 10 s). busybox's stty exits 0 even when it finds no size.
const dockerTTYScript = `tty; i=0; s=; while [ -z "$s" ] && [ $i -lt 100 ]; do s=$(stty size 2>/dev/null) || true; [ -n "$s" ] || sleep 0.1; i=$((i+1)); done; echo "size $s"`

// dockerd is a daemon of the test's own: its data, state, sockets and logs
// all live in dir.
type dockerd struct {
	dir    string
	sock   string
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has been waited for
}

// startDockerd starts dockerd with tupper's wrapper as the runtimes "tupper"
// (the default) and "tupper-debug" (with runtimeArgs), and waits for its
// socket. Cleanup removes its containers, stops it and whatever it left.
func startDockerd(t *testing.T) *dockerd {
	t.Helper()
	d := &dockerd{dir: filepath.Join(tmpDir, "docker"), exited: make(chan struct{})}
	d.sock = filepath.Join(d.dir, "docker.sock")
	host := filepath.Join(d.dir, "host")
	for _, sub := range []string{"run", "etc-docker", "opt", "tmp"} {
		if err := os.MkdirAll(filepath.Join(host, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	conf, err := json.Marshal(map[string]any{
		"runtimes": map[string]any{
			"tupper":       map[string]any{"path": tupperWrapper},
			"tupper-debug": map[string]any{"path": tupperWrapper, "runtimeArgs": []string{"--debug"}},
		},
		"default-runtime": "tupper",
	})
	if err != nil {
		t.Fatal(err)
	}
	confFile := filepath.Join(d.dir, "daemon.json")
	if err := os.WriteFile(confFile, conf, 0o644); err != nil {
		t.Fatal(err)
	}
	// dockerd 20.10 and the containerd it starts write to some host paths
	// whatever their flags say: /run/docker/plugins (the plugin exec root),
	// /etc/docker/key.json (the engine's identity), /opt/containerd (the opt
	// plugin) and /run/containerd/s (the shims' sockets). So dockerd runs in
	// a mount namespace of its own where directories of the test's are bound
	// over /run, /etc/docker and /opt.
	binds := []bindMount{
		{filepath.Join(host, "run"), "/run"},
		{filepath.Join(host, "etc-docker"), "/etc/docker"},
		{filepath.Join(host, "opt"), "/opt"},
	}
	d.cmd, err = commandWithBinds(binds, "dockerd",
		"--config-file", confFile,
		"--data-root", filepath.Join(d.dir, "data"),
		"--exec-root", filepath.Join(d.dir, "exec"),
		"--pidfile", filepath.Join(d.dir, "docker.pid"),
		"-H", "unix://"+d.sock,
		"--storage-driver", "vfs",
		// No change to the host's network: no bridge, no iptables rules, no
		// ip_forward sysctl.
		"--bridge", "none", "--iptables=false", "--ip-masq=false", "--ip-forward=false",
		"--cgroup-parent", dockerCgroup,
		"--exec-opt", "native.cgroupdriver=cgroupfs",
	)
	if err != nil {
		t.Fatal(err)
	}
	log, err := os.Create(filepath.Join(d.dir, "dockerd.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	d.cmd.Stdout, d.cmd.Stderr = log, log
	d.cmd.Env = append(os.Environ(), "TMPDIR="+filepath.Join(host, "tmp"))
	if err := d.cmd.Start(); err != nil {
		t.Fatalf("start dockerd: %v", err)
	}
	go func() {
		d.cmd.Wait()
		close(d.exited)
	}()
	t.Cleanup(func() { d.stop(t) })

	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		select {
		case <-d.exited:
			t.Fatalf("dockerd exited: %v\n%s", d.cmd.ProcessState, d.logTail())
		default:
		}
		if _, _, code := d.docker(t, "version"); code == 0 {
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("dockerd did not answer on %s within a minute\n%s", d.sock, d.logTail())
		}
	}
}

// stop removes every container, stops dockerd, ends the containerd and
// shims it may have left (found by d.dir on their command line), checks that
// no mount under d.dir leaked out of its namespace and removes d.dir.
func (d *dockerd) stop(t *testing.T) {
	select {
	case <-d.exited:
	default:
		if ids, _, code := d.docker(t, "ps", "-aq", "--no-trunc"); code == 0 {
			for _, id := range strings.Fields(ids) {
				if _, stderr, code := d.docker(t, "rm", "-f", id); code != 0 {
					t.Errorf("cleanup: docker rm -f %s: %s", id, stderr)
				}
			}
		}
		d.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-d.exited:
		case <-time.After(60 * time.Second):
			t.Errorf("dockerd did not stop within a minute of SIGTERM; killing it")
			d.cmd.Process.Kill()
			<-d.exited
		}
	}
	if t.Failed() {
		t.Logf("dockerd's log ends:\n%s", d.logTail())
	}
	// dockerd stops its containerd before it exits, and each shim exits
	// once its container is deleted, but give them a moment.
	dockerEventually(func() bool { return len(fixture.ProcsMatching(d.dir)) == 0 })
	for _, pid := range fixture.ProcsMatching(d.dir) {
		t.Errorf("cleanup: process %d was left running: %s", pid, fixture.Cmdline(pid))
		syscall.Kill(pid, syscall.SIGKILL)
	}
	for _, m := range dockerMountsUnder(d.dir) {
		t.Errorf("cleanup: mount %s leaked out of dockerd's mount namespace", m)
		unix.Unmount(m, unix.MNT_DETACH)
	}
	if err := os.RemoveAll(d.dir); err != nil {
		t.Errorf("cleanup: %v", err)
	}
}

// docker runs the client against d and returns its stdout, stderr and exit
// code (-1 when it could not run or was killed after two minutes).
func (d *dockerd) docker(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := d.command(ctx, args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		code = exit.ExitCode()
	default:
		t.Errorf("docker %s: %v", strings.Join(args, " "), err)
		code = -1
	}
	return out.String(), errOut.String(), code
}

func (d *dockerd) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, dockerCLI, append([]string{"-H", "unix://" + d.sock}, args...)...)
	// The client's own config stays in the test's directory, not in ~/.docker.
	cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+filepath.Join(d.dir, "cli"))
	return cmd
}

// mustDocker is docker that fails the test on a non-zero exit.
func (d *dockerd) mustDocker(t *testing.T, args ...string) string {
	t.Helper()
	out, stderr, code := d.docker(t, args...)
	if code != 0 {
		t.Fatalf("docker %s: exit %d: %s", strings.Join(args, " "), code, stderr)
	}
	return out
}

// run runs a container of busybox:local without network, in the foreground,
// with --rm, and returns its id (read from --cidfile, so known even when the
// run failed after create) with docker's output and exit code.
func (d *dockerd) run(t *testing.T, opts []string, cmd ...string) (id, stdout, stderr string, code int) {
	t.Helper()
	cid := filepath.Join(t.TempDir(), "cid")
	args := append([]string{"run", "--rm", "--cidfile", cid, "--network", "none"}, opts...)
	stdout, stderr, code = d.docker(t, append(append(args, "busybox:local"), cmd...)...)
	b, err := os.ReadFile(cid)
	if err != nil {
		t.Fatalf("docker run did not write its container id: %v (exit %d, stderr %q)", err, code, stderr)
	}
	return string(b), stdout, stderr, code
}

// start starts a container of busybox:local with tupper in the background,
// running script with sh -c, and removes it at cleanup.
func (d *dockerd) start(t *testing.T, opts []string, script string) string {
	t.Helper()
	args := append([]string{"run", "-d", "--runtime", "tupper", "--network", "none"}, opts...)
	id := strings.TrimSpace(d.mustDocker(t, append(args, "busybox:local", "sh", "-c", script)...))
	t.Cleanup(func() { d.docker(t, "rm", "-f", id) })
	return id
}

func (d *dockerd) status(t *testing.T, id string) string {
	return strings.TrimSpace(d.mustDocker(t, "inspect", "-f", "{{.State.Status}}", id))
}

func (d *dockerd) pid(t *testing.T, id string) string {
	return strings.TrimSpace(d.mustDocker(t, "inspect", "-f", "{{.State.Pid}}", id))
}

// mustBeGone checks, once docker has stopped or removed container id, that
// tupper deleted it: its state under tupper's --root and its cgroup are gone.
// The shim deletes the container after docker's stop has returned, so this
// waits a little for it.
func (d *dockerd) mustBeGone(t *testing.T, id string) {
	t.Helper()
	stateDir := filepath.Join(d.dir, "exec", "runtime-runc", "moby", id)
	gone := func() bool {
		_, err := os.Stat(stateDir)
		return errors.Is(err, os.ErrNotExist) && len(fixture.CgroupDirs(dockerCgroup+"/"+id)) == 0
	}
	if !dockerEventually(gone) {
		t.Errorf("container %s: state %s or cgroups %q left behind", id, stateDir, fixture.CgroupDirs(dockerCgroup+"/"+id))
	}
	if len(calls("delete", id)) == 0 {
		t.Errorf("tupper got no delete call for %s", id)
	}
}

// dockerInPty runs the client with a new pty of rows x cols as its
// controlling terminal, stdin and stdout, as a terminal emulator would, and
// returns what it wrote, with \r\n turned into \n.
func (d *dockerd) dockerInPty(t *testing.T, rows, cols uint16, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, code := runInPty(t, d.command(ctx, args...), rows, cols)
	if code != 0 {
		t.Errorf("docker %s: exit %d; output %q", strings.Join(args, " "), code, out)
	}
	return out
}

func (d *dockerd) logTail() string {
	b, _ := os.ReadFile(filepath.Join(d.dir, "dockerd.log"))
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-40):], "\n")
}

// dockerReadCgroup returns the trimmed content of file in the cgroup path rel, from
// whichever hierarchy has it.
func dockerReadCgroup(t *testing.T, rel, file string) string {
	t.Helper()
	for _, dir := range fixture.CgroupDirs(rel) {
		if b, err := os.ReadFile(filepath.Join(dir, file)); err == nil {
			return strings.TrimSpace(string(b))
		}
	}
	t.Errorf("no cgroup %s has %s", rel, file)
	return ""
}

// dockerProcState is the state letter of process pid (R, S, D, ...).
func dockerProcState(pid string) string {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return err.Error()
	}
	// "pid (comm) S ...": comm may hold spaces and parentheses.
	_, rest, _ := strings.Cut(string(b), ") ")
	st, _, _ := strings.Cut(rest, " ")
	return st
}

// dockerEventually polls cond for up to 20 seconds.
func dockerEventually(cond func() bool) bool {
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}

// dockerHostState describes the host paths and settings that dockerd would
// change if it escaped its flags: its default stores and socket, the
// directories masked in its mount namespace, the firewall and ip_forward.
func dockerHostState() map[string]string {
	state := map[string]string{}
	for _, p := range []string{"/var/lib/docker", "/run/docker", "/run/docker.sock", "/etc/docker", "/opt/containerd", "/sys/class/net/docker0"} {
		state[p] = dockerListTree(p)
	}
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_forward")
	state["net.ipv4.ip_forward"] = strings.TrimSpace(string(b)) + dockerErrNote(err)
	for _, save := range []string{"iptables-save", "ip6tables-save"} {
		out, err := exec.Command(save).CombinedOutput()
		var rules []string
		for _, l := range strings.Split(string(out), "\n") {
			if !strings.HasPrefix(l, "#") { // comments carry the time
				rules = append(rules, l)
			}
		}
		state[save] = strings.Join(rules, "\n") + dockerErrNote(err)
	}
	return state
}

// dockerListTree names every file under p (or says that p is missing).
func dockerListTree(p string) string {
	var names []string
	err := filepath.WalkDir(p, func(path string, _ os.DirEntry, err error) error {
		names = append(names, path)
		return err
	})
	if errors.Is(err, os.ErrNotExist) {
		return "missing"
	}
	return strings.Join(names, " ") + dockerErrNote(err)
}

func dockerErrNote(err error) string {
	if err == nil {
		return ""
	}
	return " (" + err.Error() + ")"
}

// dockerMountsUnder lists the mount points of this mount namespace under dir.
func dockerMountsUnder(dir string) []string {
	b, _ := os.ReadFile("/proc/self/mountinfo")
	var ms []string
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) > 4 && strings.HasPrefix(f[4]+"/", dir+"/") {
			ms = append(ms, f[4])
		}
	}
	return ms
}
