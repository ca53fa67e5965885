package tests

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The container process's identity, privileges, limits and environment,
// checked from inside.

// capNumbers are the capabilities these tests name (capability.h).
var capNumbers = map[string]uint{
	"CAP_CHOWN": 0, "CAP_DAC_OVERRIDE": 1, "CAP_FOWNER": 3, "CAP_FSETID": 4, "CAP_KILL": 5,
	"CAP_SETGID": 6, "CAP_SETUID": 7, "CAP_SETPCAP": 8, "CAP_NET_BIND_SERVICE": 10,
	"CAP_NET_RAW": 13, "CAP_SYS_CHROOT": 18, "CAP_SYS_RESOURCE": 24, "CAP_MKNOD": 27,
	"CAP_AUDIT_WRITE": 29, "CAP_SETFCAP": 31,
}

// capMask is a set of capabilities as /proc/PID/status prints it.
func capMask(t *testing.T, names []string) string {
	t.Helper()
	var m uint64
	for _, n := range names {
		bit, ok := capNumbers[n]
		if !ok {
			t.Fatalf("capNumbers lacks %s", n)
		}
		m |= 1 << bit
	}
	return fmt.Sprintf("%016x", m)
}

// statusFields parses /proc/PID/status text into its "Name:\tvalue" pairs.
func statusFields(s string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(s, "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			m[k] = strings.TrimSpace(v)
		}
	}
	return m
}

// haveCap tells whether this test process has capability n in its effective set.
func haveCap(t *testing.T, n uint) bool {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	eff, err := strconv.ParseUint(statusFields(string(b))["CapEff"], 16, 64)
	if err != nil {
		t.Fatal(err)
	}
	return eff&(1<<n) != 0
}

func TestProcessCapabilities(t *testing.T) {
	nbs := []string{"CAP_NET_BIND_SERVICE"}
	for _, tc := range []struct {
		name  string
		setup func(p *specs.Process)
		// want maps a /proc/PID/status key to a capability set, or to a
		// literal value when it is not a Cap* key.
		want map[string][]string
		nnp  string
	}{
		{"root", func(p *specs.Process) {}, map[string][]string{
			"CapInh": nil, "CapPrm": defaultCaps(), "CapEff": defaultCaps(), "CapBnd": defaultCaps(), "CapAmb": nil,
		}, "1"},
		{"new privileges allowed", func(p *specs.Process) { p.NoNewPrivileges = false }, map[string][]string{
			"CapEff": defaultCaps(),
		}, "0"},
		{"no capabilities", func(p *specs.Process) { p.Capabilities = &specs.LinuxCapabilities{} }, map[string][]string{
			"CapInh": nil, "CapPrm": nil, "CapEff": nil, "CapBnd": nil, "CapAmb": nil,
		}, "1"},
		{"small bounding set", func(p *specs.Process) {
			p.Capabilities = &specs.LinuxCapabilities{Bounding: []string{"CAP_KILL", "CAP_CHOWN"}, Effective: []string{"CAP_KILL"}, Permitted: []string{"CAP_KILL"}}
		}, map[string][]string{
			// execve as root would grant the whole bounding set, but under
			// no_new_privs the kernel keeps permitted to what it was.
			"CapBnd": {"CAP_KILL", "CAP_CHOWN"}, "CapPrm": {"CAP_KILL"}, "CapEff": {"CAP_KILL"}, "CapAmb": nil,
		}, "1"},
		{"small bounding set, new privileges allowed", func(p *specs.Process) {
			p.NoNewPrivileges = false
			p.Capabilities = &specs.LinuxCapabilities{Bounding: []string{"CAP_KILL", "CAP_CHOWN"}, Effective: []string{"CAP_KILL"}, Permitted: []string{"CAP_KILL"}}
		}, map[string][]string{
			// execve as root grants the whole bounding set (capabilities(7)).
			"CapBnd": {"CAP_KILL", "CAP_CHOWN"}, "CapPrm": {"CAP_KILL", "CAP_CHOWN"}, "CapEff": {"CAP_KILL", "CAP_CHOWN"}, "CapAmb": nil,
		}, "0"},
		{"non-root loses them", func(p *specs.Process) { p.User = specs.User{UID: 1000, GID: 1000} }, map[string][]string{
			"CapInh": nil, "CapPrm": nil, "CapEff": nil, "CapBnd": defaultCaps(), "CapAmb": nil,
		}, "1"},
		{"non-root with ambient", func(p *specs.Process) {
			p.User = specs.User{UID: 1000, GID: 1000}
			c := p.Capabilities
			c.Effective, c.Permitted, c.Inheritable, c.Ambient = nbs, nbs, nbs, nbs
		}, map[string][]string{
			"CapInh": nbs, "CapPrm": nbs, "CapEff": nbs, "CapBnd": defaultCaps(), "CapAmb": nbs,
		}, "1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCtr(t, "cat", "/proc/self/status")
			tc.setup(c.spec.Process)
			got := statusFields(c.mustRun())
			for _, k := range []string{"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"} {
				names, ok := tc.want[k]
				if !ok {
					continue
				}
				if want := capMask(t, names); got[k] != want {
					t.Errorf("%s: %s, want %s (%v)", k, got[k], want, names)
				}
			}
			if got["NoNewPrivs"] != tc.nnp {
				t.Errorf("NoNewPrivs: %q, want %q", got["NoNewPrivs"], tc.nnp)
			}
		})
	}
}

