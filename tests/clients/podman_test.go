package clients

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tupper-runtime/tupper/tests/internal/fixture"
)

// podmanCgroup is the --cgroup-parent of every container and pod the podman
// tests make. With the cgroupfs manager podman puts a container in
// <parent>/libpod-<id>, its conmon in <parent>/conmon, and a pod in
// <parent>/<pod id>, with the pod's containers and conmons beneath it.
const podmanCgroup = cgroupParent + "/podman"

// The images the tests import: busybox, and busybox with /pause for a pod's
// infra container (podman's own infra image would come from a registry).
const (
	podmanImage      = "localhost/busybox"
	podmanInfraImage = "localhost/busybox-pause"
)

// podmanPause stands in for the pause binary of an infra image. podman 4.3
// passes --infra-command as a single argv word, so it cannot be "sleep N".
// As pid 1 the shell gets SIGTERM only through a trap; `wait` lets the trap run.
const podmanPause = "#!/bin/sh\ntrap 'exit 0' TERM INT\nwhile :; do sleep 3600 & wait $!; done\n"

// podmanHostPaths are podman's and CNI's default stores on the host. The
// tests point every one of them elsewhere and check that none appears.
var podmanHostPaths = []string{
	"/var/lib/containers", "/run/containers", "/run/libpod", "/dev/shm/libpod_lock",
	"/var/lib/cni", "/etc/cni/net.d/87-podman-bridge.conflist",
}

// podman runs the podman CLI with every store under dir: containers.conf and
// storage.conf written there, the graph root, run root, tmp dir, volumes,
// network configs and events log. There is no daemon; conmon supervises each
// container and calls podman back to clean up after it exits.
type podman struct {
	dir string
	env []string
}

// TestPodman imports the busybox rootfs as an image and checks podman's run,
// exec, pause, stop, kill, rm, shared namespaces and pods with tupper as the
// runtime, from inside the containers and in the calls tupper got.
func TestPodman(t *testing.T) {
	needBinaries(t, "podman", "conmon", "unshare", "tar")
	p := newPodman(t)

	for _, tc := range []struct {
		name string
		f    func(t *testing.T)
	}{
		{"run", p.testRun},
		{"exit code", p.testExitCode},
		{"stdin", p.testStdin},
		{"tty", p.testTty},
		{"env workdir user", p.testEnvWorkdirUser},
		{"read-only", p.testReadOnly},
		{"capabilities", p.testCapabilities},
		{"seccomp", p.testSeccomp},
		{"memory and pids", p.testResources},
		{"exec", p.testExec},
		{"pause", p.testPause},
		{"stop", p.testStop},
		{"kill", p.testKill},
		{"rm", p.testRm},
		{"shared namespaces", p.testSharedNamespaces},
		{"pod", p.testPod},
		{"missing command", p.testMissingCommand},
		{"runtime flag", p.testRuntimeFlag},
		{"no cgroups", p.testNoCgroups},
	} {
		t.Run(tc.name, tc.f)
	}
}

