package clients

import (
	"archive/tar"
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tupper-runtime/tupper/tests/internal/fixture"
)

// The containerd tests start their own containerd 1.6 (no CRI plugin) whose
// root, state, socket and shims' temporary files all lie under one directory,
// import a busybox image built here as an OCI archive, and drive it with ctr,
// giving the runc shim (containerd-shim-runc-v2) the tupper wrapper as its
// runtime binary and a runtime root under that directory. containerd and its
// shims run in a mount namespace of their own, with a directory of the test's
// over /run, for the one path the shim will not move; ctr runs in the host's.

const (
	ctrNamespace = "tupper-clients"
	ctrImage     = "localhost/tupper-busybox:latest"
	// ctrTimeout bounds every wait, so that a hung engine fails the test
	// instead of hanging it; nothing is expected to take nearly as long.
	ctrTimeout = time.Minute
	// shimSocketDir is where containerd-shim-runc-v2 1.6 makes its socket
	// whatever containerd's state directory is: the path is compiled in.
	shimSocketDir = "/run/containerd/s"
)

// ctrHostPaths are containerd's default stores on the host, which the test's
// containerd must not create.
var ctrHostPaths = []string{"/run/containerd", "/var/lib/containerd", "/opt/containerd"}

// ctrDaemon is one containerd the tests started.
type ctrDaemon struct {
	dir      string // everything of this containerd's lies under it
	sock     string // its gRPC socket
	state    string // containerd's state directory (bundles live in it)
	runcRoot string // the shim's runc root: tupper's --root is runcRoot/<namespace>
	fifoDir  string // ctr's stdio FIFOs
	tmp      string // TMPDIR of containerd and its shims
	run      string // bound over /run in containerd's mount namespace
	pid      int    // containerd's
	mountNS  string // containerd's mount namespace (readlink /proc/PID/ns/mnt)
}

func TestContainerd(t *testing.T) {
	needBinaries(t, "containerd", "ctr", "containerd-shim-runc-v2", "mount")
	// Registered first, so that it runs last, once containerd has stopped.
	existed := map[string]bool{}
	for _, p := range ctrHostPaths {
		existed[p] = ctrExists(p)
	}
	t.Cleanup(func() {
		for _, p := range ctrHostPaths {
			if !existed[p] && ctrExists(p) {
				t.Errorf("%s exists on the host, and did not before the test: containerd or a shim wrote outside the test's directory", p)
			}
		}
	})
	d := startContainerd(t)
	d.importImage(t)

	t.Run("RunOutput", d.testRunOutput)
	t.Run("ExitCode", d.testExitCode)
	t.Run("UnmanagedRootfs", d.testUnmanagedRootfs)
	t.Run("Cgroups", d.testCgroups)
	t.Run("Tty", d.testTty)
	t.Run("Exec", d.testExec)
	t.Run("Kill", d.testKill)
	t.Run("KillAll", d.testKillAll)
	t.Run("Delete", d.testDelete)
	t.Run("PauseResume", d.testPauseResume)
	t.Run("Ps", d.testPs)
	t.Run("MissingExecutable", d.testMissingExecutable)
}

// testRunOutput: ctr run shows the container's output; the container runs
// from the imported image with its cgroup where ctr put it, and the shim
// called tupper with containerd's global flags for create, start and delete.
func (d *ctrDaemon) testRunOutput(t *testing.T) {
	const id = "run1"
	d.cleanupContainer(t, id)
	out, code := d.ctr(t, d.runArgs(id, "--rm", ctrImage, id, "sh", "-c", "echo hello; cat /etc/hostname; cat /proc/self/cgroup")...)
	if code != 0 {
		t.Fatalf("ctr run: exit code %d, want 0:\n%s", code, out)
	}
	if !strings.Contains(out, "hello\nrootfs\n") {
		t.Errorf("output %q, want hello and the image's /etc/hostname (rootfs)", out)
	}
	ctrCheckCgroupLines(t, out, ctrCgroup(id))

	// The shim calls delete; the delete --force comes from the cleanup that
	// containerd runs once the shim has exited, after ctr run returned.
	ctrWaitFor(t, "the cleanup's delete --force", func() bool {
		return slices.ContainsFunc(ctrCalls(id), func(c ctrCall) bool { return slices.Equal(c.args, []string{"delete", "--force", id}) })
	})
	bundle := d.bundle(id)
	wantGlobal := []string{"--root", filepath.Join(d.runcRoot, ctrNamespace), "--log", filepath.Join(bundle, "log.json"), "--log-format", "json"}
	var verbs []string
	for _, c := range ctrCalls(id) {
		if !slices.Equal(c.global, wantGlobal) {
			t.Errorf("call %q: global flags %q, want %q", c.args, c.global, wantGlobal)
		}
		verbs = append(verbs, c.args[0])
	}
	if want := []string{"create", "start", "delete", "delete"}; !slices.Equal(verbs, want) {
		t.Errorf("tupper's subcommands for %s: %q, want %q", id, verbs, want)
	}
	ctrWantCall(t, id, "create", "--bundle", bundle, "--pid-file", filepath.Join(bundle, "init.pid"), id)
	ctrWantCall(t, id, "start", id)
	ctrWantCall(t, id, "delete", id)
	ctrWantCall(t, id, "delete", "--force", id)
	d.checkGone(t, id)
}

