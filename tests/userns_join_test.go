package tests

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

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

// TestUsernsJoinMount: a container joins a mount namespace by path ("The
// runtime MUST place the container process in the namespace associated with
// that path" -config-linux.md) and its rootfs is set up there, as
// runtime-tools' linux_ns_path expects: here the namespace of a process
// started with its own copy of the host's mounts, where the bundle is
// visible. Joining another container's mount namespace, where it is not,
// fails at create with the reason, and leaves nothing behind.
func TestUsernsJoinMount(t *testing.T) {
	holder := exec.Command("unshare", "-m", "--propagation", "private", "sleep", "1000")
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { holder.Process.Kill(); holder.Wait() })
	want := ""
	for i := 0; i < 100 && (want == "" || want == nsOf(t, os.Getpid(), "mnt")); i++ {
		time.Sleep(10 * time.Millisecond) // until unshare has executed sleep
		want, _ = os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", holder.Process.Pid))
	}
	b := newCtr(t, "sh", "-c", "readlink /proc/self/ns/mnt; cat /etc/hostname 2>/dev/null; ls /bin/busybox")
	b.setNamespace(specs.MountNamespace, fmt.Sprintf("/proc/%d/ns/mnt", holder.Process.Pid))
	out, stderr, code := b.run()
	if code != 0 || !strings.HasPrefix(out, want+"\n") || !strings.Contains(out, "/bin/busybox") {
		t.Errorf("b in the holder's mount namespace: exit %d, stdout %q, stderr %q; want %s and the bundle's rootfs", code, out, stderr, want)
	}

	a, pid := runningCtr(t, nil)
	c := newCtr(t, "true")
	c.setNamespace(specs.MountNamespace, fmt.Sprintf("/proc/%d/ns/mnt", pid))
	if stderr, code := c.create(); code == 0 || !strings.Contains(stderr, "rootfs") {
		t.Errorf("c in a's mount namespace, where the bundle is not visible: exit %d, stderr %q; want an error about the rootfs", code, stderr)
	}
	assertNoLeak(t, c)
	if st := a.state().Status; st != specs.StateRunning {
		t.Errorf("a is %s after c tried its mount namespace", st)
	}
}