// newPodman writes the configuration, imports the images, and registers the
// cleanup: every pod and container removed, no conmon left, no mount left
// under dir, the cgroups removed, and the host's stores and cgroups untouched.
func newPodman(t *testing.T) *podman {
	t.Helper()
	// Under the package's short temp dir rather than t.TempDir(): conmon's
	// attach socket path (tmp_dir/socket/<64-hex id>/attach) must fit a
	// sockaddr_un.
	p := &podman{dir: filepath.Join(tmpDir, "podman")}
	hostBefore := podmanHostState()
	t.Cleanup(func() {
		p.cleanup(t)
		checkHost(t, podmanCgroup)
		after := podmanHostState()
		for _, k := range slices.Sorted(maps.Keys(after)) {
			if after[k] != hostBefore[k] {
				t.Errorf("podman changed the host: %s: before %q, after %q", k, hostBefore[k], after[k])
			}
		}
		if err := os.RemoveAll(p.dir); err != nil {
			t.Errorf("remove podman's dir: %v", err)
		}
	})
	for _, d := range []string{"tmp", "imgtmp", "cni", "volumes", "extra"} {
		if err := os.MkdirAll(filepath.Join(p.dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	conf := filepath.Join(p.dir, "containers.conf")
	storage := filepath.Join(p.dir, "storage.conf")
	podmanWriteFile(t, conf, p.containersConf())
	podmanWriteFile(t, storage, fmt.Sprintf("[storage]\ndriver = \"vfs\"\ngraphroot = %q\nrunroot = %q\n",
		filepath.Join(p.dir, "root"), filepath.Join(p.dir, "run")))
	p.env = append(os.Environ(),
		"CONTAINERS_CONF="+conf,
		"CONTAINERS_STORAGE_CONF="+storage,
		"TMPDIR="+filepath.Join(p.dir, "tmp"),
	)
	info := p.must(t, "info", "--format",
		"{{.Host.OCIRuntime.Name}} {{.Host.CgroupManager}} {{.Host.EventLogger}} {{.Store.GraphDriverName}} {{.Store.GraphRoot}}")
	if want := "tupper cgroupfs file vfs " + filepath.Join(p.dir, "root"); strings.TrimSpace(info) != want {
		t.Fatalf("podman info: %q, want %q: the configuration did not take", info, want)
	}

	p.importImage(t, rootfsTar, podmanImage)
	// The infra image: the same rootfs with /pause added.
	infraTar := filepath.Join(p.dir, "busybox-pause.tar")
	data, err := os.ReadFile(rootfsTar)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(infraTar, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(p.dir, "extra", "pause"), []byte(podmanPause), 0o755); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command("tar", "-C", filepath.Join(p.dir, "extra"), "-rf", infraTar, "./pause").CombinedOutput(); err != nil {
		t.Fatalf("tar: %v: %s", err, b)
	}
	p.importImage(t, infraTar, podmanInfraImage)
	return p
}

// containersConf is the containers.conf of the tests: tupper as the default
// runtime, and nothing that needs systemd, a registry or a network.
func (p *podman) containersConf() string {
	return fmt.Sprintf(`[containers]
# No CNI/netavark setup: containers get an empty network namespace.
netns = "none"
# podman asks nofile=1048576 and a large nproc by default, above this
# machine's hard limits, which a process without CAP_SYS_RESOURCE (as here)
# cannot raise: the runtime's setrlimit would fail with EPERM.
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]

[network]
network_config_dir = %[1]q

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = %[2]q
lock_type = "file"
tmp_dir = %[3]q
static_dir = %[4]q
volume_path = %[5]q
image_copy_tmp_dir = %[6]q
runtime = "tupper"
runtime_supports_json = ["tupper"]

[engine.runtimes]
tupper = [%[7]q]
`, filepath.Join(p.dir, "cni"), filepath.Join(p.dir, "events.log"), filepath.Join(p.dir, "libpod-tmp"),
		filepath.Join(p.dir, "root", "libpod"), filepath.Join(p.dir, "volumes"), filepath.Join(p.dir, "imgtmp"),
		tupperWrapper)
}

// importImage runs `podman import` in a private mount namespace with a tmpfs
// on /var/lib: podman 4.3 (containers/image 5.23) keeps its blob-info cache
// in /var/lib/containers/cache for root whatever the graph root is.
func (p *podman) importImage(t *testing.T, tar, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "unshare", "--mount", "--propagation", "private", "sh", "-c",
		`mount -t tmpfs -o size=16m tmpfs /var/lib && exec podman import "$@"`, "sh", tar, name)
	cmd.Env = p.env
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("podman import %s: %v: %s", name, err, b)
	}
}

func (p *podman) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "podman", args...)
	cmd.Env = p.env
	return cmd
}

// podmanIn runs podman with stdin and returns its output and exit code.
func (p *podman) podmanIn(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := p.command(ctx, args...)
	var o, e bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = strings.NewReader(stdin), &o, &e
	err := cmd.Run()
	var exitErr *exec.ExitError
	switch {
	case errors.As(err, &exitErr):
		code = exitErr.ExitCode()
	case err != nil:
		t.Fatalf("podman %s: %v", strings.Join(args, " "), err)
	}
	if ctx.Err() != nil {
		t.Fatalf("podman %s: timed out; stderr %q", strings.Join(args, " "), e.String())
	}
	return o.String(), e.String(), code
}

func (p *podman) podman(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return p.podmanIn(t, "", args...)
}

func (p *podman) must(t *testing.T, args ...string) string {
	t.Helper()
	out, stderr, code := p.podman(t, args...)
	if code != 0 {
		t.Fatalf("podman %s: exit %d: %s", strings.Join(args, " "), code, stderr)
	}
	return out
}

// run runs `podman run` of the busybox image in the tests' cgroup parent,
// with opts before the image and cmd after it.
func (p *podman) run(t *testing.T, opts []string, cmd ...string) (stdout, stderr string, code int) {
	t.Helper()
	return p.podman(t, p.runArgs(opts, cmd...)...)
}

func (p *podman) runArgs(opts []string, cmd ...string) []string {
	args := append([]string{"run", "--cgroup-parent", podmanCgroup}, opts...)
	return append(append(args, podmanImage), cmd...)
}

// start runs a detached container named name and removes it when the test ends.
func (p *podman) start(t *testing.T, name string, opts []string, cmd ...string) string {
	t.Helper()
	t.Cleanup(func() { p.podman(t, "rm", "-f", "-t", "0", name) })
	out := p.must(t, p.runArgs(append([]string{"-d", "--name", name}, opts...), cmd...)...)
	return strings.TrimSpace(out)
}