// defaultCaps are the capabilities of fixture.Spec.
func defaultCaps() []string {
	return []string{
		"CAP_AUDIT_WRITE", "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID",
		"CAP_KILL", "CAP_MKNOD", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW", "CAP_SETFCAP",
		"CAP_SETGID", "CAP_SETPCAP", "CAP_SETUID", "CAP_SYS_CHROOT",
	}
}

// hostHardNofile is this test process's hard RLIMIT_NOFILE.
func hostHardNofile(t *testing.T) uint64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/limits")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "Max open files"); ok {
			f := strings.Fields(rest)
			n, err := strconv.ParseUint(f[1], 10, 64)
			if err != nil {
				t.Fatalf("hard open files %q: %v", f[1], err)
			}
			return n
		}
	}
	t.Fatal("no open files line in /proc/self/limits")
	return 0
}

func TestProcessRlimits(t *testing.T) {
	hard := hostHardNofile(t)
	t.Run("ulimit", func(t *testing.T) {
		c := newCtr(t, "sh", "-c", "ulimit -n; ulimit -Hn; grep 'Max core' /proc/self/limits")
		c.spec.Process.Rlimits = []specs.POSIXRlimit{
			{Type: "RLIMIT_NOFILE", Soft: 1000, Hard: min(2000, hard)},
			{Type: "RLIMIT_CORE", Soft: 4096, Hard: 8192},
		}
		out := strings.Split(c.mustRun(), "\n")
		if len(out) < 3 {
			t.Fatalf("output %q", out)
		}
		if want := []string{"1000", strconv.FormatUint(min(2000, hard), 10)}; !slices.Equal(out[:2], want) {
			t.Errorf("ulimit -n, -Hn: %q, want %q", out[:2], want)
		}
		if f := strings.Fields(out[2]); len(f) < 6 || f[4] != "4096" || f[5] != "8192" {
			t.Errorf("core limits: %q, want soft 4096 and hard 8192", out[2])
		}
	})
	t.Run("above the caller's hard limit", func(t *testing.T) {
		if haveCap(t, capNumbers["CAP_SYS_RESOURCE"]) {
			t.Skip("with CAP_SYS_RESOURCE any hard limit can be raised")
		}
		c := newCtr(t, "true")
		c.root = t.TempDir()
		c.spec.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 1024, Hard: hard + 10000}}
		_, stderr, code := c.run()
		wantError(t, "run", code, stderr, "process.rlimits[0]: setrlimit RLIMIT_NOFILE: operation not permitted")
		assertNoLeak(t, c)
	})
	for _, tc := range []struct {
		name string
		rl   specs.POSIXRlimit
		want string
	}{
		{"unknown type", specs.POSIXRlimit{Type: "RLIMIT_FOO", Soft: 1, Hard: 1}, "process.rlimits[0]"},
		{"hard below soft", specs.POSIXRlimit{Type: "RLIMIT_NOFILE", Soft: 100, Hard: 10}, "process.rlimits[0]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCtr(t, "true")
			c.root = t.TempDir()
			c.spec.Process.Rlimits = []specs.POSIXRlimit{tc.rl}
			stderr, code := c.create()
			wantError(t, "create", code, stderr, tc.want)
			if code != 0 {
				assertNoLeak(t, c)
			}
		})
	}
}

