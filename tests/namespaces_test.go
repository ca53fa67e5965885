package tests

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// nsFile maps a namespace type to its name under /proc/<pid>/ns.
var nsFile = map[specs.LinuxNamespaceType]string{
	specs.PIDNamespace: "pid", specs.NetworkNamespace: "net", specs.IPCNamespace: "ipc",
	specs.UTSNamespace: "uts", specs.MountNamespace: "mnt", specs.CgroupNamespace: "cgroup",
	specs.UserNamespace: "user", specs.TimeNamespace: "time",
}

func TestHostname(t *testing.T) {
	c := newCtr(t, "sh", "-c", "hostname; cat /proc/sys/kernel/domainname")
	c.spec.Hostname = "box-" + c.id[len(c.id)-8:]
	c.spec.Domainname = "example.test"
	want := c.spec.Hostname + "\nexample.test\n"
	if out := c.mustRun(); out != want {
		t.Errorf("hostname and domainname inside: %q, want %q", out, want)
	}
	if h, _ := os.Hostname(); h == c.spec.Hostname {
		t.Errorf("the host's hostname became %q", h)
	}
}

// TestNamespacesDiffer compares /proc/self/ns/* inside with the host's, for
// every namespace type the config asks for.
func TestNamespacesDiffer(t *testing.T) {
	c := newCtr(t)
	if hasTimeNS() {
		c.setNamespace(specs.TimeNamespace, "")
	}
	var names []string
	for _, ns := range c.spec.Linux.Namespaces {
		names = append(names, nsFile[ns.Type])
	}
	script := ""
	for _, n := range names {
		script += fmt.Sprintf("echo %s $(readlink /proc/self/ns/%s); ", n, n)
	}
	c.spec.Process.Args = []string{"sh", "-c", script}
	inside := parseNS(t, c.mustRun())
	for _, n := range names {
		host, err := os.Readlink("/proc/self/ns/" + n)
		if err != nil {
			t.Fatal(err)
		}
		if inside[n] == "" || inside[n] == host {
			t.Errorf("namespace %s inside is %q, host's is %q: want a different one", n, inside[n], host)
		}
	}
}

func parseNS(t *testing.T, out string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if f := strings.Fields(line); len(f) == 2 {
			m[f[0]] = f[1]
		}
	}
	return m
}

func hasTimeNS() bool {
	_, err := os.Stat("/proc/self/ns/time")
	return err == nil
}

func withoutMount(ms []specs.Mount, dest string) []specs.Mount {
	var kept []specs.Mount
	for _, m := range ms {
		if m.Destination != dest {
			kept = append(kept, m)
		}
	}
	return kept
}

// TestJoinNamespace: container b joins the namespaces of container a by path.
func TestJoinNamespace(t *testing.T) {
	for _, typ := range []specs.LinuxNamespaceType{
		specs.NetworkNamespace, specs.IPCNamespace, specs.UTSNamespace,
		specs.PIDNamespace, specs.CgroupNamespace, specs.TimeNamespace,
	} {
		t.Run(string(typ), func(t *testing.T) {
			if typ == specs.TimeNamespace && !hasTimeNS() {
				t.Skip("kernel has no time namespaces (/proc/self/ns/time missing)")
			}
			a := newCtr(t, "sleep", "1000")
			a.setNamespace(typ, "")
			a.mustCreate()
			pid := a.state().Pid
			path := fmt.Sprintf("/proc/%d/ns/%s", pid, nsFile[typ])
			want, err := os.Readlink(path)
			if err != nil {
				t.Fatal(err)
			}
			b := newCtr(t, "readlink", "/proc/self/ns/"+nsFile[typ])
			b.setNamespace(typ, path)
			if typ == specs.UTSNamespace {
				b.spec.Hostname = "" // a joined uts namespace keeps a's hostname
			}
			if got := strings.TrimSpace(b.mustRun()); got != want {
				t.Errorf("b's %s namespace is %q, want a's %q", typ, got, want)
			}
		})
	}
}

func TestUserNamespace(t *testing.T) {
	c := newCtr(t, "sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map; id -u; readlink /proc/self/ns/user")
	c.setNamespace(specs.UserNamespace, "")
	c.spec.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	c.spec.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 200000, Size: 65536}}
	// A v1 cgroupfs cannot be mounted from a user namespace.
	c.spec.Mounts = withoutMount(c.spec.Mounts, "/sys/fs/cgroup")
	got := strings.Fields(c.mustRun())
	want := []string{"0", "100000", "65536", "0", "200000", "65536", "0"}
	if len(got) != len(want)+1 || strings.Join(got[:len(want)], " ") != strings.Join(want, " ") {
		t.Fatalf("uid_map, gid_map, id -u, user ns inside: %q, want %q and a namespace", got, want)
	}
	if host, _ := os.Readlink("/proc/self/ns/user"); got[len(want)] == host {
		t.Errorf("user namespace inside is the host's: %s", host)
	}
}

func TestTimeNamespace(t *testing.T) {
	if !hasTimeNS() {
		t.Skip("kernel has no time namespaces (/proc/self/ns/time missing)")
	}
	const offset = 1000000 // seconds, far more than any test takes
	c := newCtr(t, "cat", "/proc/uptime")
	c.setNamespace(specs.TimeNamespace, "")
	c.spec.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{
		"boottime":  {Secs: offset},
		"monotonic": {Secs: offset},
	}
	before := uptime(t, readFile(t, "/proc/uptime"))
	inside := uptime(t, c.mustRun())
	if inside < before+offset-1 {
		t.Errorf("uptime inside %.2f, host's before the run %.2f: want at least %d more", inside, before, offset)
	}
}

func uptime(t *testing.T, s string) float64 {
	t.Helper()
	f := strings.Fields(s)
	if len(f) == 0 {
		t.Fatalf("no uptime in %q", s)
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