// testExitCode: the container's exit code comes back out of ctr run.
func (d *ctrDaemon) testExitCode(t *testing.T) {
	const id = "exit1"
	d.cleanupContainer(t, id)
	out, code := d.ctr(t, d.runArgs(id, "--rm", ctrImage, id, "sh", "-c", "exit 7")...)
	if code != 7 {
		t.Errorf("ctr run of sh -c 'exit 7': exit code %d, want 7:\n%s", code, out)
	}
	d.checkGone(t, id)
}

// testUnmanagedRootfs: ctr run --rootfs runs a directory that no snapshotter
// manages (a copy of the busybox rootfs, as the container may add mount points).
func (d *ctrDaemon) testUnmanagedRootfs(t *testing.T) {
	const id = "rootfs1"
	dir := filepath.Join(d.dir, "rootfs-copy")
	if b, err := exec.Command("cp", "-a", rootfsDir, dir).CombinedOutput(); err != nil {
		t.Fatalf("copy rootfs: %v: %s", err, b)
	}
	if err := os.WriteFile(filepath.Join(dir, "etc/hostname"), []byte("unmanaged\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d.cleanupContainer(t, id)
	out, code := d.ctr(t, d.runArgs(id, "--rm", "--rootfs", dir, id, "sh", "-c", "cat /etc/hostname; exit 4")...)
	if code != 4 || !strings.Contains(out, "unmanaged\n") {
		t.Errorf("ctr run --rootfs: exit code %d, output %q; want 4 and the directory's /etc/hostname (unmanaged)", code, out)
	}
	ctrWantCall(t, id, "create", "--bundle", d.bundle(id), "--pid-file", "*", id)
	d.checkGone(t, id)
}

// testCgroups: the container's processes are in the cgroup given with
// --cgroup in every hierarchy, not in ctr's default /<namespace>/<id>; the
// shim makes no cgroup of its own and stays in containerd's.
func (d *ctrDaemon) testCgroups(t *testing.T) {
	const id = "cg1"
	d.cleanupContainer(t, id)
	d.mustCtr(t, d.runArgs(id, "-d", ctrImage, id, "sleep", "100000")...)
	pid, status := d.task(t, id)
	if status != "RUNNING" {
		t.Fatalf("task %s: status %q, want RUNNING", id, status)
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		t.Fatal(err)
	}
	ctrCheckCgroupLines(t, string(b), ctrCgroup(id))
	mounts, _ := fixture.CgroupMounts()
	if got := fixture.CgroupDirs(ctrCgroup(id)); len(got) != len(mounts) {
		t.Errorf("cgroup directories for %s: %q, want one in each of %q", ctrCgroup(id), got, mounts)
	}
	if got := fixture.CgroupDirs("/" + ctrNamespace); len(got) != 0 {
		t.Errorf("cgroups at ctr's default place: %q, want none", got)
	}

	shims := d.shimPids(id)
	if len(shims) != 1 {
		t.Fatalf("shim processes for %s: %v, want one", id, shims)
	}
	// The shim's socket is in the directory over containerd's /run, not in
	// the host's.
	if !ctrExists(d.shimSocket(id)) {
		t.Errorf("shim socket %s missing", d.shimSocket(id))
	}
	if hostSock := filepath.Join(shimSocketDir, ctrShimSocketName(d.sock, id)); ctrExists(hostSock) {
		t.Errorf("shim socket %s on the host, want it only in containerd's mount namespace", hostSock)
	}
	if ns, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", shims[0])); ns != d.mountNS {
		t.Errorf("shim's mount namespace %q, want containerd's %q", ns, d.mountNS)
	}
	want, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", d.pid))
	got, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", shims[0]))
	if string(got) != string(want) || len(want) == 0 {
		t.Errorf("shim's cgroups:\n%s\nwant containerd's:\n%s", got, want)
	}
	d.removeTask(t, id)
}

// testTty: ctr run -t gives the container a terminal (the shim passes
// --console-socket to tupper and relays the pty master to ctr's terminal).
func (d *ctrDaemon) testTty(t *testing.T) {
	const id = "tty1"
	d.cleanupContainer(t, id)
	out, code := d.ctrPty(t, d.runArgs(id, "--rm", "-t", ctrImage, id, "sh", "-c", "test -t 0 && test -t 1 && echo tty-yes; tty; exit 3")...)
	out = strings.ReplaceAll(out, "\r", "")
	if code != 3 || !strings.Contains(out, "tty-yes\n/dev/pts/") {
		t.Errorf("ctr run -t: exit code %d, output %q; want 3, stdin and stdout a terminal named /dev/pts/N", code, out)
	}
	ctrWantCall(t, id, "create", "--bundle", "*", "--pid-file", "*", "--console-socket", "*", id)
	d.checkGone(t, id)
}

// testExec: ctr task exec runs a process in the container's namespaces and
// cgroup, with its exit code, with and without a terminal.
func (d *ctrDaemon) testExec(t *testing.T) {
	const id = "exec1"
	d.cleanupContainer(t, id)
	d.mustCtr(t, d.runArgs(id, "-d", ctrImage, id, "sleep", "100000")...)

	out, code := d.ctr(t, "task", "exec", "--fifo-dir", d.fifoDir, "--exec-id", "e1", id,
		"sh", "-c", `tr "\0" " " < /proc/1/cmdline; echo; cat /proc/self/cgroup; exit 5`)
	if code != 5 || !strings.HasPrefix(out, "sleep 100000 \n") {
		t.Errorf("ctr task exec: exit code %d, output %q; want 5 and the container's pid 1 (sleep 100000)", code, out)
	}
	ctrCheckCgroupLines(t, out[strings.Index(out, "\n")+1:], ctrCgroup(id))
	c := ctrWantCall(t, id, "exec", "--process", "*", "--detach", "--pid-file", filepath.Join(d.bundle(id), "e1.pid"), id)
	if c != nil && !strings.HasPrefix(c.args[2], d.tmp+"/") {
		t.Errorf("exec --process %s: want a file in the shim's TMPDIR %s", c.args[2], d.tmp)
	}

	out, code = d.ctrPty(t, "task", "exec", "-t", "--fifo-dir", d.fifoDir, "--exec-id", "e2", id,
		"sh", "-c", "test -t 0 && test -t 1 && echo exec-tty-yes; tty")
	out = strings.ReplaceAll(out, "\r", "")
	if code != 0 || !strings.Contains(out, "exec-tty-yes\n/dev/pts/") {
		t.Errorf("ctr task exec -t: exit code %d, output %q; want 0, stdin and stdout a terminal", code, out)
	}
	ctrWantCall(t, id, "exec", "--process", "*", "--console-socket", "*", "--detach", "--pid-file", filepath.Join(d.bundle(id), "e2.pid"), id)
	d.removeTask(t, id)
}

// testKill: ctr task kill -s delivers the signal to the container's init,
// whose trap ends it with its own exit code.
func (d *ctrDaemon) testKill(t *testing.T) {
	const id = "kill1"
	d.cleanupContainer(t, id)
	p := d.startCtr(t, d.runArgs(id, "--rm", ctrImage, id, "sh", "-c",
		`trap "echo got-usr1; exit 3" USR1; echo ready; while :; do sleep 1; done`)...)
	p.waitLine(t, "ready")
	d.mustCtr(t, "task", "kill", "-s", "SIGUSR1", id)
	out, code := p.wait(t)
	if code != 3 || !strings.Contains(out, "got-usr1\n") {
		t.Errorf("ctr run after kill -s SIGUSR1: exit code %d, output %q; want 3 from the trap", code, out)
	}
	ctrWantCall(t, id, "kill", id, strconv.Itoa(int(syscall.SIGUSR1)))
	d.checkGone(t, id)
}

// testKillAll: ctr task kill -a signals every process of the container, not
// only its init: a child's trap sees the signal too.
func (d *ctrDaemon) testKillAll(t *testing.T) {
	const id = "killall1"
	out := filepath.Join(d.dir, id)
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	d.cleanupContainer(t, id)
	script := `trap "echo init >> /out/got" USR1
sh -c 'trap "echo child >> /out/got" USR1; echo child-ready; while :; do sleep 1; done' &
echo init-ready
while :; do sleep 1; done`
	p := d.startCtr(t, d.runArgs(id, "--rm", "--mount", "type=bind,src="+out+",dst=/out,options=rbind:rw", ctrImage, id, "sh", "-c", script)...)
	p.waitLine(t, "init-ready")
	p.waitLine(t, "child-ready")
	d.mustCtr(t, "task", "kill", "-a", "-s", "SIGUSR1", id)
	got := func() string { b, _ := os.ReadFile(filepath.Join(out, "got")); return string(b) }
	ctrWaitFor(t, "both traps to run", func() bool {
		g := got()
		return strings.Contains(g, "init\n") && strings.Contains(g, "child\n")
	})
	d.mustCtr(t, "task", "kill", "-a", "-s", "SIGKILL", id)
	if text, code := p.wait(t); code != 128+int(syscall.SIGKILL) {
		t.Errorf("ctr run after kill -a -s SIGKILL: exit code %d, want %d:\n%s", code, 128+int(syscall.SIGKILL), text)
	}
	ctrWantCall(t, id, "kill", "--all", id, strconv.Itoa(int(syscall.SIGUSR1)))
	ctrWantCall(t, id, "kill", "--all", id, strconv.Itoa(int(syscall.SIGKILL)))
	d.checkGone(t, id)
}

// testDelete: ctr task delete removes an exited task (tupper delete, its
// state and cgroup gone), and ctr task delete -f kills and removes a running one.
func (d *ctrDaemon) testDelete(t *testing.T) {
	const exited, running = "del1", "del2"
	d.cleanupContainer(t, exited)
	d.cleanupContainer(t, running)

	d.mustCtr(t, d.runArgs(exited, "-d", ctrImage, exited, "true")...)
	ctrWaitFor(t, "the task to stop", func() bool { _, s := d.task(t, exited); return s == "STOPPED" })
	if _, err := os.Stat(filepath.Join(d.runcRoot, ctrNamespace, exited)); err != nil {
		t.Errorf("tupper's state of the stopped container: %v, want it there until delete", err)
	}
	d.mustCtr(t, "task", "delete", exited)
	if _, s := d.task(t, exited); s != "" {
		t.Errorf("task %s after delete: status %q, want no task", exited, s)
	}
	ctrWantCall(t, exited, "delete", exited)
	d.mustCtr(t, "containers", "rm", exited)
	d.checkGone(t, exited)

	d.mustCtr(t, d.runArgs(running, "-d", ctrImage, running, "sleep", "100000")...)
	d.mustCtr(t, "task", "delete", "-f", running)
	ctrWantCall(t, running, "kill", "--all", running, strconv.Itoa(int(syscall.SIGKILL)))
	ctrWantCall(t, running, "delete", running)
	d.mustCtr(t, "containers", "rm", running)
	d.checkGone(t, running)
}

// testPauseResume: ctr task pause freezes every process of the container
// (the task is PAUSED, its freezer frozen, a counter it writes stands still)
// and ctr task resume lets them run on.
func (d *ctrDaemon) testPauseResume(t *testing.T) {
	const id = "pause1"
	out := filepath.Join(d.dir, id)
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	d.cleanupContainer(t, id)
	script := `i=0; while :; do i=$((i+1)); echo $i > /out/n.tmp; mv /out/n.tmp /out/n; sleep 0.05; done`
	d.mustCtr(t, d.runArgs(id, "-d", "--mount", "type=bind,src="+out+",dst=/out,options=rbind:rw", ctrImage, id, "sh", "-c", script)...)
	count := func() string { b, _ := os.ReadFile(filepath.Join(out, "n")); return string(b) }
	ctrWaitFor(t, "the counter to start", func() bool { return count() != "" })

	d.mustCtr(t, "task", "pause", id)
	if _, s := d.task(t, id); s != "PAUSED" {
		t.Errorf("task status after pause: %q, want PAUSED", s)
	}
	ctrCheckFrozen(t, id, true)
	before := count()
	time.Sleep(300 * time.Millisecond) // several turns of the loop, were it running
	if after := count(); after != before {
		t.Errorf("counter moved while paused: %q, then %q", before, after)
	}

	d.mustCtr(t, "task", "resume", id)
	if _, s := d.task(t, id); s != "RUNNING" {
		t.Errorf("task status after resume: %q, want RUNNING", s)
	}
	ctrCheckFrozen(t, id, false)
	ctrWaitFor(t, "the counter to move after resume", func() bool { return count() != before })
	ctrWantCall(t, id, "pause", id)
	ctrWantCall(t, id, "resume", id)
	d.removeTask(t, id)
}

// testPs: ctr task ps lists the pids of the container's processes, those in
// its cgroup.
func (d *ctrDaemon) testPs(t *testing.T) {
	const id = "ps1"
	d.cleanupContainer(t, id)
	d.mustCtr(t, d.runArgs(id, "-d", ctrImage, id, "sh", "-c", "sleep 100000 & sleep 100000 & wait")...)
	var procs []string
	ctrWaitFor(t, "three processes in the cgroup", func() bool {
		procs = ctrCgroupProcs(ctrCgroup(id))
		return len(procs) == 3
	})
	out := d.mustCtr(t, "task", "ps", id)
	var pids []string
	for _, line := range strings.Split(out, "\n")[1:] { // after the PID INFO header
		if f := strings.Fields(line); len(f) > 0 {
			pids = append(pids, f[0])
		}
	}
	sort.Strings(pids)
	if !slices.Equal(pids, procs) {
		t.Errorf("ctr task ps: pids %q, want those in the cgroup %q:\n%s", pids, procs, out)
	}
	ctrWantCall(t, id, "ps", "--format", "json", id)
	d.removeTask(t, id)
}

// testMissingExecutable: ctr run of a command that does not exist in the
// image fails with an error naming it, and leaves nothing behind.
func (d *ctrDaemon) testMissingExecutable(t *testing.T) {
	const id = "missing1"
	d.cleanupContainer(t, id)
	out, code := d.ctr(t, d.runArgs(id, "--rm", ctrImage, id, "/no/such/program")...)
	if code == 0 || !strings.Contains(out, "/no/such/program") {
		t.Errorf("ctr run of a missing program: exit code %d, output %q; want an error naming it", code, out)
	}
	t.Logf("ctr's error: %s", strings.TrimSpace(out))
	ctrWantCall(t, id, "create", "--bundle", "*", "--pid-file", "*", id)
	d.checkGone(t, id)
}

// startContainerd starts a containerd with everything under a new directory
// and stops it, kills what it left and removes the directory at cleanup.
func startContainerd(t *testing.T) *ctrDaemon {
	dir, err := os.MkdirTemp(tmpDir, "containerd-")
	if err != nil {
		t.Fatal(err)
	}
	d := &ctrDaemon{
		dir:      dir,
		sock:     filepath.Join(dir, "containerd.sock"),
		state:    filepath.Join(dir, "state"),
		runcRoot: filepath.Join(dir, "runc"),
		fifoDir:  filepath.Join(dir, "fifo"),
		tmp:      filepath.Join(dir, "tmp"),
		run:      filepath.Join(dir, "run"),
	}
	for _, sub := range []string{d.tmp, d.run} {
		if err := os.Mkdir(sub, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	// Disabled: CRI (it serves Kubernetes and wants CNI), the snapshotters of
	// filesystems this host lacks, and opt, which makes /opt/containerd. The
	// v1 runtime stays (the tasks service needs it) with its root moved here.
	config := fmt.Sprintf(`version = 2
root = %q
state = %q
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.internal.v1.opt"]

[grpc]
  address = %q

[ttrpc]
  address = %q

[plugins."io.containerd.runtime.v1.linux"]
  runtime_root = %q
`, filepath.Join(dir, "root"), d.state, d.sock, d.sock+".ttrpc", filepath.Join(dir, "v1-runc"))
	configPath := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(configPath, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "containerd.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	// The shims put their sockets in /run/containerd/s whatever the config
	// says, so containerd runs in a mount namespace of its own with d.run
	// over /run; the shims inherit it. Everything ctr shares with them (the
	// sockets, the bundles, the FIFOs) lies under dir, the same files in both
	// namespaces.
	cmd, err := commandWithBinds([]bindMount{{d.run, "/run"}}, "containerd", "--config", configPath)
	if err != nil {
		logFile.Close()
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// The shims inherit containerd's environment: TMPDIR keeps their
	// process.json files and console sockets under dir.
	cmd.Env = append(os.Environ(), "TMPDIR="+d.tmp)
	if err := cmd.Start(); err != nil {
		logFile.Close()
		t.Fatal(err)
	}
	logFile.Close()
	d.pid = cmd.Process.Pid
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() { d.stop(t, cmd, exited, logPath) })
	ownNS, err := os.Readlink("/proc/self/ns/mnt")
	if err != nil {
		t.Fatal(err)
	}
	if d.mountNS, err = os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", d.pid)); err != nil {
		t.Fatal(err)
	}
	if d.mountNS == ownNS {
		t.Fatalf("containerd runs in the test's mount namespace %s, want one of its own", ownNS)
	}

	deadline := time.Now().Add(ctrTimeout)
	for {
		select {
		case <-exited:
			b, _ := os.ReadFile(logPath)
			t.Fatalf("containerd exited at start:\n%s", b)
		default:
		}
		if err := d.command(context.Background(), "version").Run(); err == nil {
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("containerd did not answer on %s", d.sock)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop removes the containers left in the namespace, stops containerd (by its
// pid), kills the shims it left, unmounts what is mounted under its directory
// and removes it, then checks that nothing of the namespace reached the host's
// default stores.
func (d *ctrDaemon) stop(t *testing.T, cmd *exec.Cmd, exited chan struct{}, logPath string) {
	ctx, cancel := context.WithTimeout(context.Background(), ctrTimeout)
	defer cancel()
	if out, err := d.command(ctx, "containers", "ls", "-q").Output(); err == nil {
		for _, id := range strings.Fields(string(out)) {
			d.command(ctx, "task", "delete", "--force", id).Run()
			d.command(ctx, "containers", "rm", id).Run()
		}
	}
	// The mounts containerd makes (rootfs snapshots, image unpacking) are in
	// its mount namespace and vanish with it: look for leftovers while it runs.
	select {
	case <-exited:
		t.Errorf("containerd exited before the end of the test")
	default:
		mounts, err := ctrMountsUnder(strconv.Itoa(d.pid), d.dir)
		if err != nil {
			t.Error(err)
		}
		for _, m := range mounts {
			t.Errorf("%s still mounted in containerd's mount namespace after every container was removed", m)
		}
	}
	if t.Failed() {
		b, _ := os.ReadFile(logPath)
		t.Logf("containerd's log:\n%s", b)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(ctrTimeout):
		cmd.Process.Kill()
		<-exited
	}
	for _, pid := range d.shimPids("") {
		t.Errorf("shim %d still running after containerd stopped; killing it", pid)
		syscall.Kill(pid, syscall.SIGKILL)
	}
	mounts, err := ctrMountsUnder("self", d.dir)
	if err != nil {
		t.Error(err)
	}
	for _, m := range mounts {
		t.Errorf("%s mounted in the host's mount namespace: it leaked out of containerd's; unmounting it", m)
		if err := unix.Unmount(m, unix.MNT_DETACH); err != nil {
			t.Error(err)
		}
	}
	for _, dir := range []string{d.fifoDir, d.tmp, filepath.Join(d.runcRoot, ctrNamespace)} {
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Errorf("%s holds %d entries after every container was removed, want none", dir, len(entries))
		}
	}
	if err := os.RemoveAll(d.dir); err != nil {
		t.Error(err)
	}
	for _, p := range []string{
		filepath.Join("/run/containerd/runc", ctrNamespace),
		filepath.Join("/run/containerd/io.containerd.runtime.v2.task", ctrNamespace),
		filepath.Join("/var/lib/containerd/io.containerd.runtime.v2.task", ctrNamespace),
	} {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("%s exists: the test's containerd used a host default store", p)
		}
	}
}

// importImage builds an OCI archive of the busybox rootfs and imports it
// with ctr images import.
func (d *ctrDaemon) importImage(t *testing.T) {
	archive := filepath.Join(d.dir, "busybox-oci.tar")
	if err := ctrOCIArchive(archive, ctrImage); err != nil {
		t.Fatalf("build OCI archive: %v", err)
	}
	d.mustCtr(t, "images", "import", archive)
	if out := d.mustCtr(t, "images", "ls", "-q"); !slices.Contains(strings.Fields(out), ctrImage) {
		t.Fatalf("images after import: %q, want %s", out, ctrImage)
	}
}

// command makes a ctr command for this containerd and the test namespace.
func (d *ctrDaemon) command(ctx context.Context, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ctr", append([]string{"--address", d.sock, "--namespace", ctrNamespace}, args...)...)
}

// ctr runs ctr and returns its output (stdout and stderr) and exit code.
func (d *ctrDaemon) ctr(t *testing.T, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), ctrTimeout)
	defer cancel()
	out, err := d.command(ctx, args...).CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("ctr %q did not finish:\n%s", args, out)
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(out), ee.ExitCode()
	}
	if err != nil {
		t.Fatalf("ctr %q: %v", args, err)
	}
	return string(out), 0
}

// mustCtr runs ctr and fails the test unless it succeeds.
func (d *ctrDaemon) mustCtr(t *testing.T, args ...string) string {
	t.Helper()
	out, code := d.ctr(t, args...)
	if code != 0 {
		t.Fatalf("ctr %q: exit code %d:\n%s", args, code, out)
	}
	return out
}

// runArgs prefixes ctr run's arguments with what every test container gets:
// tupper (through the logging wrapper) as the shim's runtime binary, its
// root under the test's directory, a cgroup under cgroupParent and ctr's
// FIFOs under the test's directory.
func (d *ctrDaemon) runArgs(id string, args ...string) []string {
	return append([]string{"run", "--runc-binary", tupperWrapper, "--runc-root", d.runcRoot,
		"--cgroup", ctrCgroup(id), "--fifo-dir", d.fifoDir}, args...)
}

func ctrCgroup(id string) string { return cgroupParent + "/ctr-" + id }

// bundle is the shim's bundle directory for container id.
func (d *ctrDaemon) bundle(id string) string {
	return filepath.Join(d.state, "io.containerd.runtime.v2.task", ctrNamespace, id)
}

// task returns the pid and status ctr task ls shows for id ("" when there is
// no task).
func (d *ctrDaemon) task(t *testing.T, id string) (int, string) {
	t.Helper()
	for _, line := range strings.Split(d.mustCtr(t, "task", "ls"), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == id {
			pid, _ := strconv.Atoi(f[1])
			return pid, f[2]
		}
	}
	return 0, ""
}

// cleanupContainer removes container id and its task at cleanup, whatever
// state the test left them in, then checks the host.
func (d *ctrDaemon) cleanupContainer(t *testing.T, id string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), ctrTimeout)
		defer cancel()
		d.command(ctx, "task", "delete", "--force", id).Run()
		d.command(ctx, "containers", "rm", id).Run()
		checkHost(t, ctrCgroup(id))
	})
}