func (p *podman) inspect(t *testing.T, name, format string) string {
	t.Helper()
	return strings.TrimSpace(p.must(t, "inspect", "--format", format, name))
}

// podmanCalled returns the argv of each call tupper got whose subcommand is verb
// and whose last argument is id, without podman's global flags.
func podmanCalled(verb, id string) [][]string {
	var out [][]string
	for _, line := range calls(id) {
		args := strings.Fields(line)
		for i, a := range args {
			if a == verb && slices.Contains(args[i:], id) {
				out = append(out, args[i:])
				break
			}
		}
	}
	return out
}

// podmanWantCall fails the test unless tupper got a call verb ... id whose argv
// has every one of the words.
func podmanWantCall(t *testing.T, verb, id string, words ...string) {
	t.Helper()
	for _, c := range podmanCalled(verb, id) {
		ok := true
		for _, w := range words {
			ok = ok && slices.Contains(c, w)
		}
		if ok {
			return
		}
	}
	t.Errorf("tupper got no call %s %v ... %s; its calls for the container:\n%s", verb, words, id, strings.Join(calls(id), "\n"))
}

func (p *podman) testRun(t *testing.T) {
	name := "pm-run"
	t.Cleanup(func() { p.podman(t, "rm", "-f", "-t", "0", name) })
	out, stderr, code := p.run(t, []string{"--name", name}, "sh", "-c",
		"echo to-stdout; echo to-stderr >&2; ulimit -n; cat /proc/self/cgroup")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(out, "\n")
	if lines[0] != "to-stdout" || !strings.Contains(stderr, "to-stderr") {
		t.Errorf("stdout %q, stderr %q: want to-stdout and to-stderr apart", out, stderr)
	}
	if len(lines) < 2 || lines[1] != "1024" {
		t.Errorf("ulimit -n in the container: %q, want 1024 (default_ulimits)", out)
	}
	id := p.inspect(t, name, "{{.Id}}")
	podmanCheckCgroupLines(t, "/proc/self/cgroup in the container", out, podmanCgroup+"/libpod-"+id)

	// The calls of a podman run, with the JSON log podman reads errors from.
	userdata := filepath.Join(p.dir, "run", "vfs-containers", id, "userdata")
	c := calls("create", id)
	if len(c) != 1 || !strings.HasPrefix(c[0], "--log-format=json --log "+userdata+"/oci-log create --bundle ") ||
		!strings.Contains(c[0], "--pid-file "+userdata+"/pidfile") {
		t.Errorf("create calls %q, want one with --log-format=json --log %s/oci-log, --bundle, --pid-file", c, userdata)
	}
	podmanWantCall(t, "start", id)
	podmanWantCall(t, "delete", id, "--force")
}

func (p *podman) testExitCode(t *testing.T) {
	for _, want := range []int{0, 7, 255} {
		_, stderr, code := p.run(t, []string{"--rm"}, "sh", "-c", fmt.Sprintf("exit %d", want))
		if code != want {
			t.Errorf("sh -c 'exit %d': podman exit %d, stderr %q", want, code, stderr)
		}
	}
}

func (p *podman) testStdin(t *testing.T) {
	out, stderr, code := p.podmanIn(t, "line one\nline two\n", p.runArgs([]string{"--rm", "-i"}, "sh", "-c", "while read l; do echo got:$l; done")...)
	if code != 0 || out != "got:line one\ngot:line two\n" {
		t.Errorf("podman run -i: exit %d, output %q, stderr %q", code, out, stderr)
	}
}

func (p *podman) testTty(t *testing.T) {
	name := "pm-tty"
	t.Cleanup(func() { p.podman(t, "rm", "-f", "-t", "0", name) })
	out := p.podmanInPty(t, p.runArgs([]string{"-t", "--name", name}, "sh", "-c",
		"tty; test -t 0 && echo stdin-tty; test -t 1 && echo stdout-tty; stty size")...)
	for _, want := range []string{"/dev/pts/0\n", "stdin-tty\n", "stdout-tty\n", "25 80\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("podman run -t: output %q, want %q", out, want)
		}
	}
	podmanWantCall(t, "create", p.inspect(t, name, "{{.Id}}"), "--console-socket")
}

func (p *podman) testEnvWorkdirUser(t *testing.T) {
	out, stderr, code := p.run(t, []string{"--rm", "-e", "FOO=bar baz", "-w", "/tmp", "-u", "65534:65534"},
		"sh", "-c", `echo "$FOO"; pwd; id`)
	want := "bar baz\n/tmp\nuid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup)\n"
	if code != 0 || out != want {
		t.Errorf("-e -w -u: exit %d, output %q, want %q (stderr %q)", code, out, want, stderr)
	}
}

