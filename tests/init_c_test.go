package tests

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// The container init's set-up exists twice: in C, in the nsenter
// constructor before the Go runtime starts, for the common configs, and in
// Go for the rest. TUPPER_INIT=go in the environment of create or run
// forces the Go one, and create's --debug log says "init: set up in C"
// when the C one ran. These tests run each config through both, compare
// what the container sees, and check it against the config as well, so
// that the two agreeing on a wrong answer fails too.

// cInitMarker is in the message of the debug line create writes when the
// C path set the container up.
const cInitMarker = "init: set up in C"

// initPath is one of the two set-ups and the environment that picks it.
type initPath struct {
	name  string
	env   []string
	wantC bool // the C path must have run
}

// initPaths are the default (the C path, for these configs) and the Go
// path forced. A TUPPER_INIT in the test's own environment is dropped, so
// the default is the binary's own choice.
func initPaths() []initPath {
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "TUPPER_INIT=") })
	return []initPath{
		{"default", env, true},
		{"TUPPER_INIT=go", append(slices.Clone(env), "TUPPER_INIT=go"), false},
	}
}

// tupperEnv is tupperWith with the command's environment set to env.
func tupperEnv(t *testing.T, o opts, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd, outPath, errPath := tupperCmd(t, o, args...)
	cmd.Env = env
	if err := cmd.Start(); err != nil {
		t.Fatalf("start tupper: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(cmdTimeout):
		cmd.Process.Kill()
		err = <-done
		t.Errorf("tupper %s: still running after %v, killed", strings.Join(args, " "), cmdTimeout)
	}
	code = exitCode(t, err)
	stdout, stderr = readFile(t, outPath), readFile(t, errPath)
	if testing.Verbose() {
		t.Logf("tupper %s => %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, stdout, stderr)
	}
	return stdout, stderr, code
}

// createUnder writes c's bundle and creates it under path p with a debug
// log; tookC tells whether the log has the C path's marker line.
func createUnder(t *testing.T, c *ctr, p initPath) (stderr string, code int, tookC bool) {
	t.Helper()
	c.write()
	log := filepath.Join(t.TempDir(), "log.json")
	o := c.opts()
	o.stdout = c.out
	_, stderr, code = tupperEnv(t, o, p.env, "--debug", "--log", log, "--log-format", "json", "create", "--bundle", c.bundle, c.id)
	for _, l := range readJSONLog(t, log) {
		if l.Level == "debug" && strings.Contains(l.Msg, cInitMarker) {
			tookC = true
		}
	}
	return stderr, code, tookC
}

// checkPath fails the test unless the set-up that ran is the one p asks for.
func checkPath(t *testing.T, p initPath, tookC bool) {
	t.Helper()
	switch {
	case p.wantC && !tookC:
		t.Errorf("%s: create's --debug log has no %q line: the C init did not set the container up", p.name, cInitMarker)
	case !p.wantC && tookC:
		t.Errorf("%s: create's --debug log has a %q line: the forced Go init was not used", p.name, cInitMarker)
	}
}

// probeScript prints, in sections that start with "@@ name", what the
// container's process sees. It runs as root or not, so it writes nothing
// but what a check asks for. It exits 3, which run must return.
const probeScript = `echo "@@ pwd"; pwd
echo "@@ umask"; umask
echo "@@ id"; id
echo "@@ status"; cat /proc/self/status
echo "@@ limits"; cat /proc/self/limits
echo "@@ oom_score_adj"; cat /proc/self/oom_score_adj
echo "@@ uts"; hostname; cat /proc/sys/kernel/domainname
echo "@@ env"; env | sort
echo "@@ mountinfo"; cat /proc/self/mountinfo
echo "@@ dev"; (cd /dev && for f in $(ls -A); do stat -c '%N|%F|%a|%u:%g|%t:%T' "$f"; done)
echo "@@ devpts"; ls -A /dev/pts
echo "@@ sysctl"; cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmax
echo "@@ keys"; cat /proc/keys 2>&1
echo "@@ checks"
probe() { name=$1; shift; out=$("$@" 2>&1); echo "$name: rc=$? $(echo $out)"; }
`

// probeCheck is one command of the "checks" section: its line reads
// "name: rc=N output", and must equal want when want is not empty.
type probeCheck struct {
	name, cmd, want string
}

func probeArgs(checks []probeCheck) []string {
	var b strings.Builder
	b.WriteString(probeScript)
	for _, c := range checks {
		fmt.Fprintf(&b, "probe %s %s\n", c.name, c.cmd)
	}
	b.WriteString("exit 3\n")
	return []string{"sh", "-c", b.String()}
}

// probeOut is the probe's output split into its sections, normalised.
type probeOut map[string]string

// parseProbe splits the probe's output into sections and normalises what
// legitimately differs between two containers: the container's id, its
// rootfs path, and in mountinfo the mount and parent ids, device numbers
// and peer group numbers; /proc/self/status keeps only the identity and
// privilege lines; /proc/keys loses the key serials and timeouts.
func parseProbe(out string, c *ctr) probeOut {
	out = strings.ReplaceAll(out, c.key, "<id>")
	out = strings.ReplaceAll(out, c.spec.Root.Path, "<rootfs>")
	sections := probeOut{}
	name := ""
	for _, line := range strings.SplitAfter(out, "\n") {
		if n, ok := strings.CutPrefix(line, "@@ "); ok {
			name = strings.TrimSpace(n)
			sections[name] = ""
			continue
		}
		sections[name] += line
	}
	sections["mountinfo"] = normaliseMountinfo(sections["mountinfo"])
	sections["status"] = keepStatus(sections["status"])
	sections["keys"] = normaliseKeys(sections["keys"])
	return sections
}

// normaliseMountinfo keeps of each line the mount point, the root of the
// mount, the per-mount options, the propagation tags without their peer
// group numbers, the type, the source and the super-block options. Lines
// are sorted by mount point (stably, so mounts stacked at one point keep
// their order): the two paths may mount unrelated points in another order.
func normaliseMountinfo(s string) string {
	type entry struct{ point, text string }
	var entries []entry
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		f, g := strings.Fields(pre), strings.Fields(post)
		if !ok || len(f) < 6 || len(g) < 3 {
			entries = append(entries, entry{"", "unparsed: " + line})
			continue
		}
		var tags []string
		for _, o := range f[6:] {
			tag, _, _ := strings.Cut(o, ":")
			tags = append(tags, tag)
		}
		entries = append(entries, entry{f[4], fmt.Sprintf("%s root=%s %s [%s] - %s %s %s",
			f[4], f[3], f[5], strings.Join(tags, " "), g[0], g[1], g[2])})
	}
	sort.SliceStable(entries, func(i, j int) bool { return entries[i].point < entries[j].point })
	var b strings.Builder
	for _, e := range entries {
		b.WriteString(e.text + "\n")
	}
	return b.String()
}

// statusKeys are the /proc/self/status lines the tests compare.
var statusKeys = []string{
	"Umask", "Uid", "Gid", "Groups", "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb",
	"NoNewPrivs", "Seccomp", "Seccomp_filters",
}

func keepStatus(s string) string {
	var b strings.Builder
	for _, line := range strings.Split(s, "\n") {
		k, _, _ := strings.Cut(line, ":")
		if slices.Contains(statusKeys, k) {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

// normaliseKeys drops the serial and the usage count of each /proc/keys
// line: "0b140c33 I--Q---    97 perm 3f130000     0     0 keyring   _ses.ID: empty".
func normaliseKeys(s string) string {
	var b strings.Builder
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		if f := strings.Fields(line); len(f) > 3 && len(f[0]) == 8 {
			line = strings.Join(append([]string{f[1]}, f[3:]...), " ")
		}
		b.WriteString(line + "\n")
	}
	return b.String()
}

// sameProbe fails the test for each section that differs between two
// outputs (the two paths', or create's and run's), showing both.
func sameProbe(t *testing.T, what string, paths []initPath, outs []probeOut) {
	t.Helper()
	a, b := outs[0], outs[1]
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	var names []string
	for k := range keys {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if a[k] != b[k] {
			t.Errorf("%s: section %q differs\n%s:\n%s\n%s:\n%s", what, k, paths[0].name, a[k], paths[1].name, b[k])
		}
	}
}

// initRun is what one path made of a config.
type initRun struct {
	created probeOut // create, start, and the output once it stopped
	run     probeOut // a second container run in the foreground
	code    int      // run's exit code
}

// runBoth builds a container with build for each path, creates and
// starts it, and runs a second one in the foreground; it checks the path
// each create took and compares the two paths' outputs.
func runBoth(t *testing.T, checks []probeCheck, build func(t *testing.T, c *ctr)) []initRun {
	t.Helper()
	paths := initPaths()
	var runs []initRun
	for _, p := range paths {
		c := newCtr(t, probeArgs(checks)...)
		build(t, c)
		stderr, code, tookC := createUnder(t, c, p)
		if code != 0 {
			t.Fatalf("%s: create: exit %d: %s", p.name, code, stderr)
		}
		checkPath(t, p, tookC)
		c.must("start", nil)
		c.waitStatus(specs.StateStopped)
		var r initRun
		r.created = parseProbe(readFile(t, c.out), c)

		c2 := newCtr(t, probeArgs(checks)...)
		build(t, c2)
		c2.write()
		out, stderr, code := tupperEnv(t, c2.opts(), p.env, "run", "--bundle", c2.bundle, c2.id)
		r.run, r.code = parseProbe(out, c2), code
		if code != 3 {
			t.Errorf("%s: run: exit %d, want the process's 3; stderr %q", p.name, code, stderr)
		}
		sameProbe(t, p.name+": create and start against run", []initPath{{name: "create"}, {name: "run"}}, []probeOut{r.created, r.run})
		runs = append(runs, r)
	}
	sameProbe(t, "create and start", paths, []probeOut{runs[0].created, runs[1].created})
	sameProbe(t, "run", paths, []probeOut{runs[0].run, runs[1].run})
	if runs[0].code != runs[1].code {
		t.Errorf("run's exit code: %d with %s, %d with %s", runs[0].code, paths[0].name, runs[1].code, paths[1].name)
	}
	checkDevices(t)
	return runs
}

// wantLines fails the test unless section sec of out holds each line.
func wantLines(t *testing.T, out probeOut, sec string, lines ...string) {
	t.Helper()
	have := strings.Split(out[sec], "\n")
	for _, l := range lines {
		if !slices.Contains(have, l) {
			t.Errorf("%s: no line %q in:\n%s", sec, l, out[sec])
		}
	}
}

// wantSection fails the test unless section sec of out is exactly want.
func wantSection(t *testing.T, out probeOut, sec, want string) {
	t.Helper()
	if out[sec] != want {
		t.Errorf("%s: %q, want %q", sec, out[sec], want)
	}
}

// wantStatus checks the /proc/self/status lines in want.
func wantStatus(t *testing.T, out probeOut, want map[string]string) {
	t.Helper()
	got := statusFields(out["status"])
	for _, k := range statusKeys {
		if w, ok := want[k]; ok && got[k] != w {
			t.Errorf("status %s: %q, want %q", k, got[k], w)
		}
	}
}

// wantLimit checks one line of /proc/self/limits, such as "Max open files".
func wantLimit(t *testing.T, out probeOut, name, soft, hard string) {
	t.Helper()
	for _, line := range strings.Split(out["limits"], "\n") {
		if rest, ok := strings.CutPrefix(line, name+" "); ok {
			if f := strings.Fields(rest); len(f) < 2 || f[0] != soft || f[1] != hard {
				t.Errorf("limits: %q, want soft %s and hard %s", line, soft, hard)
			}
			return
		}
	}
	t.Errorf("limits: no %q line in:\n%s", name, out["limits"])
}

// wantMount checks the topmost mount at point in the probe's normalised
// mountinfo: its type (when not empty), each option in opts (per-mount
// and super-block together) and its propagation tags (nil: none).
func wantMount(t *testing.T, out probeOut, point, fstype string, opts []string, tags []string) {
	t.Helper()
	var line string
	for _, l := range strings.Split(out["mountinfo"], "\n") {
		if strings.HasPrefix(l, point+" ") {
			line = l
		}
	}
	if line == "" {
		t.Errorf("mountinfo: nothing mounted at %s", point)
		return
	}
	pre, post, _ := strings.Cut(line, " - ")
	f, g := strings.Fields(pre), strings.Fields(post)
	have := map[string]bool{}
	for _, o := range strings.Split(f[2]+","+g[2], ",") {
		have[o] = true
	}
	if fstype != "" && g[0] != fstype {
		t.Errorf("mountinfo %s: type %s, want %s", point, g[0], fstype)
	}
	for _, o := range opts {
		if !have[o] {
			t.Errorf("mountinfo %s: no option %s in %q", point, o, line)
		}
	}
	gotTags := strings.Fields(strings.Trim(strings.Join(f[3:], " "), "[]"))
	if tags != nil && !slices.Equal(gotTags, tags) || tags == nil && len(gotTags) > 0 {
		t.Errorf("mountinfo %s: propagation %q, want %q", point, gotTags, tags)
	}
}

// plainChecks probe the default spec's masked and read-only paths as root.
var plainChecks = []probeCheck{
	{"masked-timer_list", "head -c 1 /proc/timer_list", "rc=0 "},
	{"masked-keys", "head -c 1 /proc/keys", "rc=0 "},
	{"ro-proc-sys", "sh -c 'echo 1 > /proc/sys/net/ipv4/ip_forward'", "rc=1 sh: can't create /proc/sys/net/ipv4/ip_forward: Read-only file system"},
	{"ro-sys", "touch /sys/probe", "rc=1 touch: /sys/probe: Read-only file system"},
	{"dev-write", "sh -c 'echo x > /dev/null'", "rc=0 "},
}

// TestInitCPlain: the config the other tests use for plain containers
// gives the same container through both inits.
func TestInitCPlain(t *testing.T) {
	own, err := os.ReadFile("/proc/self/oom_score_adj")
	if err != nil {
		t.Fatal(err)
	}
	runs := runBoth(t, plainChecks, func(t *testing.T, c *ctr) {})
	for i, p := range initPaths() {
		t.Run(p.name, func(t *testing.T) {
			out := runs[i].created
			wantSection(t, out, "pwd", "/\n")
			wantSection(t, out, "umask", "0022\n")
			wantSection(t, out, "id", "uid=0(root) gid=0(root)\n")
			wantSection(t, out, "uts", "tupper-test\n(none)\n")
			wantSection(t, out, "oom_score_adj", string(own))
			caps := capMask(t, defaultCaps())
			wantStatus(t, out, map[string]string{
				"Uid": "0\t0\t0\t0", "Gid": "0\t0\t0\t0", "Groups": "",
				"CapInh": capMask(t, nil), "CapPrm": caps, "CapEff": caps, "CapBnd": caps, "CapAmb": capMask(t, nil),
				"NoNewPrivs": "1", "Seccomp": "0",
			})
			wantLimit(t, out, "Max open files", "1024", "1024")
			wantMount(t, out, "/proc", "proc", []string{"rw"}, nil)
			wantMount(t, out, "/dev", "tmpfs", []string{"nosuid", "mode=755"}, nil)
			wantMount(t, out, "/dev/pts", "devpts", []string{"nosuid", "noexec", "mode=620", "ptmxmode=666", "gid=5"}, nil)
			wantMount(t, out, "/dev/shm", "tmpfs", []string{"nosuid", "nodev", "noexec"}, nil)
			wantMount(t, out, "/dev/mqueue", "mqueue", []string{"nosuid", "nodev", "noexec"}, nil)
			wantMount(t, out, "/sys", "sysfs", []string{"ro", "nosuid", "nodev", "noexec"}, nil)
			wantMount(t, out, "/proc/sys", "proc", []string{"ro"}, nil)
			wantMount(t, out, "/proc/timer_list", "", nil, nil)
			wantLines(t, out, "dev", devLines()...)
			var checks []string
			for _, c := range plainChecks {
				checks = append(checks, c.name+": "+c.want)
			}
			wantLines(t, out, "checks", checks...)
		})
	}
}

// devLines are the /dev entries every container has, as the probe prints them.
func devLines() []string {
	return []string{
		"null|character special file|666|0:0|1:3",
		"zero|character special file|666|0:0|1:5",
		"full|character special file|666|0:0|1:7",
		"random|character special file|666|0:0|1:8",
		"urandom|character special file|666|0:0|1:9",
		"tty|character special file|666|0:0|5:0",
		"'ptmx' -> 'pts/ptmx'|symbolic link|777|0:0|0:0",
		"'fd' -> '/proc/self/fd'|symbolic link|777|0:0|0:0",
		"'stdin' -> '/proc/self/fd/0'|symbolic link|777|0:0|0:0",
		"'stdout' -> '/proc/self/fd/1'|symbolic link|777|0:0|0:0",
		"'stderr' -> '/proc/self/fd/2'|symbolic link|777|0:0|0:0",
	}
}

// linkTarget is where a symlink in the rich rootfs points: an absolute
// path that must be resolved inside the rootfs, and that the host lacks.
const linkTarget = "/tupper-c-init-link-target"

// richHost is what the rich config binds from the host, shared by every
// container of a test so that their mountinfo matches.
type richHost struct {
	dir, rwDir, file string
}

func newRichHost(t *testing.T) *richHost {
	t.Helper()
	h := &richHost{dir: t.TempDir(), rwDir: t.TempDir(), file: filepath.Join(t.TempDir(), "file.txt")}
	// World-writable, so that a refused write is the mount's doing.
	for _, d := range []string{h.dir, h.rwDir} {
		if err := os.Chmod(d, 0o777); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(h.dir, "hello"), []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(h.file, []byte("from host\n"), 0o666); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(h.file, 0o666); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(linkTarget); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the host has %s (%v): the symlink test needs it absent", linkTarget, err)
	}
	return h
}

// check fails the test if a container wrote to the host's bound files or
// a symlink's target was resolved on the host.
func (h *richHost) check(t *testing.T) {
	t.Helper()
	for _, d := range []string{h.dir, h.rwDir} {
		entries, _ := os.ReadDir(d)
		for _, e := range entries {
			if e.Name() != "hello" {
				t.Errorf("a container wrote %s to the host", filepath.Join(d, e.Name()))
			}
		}
	}
	if b, err := os.ReadFile(h.file); err != nil || string(b) != "from host\n" {
		t.Errorf("host file %s: %q, %v; want it unchanged", h.file, b, err)
	}
	if _, err := os.Lstat(linkTarget); !errors.Is(err, os.ErrNotExist) {
		os.RemoveAll(linkTarget)
		t.Errorf("the symlink's target %s was made on the host (%v)", linkTarget, err)
	}
	checkNotMounted(t, linkTarget)
}

var nbs = []string{"CAP_NET_BIND_SERVICE"}

// richSysctls are the rich config's linux.sysctl, with ip_forward the
// opposite of the host's.
func richSysctls(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_forward")
	if err != nil {
		t.Fatal(err)
	}
	return map[string]string{"net.ipv4.ip_forward": flip(string(b)), "kernel.shmmax": "123456789"}
}

// hostHard is this process's hard limit of resource r, capped at max.
func hostHard(t *testing.T, r int, max uint64) uint64 {
	t.Helper()
	var l unix.Rlimit
	if err := unix.Getrlimit(r, &l); err != nil {
		t.Fatal(err)
	}
	return min(l.Max, max)
}

// richConfig is a config with most of what the C init does: a private
// rootfs (read-only, with a symlink a mount goes through, a file and a
// directory to mask), binds of a directory and a file, a tmpfs, /dev
// read-only, an extra device, masked and read-only paths, hostname and
// domainname, sysctls, rlimits, umask, a missing cwd, oomScoreAdj, a
// non-root user with groups, a few capabilities with an ambient one,
// no_new_privs, a seccomp profile and an environment.
func richConfig(h *richHost, sysctls map[string]string, nofile, memlock uint64) func(t *testing.T, c *ctr) {
	return func(t *testing.T, c *ctr) {
		root := privateRootfs(t)
		for _, d := range []string{"secretdir", strings.TrimPrefix(linkTarget, "/")} {
			if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		for name, content := range map[string]string{"etc/secret": "secret\n", "secretdir/key": "key\n"} {
			if err := os.WriteFile(filepath.Join(root, name), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Symlink(linkTarget, filepath.Join(root, "linkdir")); err != nil {
			t.Fatal(err)
		}
		s := c.spec
		s.Root = &specs.Root{Path: root, Readonly: true}
		s.Hostname, s.Domainname = "c-init-rich", "example.test"
		s.Process.User = specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{5, 65534}, Umask: uint32Ptr(0o027)}
		s.Process.Cwd = "/work/a/b"
		s.Process.Env = []string{"PATH=/bin:/usr/bin", "HOME=/home/u", "FOO=bar baz", "EMPTY=", "EQUALS=a=b"}
		s.Process.Capabilities = &specs.LinuxCapabilities{
			Bounding:  []string{"CAP_NET_BIND_SERVICE", "CAP_KILL", "CAP_CHOWN"},
			Effective: nbs, Permitted: nbs, Inheritable: nbs, Ambient: nbs,
		}
		s.Process.NoNewPrivileges = true
		s.Process.OOMScoreAdj = intPtr(500)
		s.Process.Rlimits = []specs.POSIXRlimit{
			{Type: "RLIMIT_NOFILE", Soft: 1000, Hard: nofile},
			{Type: "RLIMIT_CORE", Soft: 4096, Hard: 8192},
			{Type: "RLIMIT_MEMLOCK", Soft: memlock / 2, Hard: memlock},
		}
		for i := range s.Mounts {
			if s.Mounts[i].Destination == "/dev" {
				s.Mounts[i].Options = append(s.Mounts[i].Options, "ro")
			}
		}
		s.Mounts = append(s.Mounts,
			specs.Mount{Destination: "/work", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "nodev", "size=2m", "mode=1775"}},
			specs.Mount{Destination: "/mnt/dir", Type: "bind", Source: h.dir, Options: []string{"rbind", "ro", "rprivate"}},
			specs.Mount{Destination: "/mnt/file.txt", Type: "bind", Source: h.file, Options: []string{"bind", "ro"}},
			specs.Mount{Destination: "/mnt/rw", Type: "bind", Source: h.rwDir, Options: []string{"rbind", "rslave"}},
			specs.Mount{Destination: "/linkdir/data", Type: "tmpfs", Source: "tmpfs", Options: []string{"size=1m", "mode=755"}},
		)
		s.Linux.RootfsPropagation = "rslave"
		s.Linux.Devices = []specs.LinuxDevice{{
			Path: "/dev/mynull", Type: "c", Major: 1, Minor: 3, FileMode: fileMode(0o620), UID: uint32Ptr(5), GID: uint32Ptr(6),
		}}
		// /proc/keys unmasked, so that the probe sees the session keyring.
		s.Linux.MaskedPaths = append(slices.DeleteFunc(s.Linux.MaskedPaths, func(p string) bool { return p == "/proc/keys" }),
			"/etc/secret", "/secretdir", "/no/such/path")
		s.Linux.ReadonlyPaths = append(s.Linux.ReadonlyPaths, "/mnt/rw")
		s.Linux.Sysctl = sysctls
		s.Linux.Seccomp = denyMkdir(specs.ActErrno, errnoRet(unix.EMLINK))
	}
}

// richChecks probe the rich config's paths as its non-root user.
var richChecks = []probeCheck{
	{"masked-file", "cat /etc/secret", "rc=0 "},
	{"masked-dir", "ls -A /secretdir", "rc=0 "},
	{"masked-missing", "test -e /no/such/path", "rc=1 "},
	{"masked-timer_list", "head -c 1 /proc/timer_list", "rc=0 "},
	{"bind-dir", "cat /mnt/dir/hello", "rc=0 hello"},
	{"bind-file", "cat /mnt/file.txt", "rc=0 from host"},
	{"ro-bind-dir", "touch /mnt/dir/probe", "rc=1 touch: /mnt/dir/probe: Read-only file system"},
	{"ro-bind-file", "sh -c 'echo x >> /mnt/file.txt'", "rc=1 sh: can't create /mnt/file.txt: Read-only file system"},
	{"ro-path", "touch /mnt/rw/probe", "rc=1 touch: /mnt/rw/probe: Read-only file system"},
	{"ro-root", "touch /probe", "rc=1 touch: /probe: Read-only file system"},
	{"ro-dev", "touch /dev/probe", "rc=1 touch: /dev/probe: Read-only file system"},
	{"ro-proc-sys", "sh -c 'echo 1 > /proc/sys/kernel/shmmax'", ""},
	{"seccomp", "mkdir /work/sc", "rc=1 mkdir: can't create directory '/work/sc': Too many links"},
	{"link", "readlink /linkdir", "rc=0 " + linkTarget},
	{"through-link", "ls -A /linkdir/data", "rc=0 "},
	{"cwd", "stat -c '%u:%g %a' .", ""},
	{"mynull-write", "sh -c 'echo x > /dev/mynull'", ""},
	{"dev-write", "sh -c 'echo x > /dev/null'", "rc=0 "},
}

// wantRich checks the probe's output of the rich config against the config.
func wantRich(t *testing.T, out probeOut, sysctls map[string]string, nofile, memlock uint64) {
	t.Helper()
	wantSection(t, out, "pwd", "/work/a/b\n")
	wantSection(t, out, "umask", "0027\n")
	wantSection(t, out, "id", "uid=1000 gid=1000 groups=5(tty),65534(nogroup)\n")
	wantSection(t, out, "uts", "c-init-rich\nexample.test\n")
	wantSection(t, out, "oom_score_adj", "500\n")
	wantSection(t, out, "sysctl", sysctls["net.ipv4.ip_forward"]+"\n"+sysctls["kernel.shmmax"]+"\n")
	wantStatus(t, out, map[string]string{
		"Umask": "0027", "Uid": "1000\t1000\t1000\t1000", "Gid": "1000\t1000\t1000\t1000", "Groups": "5 65534",
		"CapInh": capMask(t, nbs), "CapPrm": capMask(t, nbs), "CapEff": capMask(t, nbs),
		"CapBnd": capMask(t, []string{"CAP_NET_BIND_SERVICE", "CAP_KILL", "CAP_CHOWN"}), "CapAmb": capMask(t, nbs),
		"NoNewPrivs": "1", "Seccomp": "2",
	})
	wantLimit(t, out, "Max open files", "1000", strconv.FormatUint(nofile, 10))
	wantLimit(t, out, "Max core file size", "4096", "8192")
	wantLimit(t, out, "Max locked memory", strconv.FormatUint(memlock/2, 10), strconv.FormatUint(memlock, 10))
	wantLines(t, out, "env", "PATH=/bin:/usr/bin", "HOME=/home/u", "FOO=bar baz", "EMPTY=", "EQUALS=a=b")
	wantLines(t, out, "dev", append(devLines(), "mynull|character special file|620|5:6|1:3")...)
	wantMount(t, out, "/", "", []string{"ro"}, nil)
	wantMount(t, out, "/dev", "tmpfs", []string{"ro", "nosuid", "mode=755"}, nil)
	wantMount(t, out, "/work", "tmpfs", []string{"nosuid", "nodev", "size=2048k", "mode=1775"}, nil)
	wantMount(t, out, "/mnt/dir", "", []string{"ro"}, nil)
	wantMount(t, out, "/mnt/file.txt", "", []string{"ro"}, nil)
	wantMount(t, out, "/mnt/rw", "", []string{"ro"}, nil)
	wantMount(t, out, linkTarget+"/data", "tmpfs", []string{"size=1024k", "mode=755"}, nil)
	wantMount(t, out, "/etc/secret", "", nil, nil)
	wantMount(t, out, "/secretdir", "tmpfs", []string{"ro"}, nil)
	wantMount(t, out, "/proc/sys", "proc", []string{"ro"}, nil)
	if strings.Contains(out["mountinfo"], "/linkdir") || strings.Contains(out["mountinfo"], "/no/such") {
		t.Errorf("mountinfo: a mount at the symlink's own path or at a missing masked path:\n%s", out["mountinfo"])
	}
	var checks []string
	for _, c := range richChecks {
		if c.want != "" {
			checks = append(checks, c.name+": "+c.want)
		}
	}
	wantLines(t, out, "checks", checks...)
}

// TestInitCRich: a config with most of what the C init does gives the
// same container through both inits, and the one the config asks for.
func TestInitCRich(t *testing.T) {
	h := newRichHost(t)
	sysctls := richSysctls(t)
	nofile := hostHard(t, unix.RLIMIT_NOFILE, 2000)
	memlock := hostHard(t, unix.RLIMIT_MEMLOCK, 128<<10)
	runs := runBoth(t, richChecks, richConfig(h, sysctls, nofile, memlock))
	for i, p := range initPaths() {
		t.Run(p.name, func(t *testing.T) {
			out := runs[i].created
			wantRich(t, out, sysctls, nofile, memlock)
			// The container's own session keyring, which /proc/keys
			// shows once unmasked; the rest of its line is compared
			// between the inits. (Not in TestInitCExec: exec's process
			// keeps the caller's session keyring.)
			if !strings.Contains(out["keys"], " keyring _ses.<id>: ") {
				t.Errorf("keys: no session keyring _ses.<id> in:\n%s", out["keys"])
			}
		})
	}
	h.check(t)
}

// TestInitCExec: exec into a container each init made runs with the
// container's process settings and sees the same container.
func TestInitCExec(t *testing.T) {
	h := newRichHost(t)
	sysctls := richSysctls(t)
	nofile := hostHard(t, unix.RLIMIT_NOFILE, 2000)
	memlock := hostHard(t, unix.RLIMIT_MEMLOCK, 128<<10)
	for _, tc := range []struct {
		name   string
		build  func(t *testing.T, c *ctr)
		checks []probeCheck
		want   func(t *testing.T, out probeOut)
	}{
		{"plain", func(t *testing.T, c *ctr) {}, plainChecks, func(t *testing.T, out probeOut) {
			caps := capMask(t, defaultCaps())
			wantStatus(t, out, map[string]string{
				"Uid": "0\t0\t0\t0", "CapPrm": caps, "CapEff": caps, "CapBnd": caps, "CapAmb": capMask(t, nil), "NoNewPrivs": "1", "Seccomp": "0",
			})
		}},
		{"rich", richConfig(h, sysctls, nofile, memlock), richChecks, func(t *testing.T, out probeOut) {
			wantRich(t, out, sysctls, nofile, memlock)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			paths := initPaths()
			var outs []probeOut
			for _, p := range paths {
				c := newCtr(t, "sleep", "1000")
				tc.build(t, c)
				stderr, code, tookC := createUnder(t, c, p)
				if code != 0 {
					t.Fatalf("%s: create: exit %d: %s", p.name, code, stderr)
				}
				checkPath(t, p, tookC)
				c.must("start", nil)
				c.waitStatus(specs.StateRunning)
				out, stderr, code := c.exec(nil, probeArgs(tc.checks)...)
				if code != 3 {
					t.Errorf("%s: exec: exit %d, want the process's 3; stderr %q", p.name, code, stderr)
				}
				o := parseProbe(out, c)
				t.Run(p.name, func(t *testing.T) { tc.want(t, o) })
				outs = append(outs, o)
			}
			sameProbe(t, "exec", paths, outs)
			checkDevices(t)
		})
	}
	h.check(t)
}

// TestInitCErrors: a config the init cannot set up fails with the same
// message and exit code through both inits, and leaves nothing behind.
func TestInitCErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing")
	for _, tc := range []struct {
		name  string
		setup func(c *ctr)
		words []string
	}{
		{"bind source missing", func(c *ctr) {
			c.spec.Mounts = append(c.spec.Mounts, specs.Mount{Destination: "/mnt/x", Type: "bind", Source: missing, Options: []string{"rbind"}})
		}, []string{missing}},
		{"unknown filesystem", func(c *ctr) {
			c.spec.Mounts = append(c.spec.Mounts, specs.Mount{Destination: "/mnt/x", Type: "nosuchfs", Source: "none"})
		}, []string{"/mnt/x"}},
		{"tmpfs on a file", func(c *ctr) {
			c.spec.Mounts = append(c.spec.Mounts, specs.Mount{Destination: "/bin/busybox", Type: "tmpfs", Source: "tmpfs"})
		}, []string{"/bin/busybox"}},
		{"command not in PATH", func(c *ctr) { c.spec.Process.Args = []string{"nosuchcommand"} },
			[]string{"executable file not found"}},
		{"missing executable", func(c *ctr) { c.spec.Process.Args = []string{"/no/such/binary"} },
			[]string{"no such file or directory"}},
		{"not executable", func(c *ctr) { c.spec.Process.Args = []string{"/etc/passwd"} },
			[]string{"permission denied"}},
		{"cwd a file", func(c *ctr) { c.spec.Process.Cwd = "/bin/busybox" }, []string{"not a directory"}},
		{"missing sysctl", func(c *ctr) { c.spec.Linux.Sysctl = map[string]string{"net.ipv4.conf.nosuchif.forwarding": "1"} },
			[]string{"net.ipv4.conf.nosuchif.forwarding"}},
		{"mount under a file", func(c *ctr) {
			c.spec.Mounts = append(c.spec.Mounts, specs.Mount{Destination: "/etc/passwd/sub", Type: "tmpfs", Source: "tmpfs"})
		}, []string{"/etc/passwd/sub"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			paths := initPaths()
			var got []string
			for _, p := range paths {
				c := newCtr(t, "true")
				c.root = t.TempDir()
				tc.setup(c)
				stage := "create"
				stderr, code, tookC := createUnder(t, c, p)
				if code == 0 {
					stage = "start"
					_, stderr, code = tupperEnv(t, c.opts(), p.env, "start", c.id)
					tupperWith(t, c.opts(), "delete", "--force", c.id)
				}
				if !p.wantC && tookC {
					checkPath(t, p, tookC)
				}
				t.Logf("%s: %s failed (C path's marker in create's log: %v): exit %d: %s", p.name, stage, tookC, code, stderr)
				wantError(t, p.name+": "+stage, code, stderr, tc.words...)
				got = append(got, fmt.Sprintf("%s: exit %d: %s", stage, code, strings.ReplaceAll(stderr, c.id, "<id>")))
				assertCreateLeftNothing(t, c, false)
			}
			if got[0] != got[1] {
				t.Errorf("the inits fail differently\n%s: %s\n%s: %s", paths[0].name, got[0], paths[1].name, got[1])
			}
			checkDevices(t)
		})
	}
}