// removeTask kills the task of id, deletes it once it stopped, removes the
// container and checks that nothing of it is left.
func (d *ctrDaemon) removeTask(t *testing.T, id string) {
	t.Helper()
	d.mustCtr(t, "task", "kill", "-s", "SIGKILL", id)
	ctrWaitFor(t, "the task to stop", func() bool { _, s := d.task(t, id); return s == "STOPPED" })
	d.mustCtr(t, "task", "delete", id)
	d.mustCtr(t, "containers", "rm", id)
	d.checkGone(t, id)
}

// checkGone checks that nothing of container id is left: neither the
// container, tupper's state, the bundle, the shim and its socket, nor the
// cgroups.
func (d *ctrDaemon) checkGone(t *testing.T, id string) {
	t.Helper()
	if out := d.mustCtr(t, "containers", "ls", "-q"); slices.Contains(strings.Fields(out), id) {
		t.Errorf("container %s still listed", id)
	}
	for _, p := range []string{filepath.Join(d.runcRoot, ctrNamespace, id), d.bundle(id)} {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("%s left behind", p)
		}
	}
	sock := d.shimSocket(id)
	ctrWaitFor(t, "the shim to exit", func() bool {
		_, err := os.Lstat(sock)
		return len(d.shimPids(id)) == 0 && errors.Is(err, os.ErrNotExist)
	})
	mounts, err := ctrMountsUnder(strconv.Itoa(d.pid), d.bundle(id))
	if err != nil {
		t.Error(err)
	}
	for _, m := range mounts {
		t.Errorf("%s still mounted in containerd's mount namespace", m)
	}
	if dirs := fixture.CgroupDirs(ctrCgroup(id)); len(dirs) != 0 {
		t.Errorf("cgroups left behind: %q", dirs)
	}
}