func (p *podman) testReadOnly(t *testing.T) {
	out, _, code := p.run(t, []string{"--rm", "--read-only"}, "sh", "-c",
		"touch /x 2>&1; echo rc=$?; touch /tmp/y && echo tmp-writable")
	if code != 0 || !strings.Contains(out, "Read-only file system") || !strings.Contains(out, "rc=1") ||
		!strings.Contains(out, "tmp-writable") {
		t.Errorf("--read-only: exit %d, output %q; want / read-only and /tmp (podman's tmpfs) writable", code, out)
	}
}

func (p *podman) testCapabilities(t *testing.T) {
	out, stderr, code := p.run(t, []string{"--rm", "--cap-drop", "all", "--cap-add", "net_raw,chown"},
		"grep", "^Cap", "/proc/self/status")
	// CAP_CHOWN is bit 0, CAP_NET_RAW bit 13. The ambient set stays empty
	// for root, as podman asks.
	for _, want := range []string{"CapPrm:\t0000000000002001", "CapEff:\t0000000000002001", "CapBnd:\t0000000000002001", "CapAmb:\t0000000000000000"} {
		if !strings.Contains(out, want) {
			t.Errorf("--cap-drop all --cap-add net_raw,chown: exit %d, %q, want %q (stderr %q)", code, out, want, stderr)
		}
	}
	out, _, _ = p.run(t, []string{"--rm", "--cap-drop", "chown"}, "sh", "-c", "grep ^CapEff /proc/self/status; chown 65534 /tmp 2>&1")
	if !strings.Contains(out, "Operation not permitted") {
		t.Errorf("--cap-drop chown: chown as root succeeded: %q", out)
	}
}

func (p *podman) testSeccomp(t *testing.T) {
	out, _, code := p.run(t, []string{"--rm"}, "sh", "-c", "grep ^Seccomp: /proc/self/status; mkdir /tmp/d && echo made")
	if code != 0 || !strings.Contains(out, "Seccomp:\t2\n") || !strings.Contains(out, "made") {
		t.Errorf("default profile: exit %d, output %q, want Seccomp: 2 (filter) and mkdir allowed", code, out)
	}
	profile := filepath.Join(p.dir, "no-mkdir.json")
	podmanWriteFile(t, profile, `{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
		{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}`)
	out, _, code = p.run(t, []string{"--rm", "--security-opt", "seccomp=" + profile}, "sh", "-c", "mkdir /tmp/d 2>&1; echo rc=$?")
	if code != 0 || !strings.Contains(out, "Operation not permitted") || !strings.Contains(out, "rc=1") {
		t.Errorf("profile denying mkdir: exit %d, output %q, want EPERM", code, out)
	}
	out, _, _ = p.run(t, []string{"--rm", "--security-opt", "seccomp=unconfined"}, "grep", "^Seccomp:", "/proc/self/status")
	if !strings.Contains(out, "Seccomp:\t0") {
		t.Errorf("seccomp=unconfined: %q, want Seccomp: 0", out)
	}
}

func (p *podman) testResources(t *testing.T) {
	name := "pm-limits"
	id := p.start(t, name, []string{"--memory", "64m", "--pids-limit", "20"}, "sleep", "1000")
	host := podmanCgroup + "/libpod-" + id
	if got := podmanReadCgroup(t, "memory", host, "memory.limit_in_bytes"); got != "67108864" {
		t.Errorf("host %s memory.limit_in_bytes = %q, want 67108864", host, got)
	}
	if got := podmanReadCgroup(t, "pids", host, "pids.max"); got != "20" {
		t.Errorf("host %s pids.max = %q, want 20", host, got)
	}
	// podman mounts the container's own cgroups at /sys/fs/cgroup/<controller>.
	out := p.must(t, "exec", name, "cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/pids/pids.max")
	if out != "67108864\n20\n" {
		t.Errorf("limits read inside: %q, want 67108864 and 20", out)
	}
	// The pids limit holds: 30 more sleeps cannot all fork.
	out, _, _ = p.podman(t, "exec", name, "sh", "-c", "for i in $(seq 30); do sleep 60 & done 2>&1; kill $(jobs -p) 2>/dev/null")
	if !strings.Contains(out, "can't fork") {
		t.Errorf("30 forks under --pids-limit 20: %q, want a fork to fail", out)
	}
}