func TestProcessOOMScoreAdj(t *testing.T) {
	own, err := os.ReadFile("/proc/self/oom_score_adj")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		adj  *int
		want string
	}{
		{"set", intPtr(500), "500\n"},
		{"maximum", intPtr(1000), "1000\n"},
		// "If oomScoreAdj is not set, the runtime MUST NOT change the value
		// of oom_score_adj." -config.md
		{"unset", nil, string(own)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCtr(t, "cat", "/proc/self/oom_score_adj")
			c.spec.Process.OOMScoreAdj = tc.adj
			if out := c.mustRun(); out != tc.want {
				t.Errorf("oom_score_adj %q, want %q", out, tc.want)
			}
		})
	}
}

func intPtr(n int) *int { return &n }

func TestProcessUser(t *testing.T) {
	for _, tc := range []struct {
		name   string
		user   specs.User
		id     string
		status map[string]string
	}{
		{"root", specs.User{}, "uid=0(root) gid=0(root)", map[string]string{
			"Uid": "0\t0\t0\t0", "Gid": "0\t0\t0\t0", "Groups": "",
		}},
		{"root with groups", specs.User{AdditionalGids: []uint32{5, 65534}}, "uid=0(root) gid=0(root) groups=5(tty),65534(nogroup)", map[string]string{
			"Groups": "5 65534",
		}},
		// The kernel keeps supplementary groups sorted.
		{"unnamed user", specs.User{UID: 1000, GID: 1001, AdditionalGids: []uint32{5, 65534, 2000}}, "uid=1000 gid=1001 groups=5(tty),2000,65534(nogroup)", map[string]string{
			"Uid": "1000\t1000\t1000\t1000", "Gid": "1001\t1001\t1001\t1001", "Groups": "5 2000 65534",
		}},
		{"nobody", specs.User{UID: 65534, GID: 65534}, "uid=65534(nobody) gid=65534(nogroup)", map[string]string{
			"Groups": "",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCtr(t, "sh", "-c", "id; cat /proc/self/status")
			c.spec.Process.User = tc.user
			out := c.mustRun()
			id, status, _ := strings.Cut(out, "\n")
			// busybox id prints "groups=" only when there are groups.
			if id != tc.id {
				t.Errorf("id: %q, want %q", id, tc.id)
			}
			got := statusFields(status)
			for k, want := range tc.status {
				if got[k] != want {
					t.Errorf("%s: %q, want %q", k, got[k], want)
				}
			}
		})
	}
}

func TestProcessUmask(t *testing.T) {
	for _, tc := range []struct {
		name  string
		umask *uint32
		want  string
	}{
		{"default", nil, "0022\n"},
		{"027", uint32Ptr(0o027), "0027\n"},
		{"0", uint32Ptr(0), "0000\n"},
		{"077", uint32Ptr(0o077), "0077\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCtr(t, "sh", "-c", "umask")
			c.spec.Process.User.Umask = tc.umask
			if out := c.mustRun(); out != tc.want {
				t.Errorf("umask %q, want %q", out, tc.want)
			}
		})
	}
}

func uint32Ptr(n uint32) *uint32 { return &n }