// ctrShimSocketName is the name of the socket of the shim for container id of
// the containerd at address: the shim 1.6 hashes address/namespace/id.
func ctrShimSocketName(address, id string) string {
	sum := sha256.Sum256([]byte(filepath.Join(address, ctrNamespace, id)))
	return hex.EncodeToString(sum[:])
}

// shimSocket is where the host sees the socket of the shim for container id:
// shimSocketDir in containerd's mount namespace is under d.run.
func (d *ctrDaemon) shimSocket(id string) string {
	return filepath.Join(d.run, strings.TrimPrefix(shimSocketDir, "/run"), ctrShimSocketName(d.sock, id))
}

// shimPids returns the pids of the shims serving this containerd, for
// container id (any container when id is "").
func (d *ctrDaemon) shimPids(id string) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		// /usr/bin/containerd-shim-runc-v2 -namespace NS -id ID -address SOCK
		args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
		if filepath.Base(args[0]) != "containerd-shim-runc-v2" || ctrFlagValue(args, "-address") != d.sock {
			continue
		}
		if id == "" || ctrFlagValue(args, "-id") == id {
			pids = append(pids, pid)
		}
	}
	return pids
}

func ctrFlagValue(args []string, flag string) string {
	for i, a := range args[:len(args)-1] {
		if a == flag {
			return args[i+1]
		}
	}
	return ""
}