func (p *podman) testExec(t *testing.T) {
	name := "pm-exec"
	id := p.start(t, name, nil, "sleep", "1000")
	out := p.must(t, "exec", "-e", "X=y", "-w", "/etc", name, "sh", "-c", `echo "$X"; pwd; echo $(tr "\0" " " < /proc/1/cmdline)`)
	if out != "y\n/etc\nsleep 1000\n" {
		t.Errorf("podman exec: %q, want env, cwd and pid 1 the container's sleep", out)
	}
	if _, _, code := p.podman(t, "exec", name, "sh", "-c", "exit 3"); code != 3 {
		t.Errorf("podman exec sh -c 'exit 3': exit %d", code)
	}
	if out, _, code := p.podmanIn(t, "in\n", "exec", "-i", name, "cat"); code != 0 || out != "in\n" {
		t.Errorf("podman exec -i cat: exit %d, %q", code, out)
	}
	out = p.podmanInPty(t, "exec", "-t", name, "sh", "-c", "tty; test -t 0 && echo stdin-tty")
	if !strings.Contains(out, "/dev/pts/") || !strings.Contains(out, "stdin-tty") {
		t.Errorf("podman exec -t: %q, want a pty", out)
	}
	podmanWantCall(t, "exec", id, "--detach", "--process", "--pid-file")
	podmanWantCall(t, "exec", id, "--tty", "--console-socket")

	// The container's conmon and a detached exec's both live in
	// <parent>/conmon; only in the hierarchies podman does not manage
	// (name=systemd, cgroup2) they stay where the test runs.
	session := strings.TrimSpace(p.must(t, "exec", "-d", name, "sleep", "1000"))
	var execConmon string
	podmanWaitFor(t, "the exec's conmon", func() bool {
		for _, pid := range fixture.ProcsMatching(session) {
			if strings.HasPrefix(fixture.Cmdline(pid), "/usr/bin/conmon ") {
				execConmon = strconv.Itoa(pid)
				return true
			}
		}
		return false
	})
	for _, pid := range []string{p.inspect(t, name, "{{.State.ConmonPid}}"), execConmon} {
		data, err := os.ReadFile("/proc/" + pid + "/cgroup")
		if err != nil {
			t.Fatalf("conmon %s: %v", pid, err)
		}
		podmanCheckCgroupLines(t, "conmon's /proc/"+pid+"/cgroup", string(data), podmanCgroup+"/conmon")
	}
}

func (p *podman) testPause(t *testing.T) {
	name := "pm-pause"
	vol := filepath.Join(p.dir, "vol-pause")
	if err := os.MkdirAll(vol, 0o755); err != nil {
		t.Fatal(err)
	}
	id := p.start(t, name, []string{"-v", vol + ":/out"}, "sh", "-c", "i=0; while :; do i=$((i+1)); echo $i > /out/n; sleep 0.05; done")
	counter := func() string {
		b, _ := os.ReadFile(filepath.Join(vol, "n"))
		return strings.TrimSpace(string(b))
	}
	podmanWaitFor(t, "the counter to start", func() bool { return counter() != "" })
	p.must(t, "pause", name)
	if st := p.inspect(t, name, "{{.State.Status}}"); st != "paused" {
		t.Errorf("state after pause %q, want paused", st)
	}
	if st := podmanReadCgroup(t, "freezer", podmanCgroup+"/libpod-"+id, "freezer.state"); st != "FROZEN" {
		t.Errorf("freezer.state after pause %q, want FROZEN", st)
	}
	// A frozen loop writes nothing more.
	n := counter()
	time.Sleep(300 * time.Millisecond)
	if m := counter(); m != n {
		t.Errorf("the counter moved from %s to %s while paused", n, m)
	}
	p.must(t, "unpause", name)
	if st := p.inspect(t, name, "{{.State.Status}}"); st != "running" {
		t.Errorf("state after unpause %q, want running", st)
	}
	podmanWaitFor(t, "the counter to move after unpause", func() bool { return counter() != n })
	podmanWantCall(t, "pause", id)
	podmanWantCall(t, "resume", id)
}

func (p *podman) testStop(t *testing.T) {
	name := "pm-stop"
	// A shell as pid 1 gets SIGTERM only through a handler.
	id := p.start(t, name, nil, "sh", "-c", `trap 'echo got TERM; exit 143' TERM; echo ready; while :; do sleep 0.1; done`)
	podmanWaitFor(t, "ready", func() bool { out, _, _ := p.podman(t, "logs", name); return strings.Contains(out, "ready") })
	p.must(t, "stop", "-t", "60", name)
	if code := p.inspect(t, name, "{{.State.ExitCode}}"); code != "143" {
		t.Errorf("exit code after stop %s, want 143", code)
	}
	if out, _, _ := p.podman(t, "logs", name); !strings.Contains(out, "got TERM") {
		t.Errorf("logs %q, want the TERM trap's line", out)
	}
	podmanWantCall(t, "kill", id, "15")
	if c := podmanCalled("kill", id); len(c) != 1 {
		t.Errorf("kill calls %q, want only SIGTERM", c)
	}
}