func TestProcessCwd(t *testing.T) {
	for _, tc := range []struct {
		name string
		cwd  string
		user specs.User
	}{
		{"root", "/", specs.User{}},
		{"existing", "/etc", specs.User{}},
		{"created when missing", "/work/a/b", specs.User{}},
		{"created for a non-root user", "/home/u", specs.User{UID: 1000, GID: 1000}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCtr(t, "pwd")
			// A private tmpfs at /work and /home keeps the shared rootfs clean.
			for _, d := range []string{"/work", "/home"} {
				c.spec.Mounts = append(c.spec.Mounts, specs.Mount{Destination: d, Type: "tmpfs", Source: "tmpfs", Options: []string{"mode=755"}})
			}
			c.spec.Process.Cwd = tc.cwd
			c.spec.Process.User = tc.user
			if out := c.mustRun(); out != tc.cwd+"\n" {
				t.Errorf("pwd %q, want %q", out, tc.cwd+"\n")
			}
		})
	}
}

func TestProcessEnv(t *testing.T) {
	c := newCtr(t, "env")
	c.spec.Process.Env = []string{
		"PATH=/bin:/usr/bin", "HOME=/root", "FOO=bar baz", "EMPTY=", "EQUALS=a=b", "TERM=xterm",
	}
	got := strings.Split(strings.TrimSpace(c.mustRun()), "\n")
	if !sameSet(got, c.spec.Process.Env) {
		t.Errorf("env: %q, want exactly %q", got, c.spec.Process.Env)
	}
}

// TestProcessPathLookup: args[0] is looked up in the PATH of process.env,
// inside the container.
func TestProcessPathLookup(t *testing.T) {
	c := newCtr(t, "sh", "-c", "echo $0")
	c.spec.Process.Env = []string{"PATH=/nowhere:/bin"}
	if out := c.mustRun(); out != "sh\n" {
		t.Errorf("output %q, want %q", out, "sh\n")
	}
	c = newCtr(t, "busybox", "true")
	c.root = t.TempDir()
	c.spec.Process.Env = []string{"PATH=/nowhere"}
	_, stderr, code := c.run()
	wantError(t, "run with busybox outside PATH", code, stderr, `exec: "busybox": executable file not found in $PATH`)
}

// TestProcessSysctl: linux.sysctl is written in the container's namespaces
// and leaves the host's values alone. "default" has the runc-like
// readonlyPaths with /proc/sys; "writable /proc/sys" lacks it, to tell a
// write made after /proc/sys went read-only from other failures.
func TestProcessSysctl(t *testing.T) {
	paths := map[string]string{
		"kernel.shm_rmid_forced":  "/proc/sys/kernel/shm_rmid_forced",  // IPC namespace
		"net.ipv4.ip_forward":     "/proc/sys/net/ipv4/ip_forward",     // network namespace
		"net/ipv4/tcp_syncookies": "/proc/sys/net/ipv4/tcp_syncookies", // slashed key
	}
	keys := []string{"kernel.shm_rmid_forced", "net.ipv4.ip_forward", "net/ipv4/tcp_syncookies"}
	host := map[string]string{}
	for k, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		host[k] = string(b)
	}
	for _, tc := range []struct {
		name     string
		readonly bool
	}{{"default", true}, {"writable /proc/sys", false}} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCtr(t, "cat", paths[keys[0]], paths[keys[1]], paths[keys[2]])
			if !tc.readonly {
				c.spec.Linux.ReadonlyPaths = slices.DeleteFunc(c.spec.Linux.ReadonlyPaths, func(p string) bool { return p == "/proc/sys" })
			}
			c.spec.Linux.Sysctl = map[string]string{
				keys[0]: flip(host[keys[0]]), keys[1]: flip(host[keys[1]]), keys[2]: "2",
			}
			want := c.spec.Linux.Sysctl[keys[0]] + "\n" + c.spec.Linux.Sysctl[keys[1]] + "\n2\n"
			if out := c.mustRun(); out != want {
				t.Errorf("sysctls inside: %q, want %q", out, want)
			}
			for k, p := range paths {
				if b, _ := os.ReadFile(p); string(b) != host[k] {
					t.Errorf("the host's %s changed: %q, was %q", k, b, host[k])
				}
			}
		})
	}
}

// flip returns a 0/1 sysctl value different from v.
func flip(v string) string {
	if strings.TrimSpace(v) == "0" {
		return "1"
	}
	return "0"
}