// ctrMountsUnder returns the mount points under dir, deepest first, in the
// mount namespace of process proc (a pid, or "self").
func ctrMountsUnder(proc, dir string) ([]string, error) {
	b, err := os.ReadFile("/proc/" + proc + "/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("read mounts: %w", err)
	}
	var mounts []string
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 4 && strings.HasPrefix(f[4], dir+"/") {
			mounts = append(mounts, f[4])
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(mounts)))
	return mounts, nil
}

// ctrWaitFor polls cond until it holds and fails the test if it never does.
// It waits for an event; it does not measure how long it takes.
func ctrWaitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(ctrTimeout); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
	}
}

// ctrCheckCgroupLines checks that every line of /proc/PID/cgroup text names path.
func ctrCheckCgroupLines(t *testing.T, text, path string) {
	t.Helper()
	n := 0
	for _, line := range strings.Split(text, "\n") {
		if f := strings.SplitN(line, ":", 3); len(f) == 3 {
			n++
			if f[2] != path {
				t.Errorf("cgroup line %q, want the path %s", line, path)
			}
		}
	}
	if n == 0 {
		t.Errorf("no cgroup lines in %q", text)
	}
}

// ctrCheckFrozen checks the freezer of the container's cgroup: the v1
// freezer where there is one (on a hybrid host the v2 hierarchy's
// cgroup.freeze is not the one in use), else v2's cgroup.freeze.
func ctrCheckFrozen(t *testing.T, id string, frozen bool) {
	t.Helper()
	var files []string
	want := map[bool]string{false: "THAWED", true: "FROZEN"}[frozen]
	for _, dir := range fixture.CgroupDirs(ctrCgroup(id)) {
		if f := filepath.Join(dir, "freezer.state"); ctrExists(f) {
			files = append(files, f)
		}
	}
	if len(files) == 0 {
		want = map[bool]string{false: "0", true: "1"}[frozen]
		for _, dir := range fixture.CgroupDirs(ctrCgroup(id)) {
			if f := filepath.Join(dir, "cgroup.freeze"); ctrExists(f) {
				files = append(files, f)
			}
		}
	}
	if len(files) == 0 {
		t.Errorf("no freezer found for %s", ctrCgroup(id))
	}
	for _, f := range files {
		b, _ := os.ReadFile(f)
		if got := strings.TrimSpace(string(b)); got != want {
			t.Errorf("%s: %q, want %q", f, got, want)
		}
	}
}