func (p *podman) testKill(t *testing.T) {
	name := "pm-kill"
	vol := filepath.Join(p.dir, "vol-kill")
	if err := os.MkdirAll(vol, 0o755); err != nil {
		t.Fatal(err)
	}
	id := p.start(t, name, []string{"-v", vol + ":/out"}, "sh", "-c",
		`trap 'echo usr1 >> /out/got' USR1; touch /out/ready; while :; do sleep 0.1; done`)
	podmanWaitFor(t, "ready", func() bool { _, err := os.Stat(filepath.Join(vol, "ready")); return err == nil })
	p.must(t, "kill", "-s", "USR1", name)
	podmanWaitFor(t, "the USR1 trap", func() bool { b, _ := os.ReadFile(filepath.Join(vol, "got")); return string(b) == "usr1\n" })
	if st := p.inspect(t, name, "{{.State.Status}}"); st != "running" {
		t.Errorf("state after USR1 %q, want running", st)
	}
	p.must(t, "kill", name)
	p.must(t, "wait", name)
	if code := p.inspect(t, name, "{{.State.ExitCode}}"); code != "137" {
		t.Errorf("exit code after podman kill %s, want 137 (SIGKILL)", code)
	}
	podmanWantCall(t, "kill", id, "10")
	podmanWantCall(t, "kill", id, "9")
}

func (p *podman) testRm(t *testing.T) {
	name := "pm-rm"
	id := p.start(t, name, nil, "sleep", "1000")
	conmon, err := strconv.Atoi(p.inspect(t, name, "{{.State.ConmonPid}}"))
	if err != nil {
		t.Fatalf("conmon's pid: %v", err)
	}
	if _, err := os.Stat(filepath.Join(tupperRoot, id)); err != nil {
		t.Errorf("tupper's state dir for %s while it runs: %v", id, err)
	}
	p.must(t, "rm", "-f", "-t", "0", name)
	if out := p.must(t, "ps", "-a", "-q", "--no-trunc", "--filter", "id="+id); out != "" {
		t.Errorf("podman ps after rm lists %q", out)
	}
	podmanWantCall(t, "kill", id, "9")
	podmanWantCall(t, "delete", id, "--force")
	if _, err := os.Stat(filepath.Join(tupperRoot, id)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("tupper's state dir for %s after rm: %v", id, err)
	}
	podmanWaitFor(t, "the container's cgroup and conmon to go", func() bool {
		return len(fixture.CgroupDirs(podmanCgroup+"/libpod-"+id)) == 0 && !strings.Contains(fixture.Cmdline(conmon), id)
	})
}

func (p *podman) testSharedNamespaces(t *testing.T) {
	target := "pm-ns-target"
	p.start(t, target, nil, "sleep", "1000")
	ns := `for n in pid ipc uts net mnt; do echo $n $(readlink /proc/%s/ns/$n); done`
	want := p.must(t, "exec", target, "sh", "-c", fmt.Sprintf(ns, "1"))
	out, stderr, code := p.run(t, []string{"--rm", "--pid", "container:" + target, "--ipc", "container:" + target,
		"--uts", "container:" + target, "--network", "container:" + target}, "sh", "-c", fmt.Sprintf(ns, "self")+"; ps -o comm")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, n := range []string{"pid", "ipc", "uts", "net"} {
		if a, b := podmanNsLine(want, n), podmanNsLine(out, n); a == "" || a != b {
			t.Errorf("%s namespace: %q in the joining container, %q in the target", n, b, a)
		}
	}
	if podmanNsLine(want, "mnt") == podmanNsLine(out, "mnt") {
		t.Errorf("the joining container shares the target's mount namespace: %q", out)
	}
	if !strings.Contains(out, "sleep") {
		t.Errorf("ps in the shared pid namespace does not show the target's sleep: %q", out)
	}
}

