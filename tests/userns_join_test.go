package tests

import (
	"fmt"
	"os"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Containers that join another's namespaces by path, as a pod's containers
// join its infra container's: the user and mount namespaces, which a
// multithreaded Go process cannot enter, and the network namespace.

// nsOf reads a namespace link of pid from the host.
func nsOf(t *testing.T, pid int, kind string) string {
	t.Helper()
	ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", pid, kind))
	if err != nil {
		t.Fatal(err)
	}
	return ns
}

// markLoopback sets a recognisable MTU on a's loopback, which b can only
// see from a's network namespace.
func markLoopback(t *testing.T, a *ctr) {
	t.Helper()
	a.mustExec([]string{"--cap", "CAP_NET_ADMIN"}, "ip", "link", "set", "lo", "mtu", "1234")
}

const netProbe = "readlink /proc/self/ns/net; ip -o link show lo | grep -o 'mtu [0-9]*'; cut -d: -f1 /proc/net/dev | tail -n +3 | tr -d ' '"

// TestUsernsShareNetwork: b joins a's network namespace by path and sees
// a's interfaces, with or without user namespaces (both containers in a's).
func TestUsernsShareNetwork(t *testing.T) {
	for _, tc := range []struct {
		name    string
		userns  bool // a has a user namespace, which b joins
		bUserns bool // b has a new user namespace of its own
	}{
		{name: "no user namespace"},
		{name: "in a's user namespace", userns: true},
		// The network namespace path must be opened, and joined, before b
		// is in a user namespace that has no rights over it, as runc does.
		{name: "b in a new user namespace", bUserns: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, pid := runningCtr(t, func(c *ctr) {
				if tc.userns {
					withUserns(c)
				}
			})
			markLoopback(t, a)
			join := func(c *ctr) {
				c.setNamespace(specs.NetworkNamespace, fmt.Sprintf("/proc/%d/ns/net", pid))
				if tc.userns {
					c.spec.Mounts = withoutMount(c.spec.Mounts, "/sys/fs/cgroup")
					c.setNamespace(specs.UserNamespace, fmt.Sprintf("/proc/%d/ns/user", pid))
				}
				if tc.bUserns {
					withUserns(c)
				}
			}
			want := nsOf(t, pid, "net") + "\nmtu 1234\nlo\n"
			b := newCtr(t, "sh", "-c", netProbe)
			join(b)
			if out, stderr, code := b.run(); code != 0 || out != want {
				t.Errorf("b's network namespace, lo's mtu and interfaces: exit %d, %q (stderr %q), want a's %q", code, out, stderr, want)
			}
			// exec into such a container lands in the shared namespace too.
			e, _ := runningCtr(t, join)
			if out := e.mustExec(nil, "sh", "-c", netProbe); out != want {
				t.Errorf("exec into a container that joined a's network: %q, want a's %q", out, want)
			}
		})
	}
}

// TestUsernsJoinUser: b joins a's user namespace by path, without
// mappings of its own, and creates its other namespaces inside it: root in
// b is a's root, 100000 on the host.
func TestUsernsJoinUser(t *testing.T) {
	_, pid := runningCtr(t, withUserns)
	b := newCtr(t, "sh", "-c", "id -u; cat /proc/self/uid_map; readlink /proc/self/ns/user; hostname")
	b.setNamespace(specs.UserNamespace, fmt.Sprintf("/proc/%d/ns/user", pid))
	b.spec.Mounts = withoutMount(b.spec.Mounts, "/sys/fs/cgroup")
	b.spec.Hostname = "b-host"
	out, stderr, code := b.run()
	if code != 0 {
		t.Fatalf("run b in a's user namespace: exit %d: %s", code, stderr)
	}
	got := strings.Fields(out)
	want := []string{"0", "0", "100000", "65536", nsOf(t, pid, "user"), "b-host"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("b: uid, uid_map, user namespace, hostname: %q, want %q", got, want)
	}
}

// TestUsernsJoinMount: b joins a's mount namespace by path and sees a's
// mounts ("The runtime MUST place the container process in the namespace
// associated with that path" -runtime-spec config-linux.md); the mounts of
// a set up once are not made again. runc 1.1 fails here too.
func TestUsernsJoinMount(t *testing.T) {
	a, pid := runningCtr(t, func(c *ctr) {
		c.spec.Mounts = append(c.spec.Mounts, specs.Mount{Destination: "/mnt", Type: "tmpfs", Source: "tmpfs"})
	})
	a.mustExec(nil, "sh", "-c", "echo from-a > /mnt/marker")
	// With a pid namespace of its own, b is refused with a reason: its init
	// could not see itself in the /proc of a's mount namespace.
	own := newCtr(t, "cat", "/mnt/marker")
	own.setNamespace(specs.MountNamespace, fmt.Sprintf("/proc/%d/ns/mnt", pid))
	if stderr, code := own.create(); code == 0 || !strings.Contains(stderr, "needs its pid namespace joined too") {
		t.Errorf("b with a's mount namespace and its own pid namespace: exit %d, stderr %q; want a clear refusal", code, stderr)
	}
	assertNoLeak(t, own)
	b := newCtr(t, "cat", "/mnt/marker")
	b.setNamespace(specs.MountNamespace, fmt.Sprintf("/proc/%d/ns/mnt", pid))
	b.setNamespace(specs.PIDNamespace, fmt.Sprintf("/proc/%d/ns/pid", pid))
	out, stderr, code := b.run()
	if code != 0 || out != "from-a\n" {
		t.Errorf("b in a's mount namespace: exit %d, stdout %q, stderr %q; want a's /mnt/marker", code, out, stderr)
	}
	if st := a.state().Status; st != specs.StateRunning {
		t.Errorf("a is %s after b joined its mount namespace", st)
	}
	if out := a.mustExec(nil, "sh", "-c", "grep -c ' /mnt ' /proc/self/mountinfo"); out != "1\n" {
		t.Errorf("a's /mnt is mounted %q times after b joined, want once", strings.TrimSpace(out))
	}
}