// ctrCgroupProcs returns the sorted pids in cgroup path.
func ctrCgroupProcs(path string) []string {
	for _, dir := range fixture.CgroupDirs(path) {
		if b, err := os.ReadFile(filepath.Join(dir, "cgroup.procs")); err == nil {
			pids := strings.Fields(string(b))
			sort.Strings(pids)
			return pids
		}
	}
	return nil
}

// ctrCall is one call of tupper through the wrapper: the global flags,
// then the subcommand and its arguments.
type ctrCall struct{ global, args []string }

// ctrCalls returns the calls the wrapper logged whose subcommand names
// container id, in order.
func ctrCalls(id string) []ctrCall {
	var out []ctrCall
	for _, line := range calls() {
		f := strings.Fields(line)
		i := 0
		for i < len(f) && strings.HasPrefix(f[i], "-") {
			// --debug and --systemd-cgroup take no value; the shim's other
			// global flags do, unless given with "=".
			if strings.Contains(f[i], "=") || f[i] == "--debug" || f[i] == "--systemd-cgroup" {
				i++
			} else {
				i += 2
			}
		}
		if i < len(f) && slices.Contains(f[i+1:], id) {
			out = append(out, ctrCall{global: f[:i], args: f[i:]})
		}
	}
	return out
}

// ctrWantCall fails the test unless the wrapper logged a call for id whose
// subcommand and arguments match want ("*" matches any one argument), and
// returns the first such call.
func ctrWantCall(t *testing.T, id string, want ...string) *ctrCall {
	t.Helper()
	all := ctrCalls(id)
	for i, c := range all {
		if len(c.args) != len(want) {
			continue
		}
		ok := true
		for j, w := range want {
			ok = ok && (w == "*" || w == c.args[j])
		}
		if ok {
			return &all[i]
		}
	}
	var got []string
	for _, c := range all {
		got = append(got, strings.Join(c.args, " "))
	}
	t.Errorf("no call of tupper %q for %s; the calls were:\n%s", want, id, strings.Join(got, "\n"))
	return nil
}