func (p *podman) testPod(t *testing.T) {
	pod := "pm-pod"
	t.Cleanup(func() { p.podman(t, "pod", "rm", "-f", "-t", "0", pod) })
	podID := strings.TrimSpace(p.must(t, "pod", "create", "--name", pod, "--cgroup-parent", podmanCgroup,
		"--infra-image", podmanInfraImage, "--infra-command", "/pause"))
	infra := p.must(t, "pod", "inspect", "--format", "{{.InfraContainerID}}", pod)
	infra = strings.TrimSpace(infra)
	var ids []string
	for _, name := range []string{"pm-pod-a", "pm-pod-b"} {
		out := p.must(t, "run", "-d", "--pod", pod, "--name", name, podmanImage,
			"sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.1; done")
		ids = append(ids, strings.TrimSpace(out))
	}
	ns := `for n in ipc uts net pid; do echo $n $(readlink /proc/1/ns/$n); done; hostname`
	infraNs := p.must(t, "exec", infra, "sh", "-c", ns)
	var seen []string
	for i, name := range []string{"pm-pod-a", "pm-pod-b"} {
		out := p.must(t, "exec", name, "sh", "-c", ns)
		for _, n := range []string{"ipc", "uts", "net"} {
			if a, b := podmanNsLine(infraNs, n), podmanNsLine(out, n); a == "" || a != b {
				t.Errorf("%s: %s namespace %q, infra container's %q", name, n, b, a)
			}
		}
		seen = append(seen, podmanNsLine(out, "pid"))
		if !strings.HasSuffix(out, "\n"+pod+"\n") {
			t.Errorf("%s: hostname in %q, want the pod's name %s", name, out, pod)
		}
		cg := p.must(t, "exec", name, "cat", "/proc/self/cgroup")
		podmanCheckCgroupLines(t, name+"'s /proc/self/cgroup", cg, podmanCgroup+"/"+podID+"/libpod-"+ids[i])
	}
	// The pod shares ipc, net and uts; each container keeps its own pid namespace.
	if seen[0] == seen[1] {
		t.Errorf("the pod's containers share a pid namespace: %q", seen[0])
	}
	conmon := p.inspect(t, "pm-pod-a", "{{.State.ConmonPid}}")
	data, _ := os.ReadFile("/proc/" + conmon + "/cgroup")
	podmanCheckCgroupLines(t, "the pod's conmon /proc/"+conmon+"/cgroup", string(data), podmanCgroup+"/"+podID+"/conmon")
	for _, id := range append(ids, infra) {
		podmanWantCall(t, "create", id, "--bundle")
		podmanWantCall(t, "start", id)
	}

	p.must(t, "pod", "stop", "-t", "60", pod)
	for _, id := range append(ids, infra) {
		if st := p.inspect(t, id, "{{.State.Status}}"); st != "exited" {
			t.Errorf("container %.12s after pod stop: %s, want exited", id, st)
		}
	}
	p.must(t, "pod", "rm", pod)
	// podman removes the pod's cgroup from the v1 controllers it manages. The
	// runtime, runc as tupper, also placed the containers in name=systemd and
	// the hybrid cgroup2 hierarchy, where the pod's directory stays (empty)
	// until checkHost removes it.
	managed := func() []string {
		var dirs []string
		for _, d := range fixture.CgroupDirs(podmanCgroup + "/" + podID) {
			if !strings.HasPrefix(d, "/sys/fs/cgroup/systemd/") && !strings.HasPrefix(d, "/sys/fs/cgroup/unified/") {
				dirs = append(dirs, d)
			}
		}
		return dirs
	}
	if !podmanEventually(func() bool { return len(managed()) == 0 }) {
		t.Errorf("the pod's cgroup is left after pod rm: %s", managed())
	}
}

func (p *podman) testMissingCommand(t *testing.T) {
	_, stderr, code := p.run(t, []string{"--rm"}, "nosuchcmd")
	if code != 127 || !strings.Contains(stderr, `"nosuchcmd": executable file not found in $PATH`) {
		t.Errorf("missing command: exit %d, stderr %q; want 127 and the executable named", code, stderr)
	}
	_, stderr, code = p.run(t, []string{"--rm"}, "/etc/passwd")
	if code != 126 || !strings.Contains(stderr, "permission denied") {
		t.Errorf("non-executable command: exit %d, stderr %q; want 126 and permission denied", code, stderr)
	}
}

// testRuntimeFlag: --runtime with a path picks the runtime by its base name,
// which runtime_supports_json lists, so the JSON log flags still come.
func (p *podman) testRuntimeFlag(t *testing.T) {
	name := "pm-runtime-flag"
	t.Cleanup(func() { p.podman(t, "rm", "-f", "-t", "0", name) })
	out, stderr, code := p.podman(t, append([]string{"--runtime", tupperWrapper}, p.runArgs([]string{"--name", name}, "echo", "by-path")...)...)
	if code != 0 || out != "by-path\n" {
		t.Fatalf("podman --runtime %s run: exit %d, %q, %s", tupperWrapper, code, out, stderr)
	}
	if c := calls("create", p.inspect(t, name, "{{.Id}}")); len(c) != 1 || !strings.HasPrefix(c[0], "--log-format=json --log ") {
		t.Errorf("create calls %q, want one with --log-format=json --log first", c)
	}
}

// testNoCgroups: tupper always gives a container a cgroup (relative to its
// own when cgroupsPath is empty), so it is not in runtime_supports_nocgroups,
// and podman refuses --cgroups=disabled before calling it.
func (p *podman) testNoCgroups(t *testing.T) {
	before := len(calls("create"))
	_, stderr, code := p.podman(t, "run", "--rm", "--cgroups=disabled", podmanImage, "true")
	if code == 0 || !strings.Contains(stderr, "not compatible with NoCgroups") {
		t.Errorf("--cgroups=disabled: exit %d, stderr %q; want podman to refuse", code, stderr)
	}
	if after := len(calls("create")); after != before {
		t.Errorf("tupper got a create call for --cgroups=disabled")
	}
}

// cleanup removes every pod and container, waits for their conmons and
// cleanup processes to go (killing conmons left after that), and unmounts
// anything podman left under dir.
func (p *podman) cleanup(t *testing.T) {
	p.podman(t, "pod", "rm", "-a", "-f", "-t", "0")
	p.podman(t, "rm", "-a", "-f", "-t", "0")
	if out, _, _ := p.podman(t, "ps", "-a", "-q"); out != "" {
		t.Errorf("containers left after rm -af: %q", out)
	}
	left := func() []int { return fixture.ProcsMatching(p.dir) }
	if !podmanEventually(func() bool { return len(left()) == 0 }) {
		for _, pid := range left() {
			cmd := fixture.Cmdline(pid)
			t.Errorf("process left: %d %s", pid, cmd)
			if strings.HasPrefix(cmd, "/usr/bin/conmon ") {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
	data, _ := os.ReadFile("/proc/self/mountinfo")
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) > 4 && strings.HasPrefix(f[4], p.dir+"/") {
			t.Errorf("mount left: %s", f[4])
			unix.Unmount(f[4], unix.MNT_DETACH)
		}
	}
}

// podmanHostState is what podman must not change on the host: its default
// stores, a libpod_parent cgroup (where cgroupfs containers go without
// --cgroup-parent), and the cgroups under the test's own.
func podmanHostState() map[string]string {
	st := map[string]string{}
	for _, path := range podmanHostPaths {
		_, err := os.Lstat(path)
		st[path] = fmt.Sprint("exists: ", err == nil)
	}
	st["libpod_parent cgroups"] = strings.Join(fixture.CgroupDirs("/libpod_parent"), " ")
	own, _ := os.ReadFile("/proc/self/cgroup")
	for _, line := range strings.Split(strings.TrimSpace(string(own)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 || parts[2] == "/" {
			continue
		}
		for _, d := range fixture.CgroupDirs(parts[2]) {
			entries, _ := os.ReadDir(d)
			var subs []string
			for _, e := range entries {
				if e.IsDir() {
					subs = append(subs, e.Name())
				}
			}
			st["cgroups under "+d] = strings.Join(subs, " ")
		}
	}
	return st
}

// podmanCheckCgroupLines checks that every v1 controller line of a
// /proc/PID/cgroup text names path. name=systemd and the cgroup2 line are
// podman's to leave alone: there a process stays where its parent was.
func podmanCheckCgroupLines(t *testing.T, what, text, path string) {
	t.Helper()
	n := 0
	for _, line := range strings.Split(text, "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 || !strings.HasPrefix(parts[2], "/") || parts[1] == "" || strings.HasPrefix(parts[1], "name=") {
			continue
		}
		n++
		if parts[2] != path {
			t.Errorf("%s: %q, want %s", what, line, path)
		}
	}
	if n == 0 {
		t.Errorf("%s: no controller lines in %q", what, text)
	}
}

func podmanReadCgroup(t *testing.T, controller, path, file string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("/sys/fs/cgroup", controller, path, file))
	if err != nil {
		t.Errorf("read cgroup file: %v", err)
	}
	return strings.TrimSpace(string(b))
}

// podmanNsLine returns the namespace link of kind n from lines "n link".
func podmanNsLine(text, n string) string {
	for _, line := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(line, n+" "); ok {
			return v
		}
	}
	return ""
}

// podmanInPty runs podman with a new pty as its controlling terminal, stdin,
// stdout and stderr, as a terminal emulator would (podman -t wants a real
// terminal), and returns what it wrote, with \r\n turned into \n.
func (p *podman) podmanInPty(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, code := runInPty(t, p.command(ctx, args...), 25, 80)
	if code != 0 {
		t.Errorf("podman %s: exit %d; output %q", strings.Join(args, " "), code, out)
	}
	return out
}

// podmanWaitFor polls cond for up to ~20 s: the tests wait for what a
// container does, never for how long it takes.
func podmanWaitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	if !podmanEventually(cond) {
		t.Fatalf("gave up waiting for %s", what)
	}
}

func podmanEventually(cond func() bool) bool {
	for range 400 {
		if cond() {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return cond()
}

func podmanWriteFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