// ctrPty runs ctr with a new pty as its controlling terminal and stdio, as
// ctr -t requires, and returns what it wrote there and its exit code.
func (d *ctrDaemon) ctrPty(t *testing.T, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), ctrTimeout)
	defer cancel()
	return runInPty(t, d.command(ctx, args...), 25, 80)
}

// ctrProc is a ctr running in the background whose stdout lines the test
// reads as they come.
type ctrProc struct {
	cmd    *exec.Cmd
	ctx    context.Context
	mu     sync.Mutex
	lines  []string
	stderr strings.Builder
	read   chan struct{} // closed when stdout reached EOF
	once   sync.Once
	err    error
}

// startCtr starts ctr in the background; cleanup kills it if the test did
// not wait for it.
func (d *ctrDaemon) startCtr(t *testing.T, args ...string) *ctrProc {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), ctrTimeout)
	p := &ctrProc{ctx: ctx, read: make(chan struct{})}
	p.cmd = d.command(ctx, args...)
	p.cmd.Stderr = &p.stderr
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.mu.Lock()
			p.lines = append(p.lines, sc.Text())
			p.mu.Unlock()
		}
		close(p.read)
	}()
	t.Cleanup(func() {
		cancel()
		p.finish()
	})
	return p
}

func (p *ctrProc) finish() {
	p.once.Do(func() {
		<-p.read
		p.err = p.cmd.Wait()
	})
}

// waitLine waits for ctr to print the line want.
func (p *ctrProc) waitLine(t *testing.T, want string) {
	t.Helper()
	ctrWaitFor(t, fmt.Sprintf("the line %q", want), func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return slices.Contains(p.lines, want)
	})
}

// wait waits for ctr to exit and returns its output and exit code.
func (p *ctrProc) wait(t *testing.T) (string, int) {
	t.Helper()
	p.finish()
	out := strings.Join(p.lines, "\n") + "\n" + p.stderr.String()
	if p.ctx.Err() != nil {
		t.Fatalf("ctr %q did not finish:\n%s", p.cmd.Args, out)
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return out, ee.ExitCode()
	}
	if p.err != nil {
		t.Fatal(p.err)
	}
	return out, 0
}

// ctrOCIDescriptor is an OCI content descriptor (image-spec descriptor.md).
type ctrOCIDescriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int               `json:"size"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Platform    map[string]string `json:"platform,omitempty"`
}

// ctrOCIArchive writes an OCI image layout as a tar (oci-layout,
// index.json, blobs/sha256/...) holding one image named name: one
// uncompressed layer, the busybox rootfs tar.
func ctrOCIArchive(path, name string) error {
	layer, err := os.ReadFile(rootfsTar)
	if err != nil {
		return err
	}
	blobs := map[string][]byte{}
	describe := func(mediaType string, b []byte) ctrOCIDescriptor {
		sum := sha256.Sum256(b)
		digest := "sha256:" + hex.EncodeToString(sum[:])
		blobs[digest] = b
		return ctrOCIDescriptor{MediaType: mediaType, Digest: digest, Size: len(b)}
	}
	layerDesc := describe("application/vnd.oci.image.layer.v1.tar", layer)
	config, err := json.Marshal(map[string]any{
		"architecture": runtime.GOARCH,
		"os":           "linux",
		"config": map[string]any{
			"Env": []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
			"Cmd": []string{"sh"},
		},
		// An uncompressed layer's diff id is its digest.
		"rootfs": map[string]any{"type": "layers", "diff_ids": []string{layerDesc.Digest}},
	})
	if err != nil {
		return err
	}
	manifest, err := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.manifest.v1+json",
		"config":        describe("application/vnd.oci.image.config.v1+json", config),
		"layers":        []ctrOCIDescriptor{layerDesc},
	})
	if err != nil {
		return err
	}
	manifestDesc := describe("application/vnd.oci.image.manifest.v1+json", manifest)
	manifestDesc.Platform = map[string]string{"architecture": runtime.GOARCH, "os": "linux"}
	// ctr images import names the image after io.containerd.image.name.
	manifestDesc.Annotations = map[string]string{
		"io.containerd.image.name":          name,
		"org.opencontainers.image.ref.name": name[strings.LastIndex(name, ":")+1:],
	}
	index, err := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.index.v1+json",
		"manifests":     []ctrOCIDescriptor{manifestDesc},
	})
	if err != nil {
		return err
	}

	f, err := os.Create(path)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(f)
	add := func(name string, b []byte) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(b)), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		_, err := tw.Write(b)
		return err
	}
	errs := []error{
		add("oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)),
		add("index.json", index),
	}
	digests := make([]string, 0, len(blobs))
	for dg := range blobs {
		digests = append(digests, dg)
	}
	sort.Strings(digests)
	for _, dg := range digests {
		errs = append(errs, add("blobs/sha256/"+strings.TrimPrefix(dg, "sha256:"), blobs[dg]))
	}
	errs = append(errs, tw.Close(), f.Close())
	return errors.Join(errs...)
}

func ctrExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
