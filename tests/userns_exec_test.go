package tests

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// usernsMap is the mapping of every user-namespaced test container here:
// container ids 0-65535 are host ids 100000-165535, for uids and gids.
var usernsMap = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}

// withUserns gives c a new user namespace mapped with usernsMap.
func withUserns(c *ctr) {
	c.setNamespace(specs.UserNamespace, "")
	c.spec.Linux.UIDMappings = usernsMap
	c.spec.Linux.GIDMappings = usernsMap
	// A v1 cgroupfs cannot be mounted from a user namespace.
	c.spec.Mounts = withoutMount(c.spec.Mounts, "/sys/fs/cgroup")
}

// hostIDs reads the real uid and gid of pid as the host sees them.
func hostIDs(t *testing.T, pid int) (uid, gid string) {
	t.Helper()
	f := statusFields(readFile(t, fmt.Sprintf("/proc/%d/status", pid)))
	return strings.Fields(f["Uid"])[0], strings.Fields(f["Gid"])[0]
}

// TestUsernsExec: exec into a container with a user namespace joins it:
// the process is root inside and 100000 on the host, files it creates
// belong to 100000 on the host, and -u maps through the namespace too.
func TestUsernsExec(t *testing.T) {
	var shared string
	c, pid := runningCtr(t, func(c *ctr) {
		withUserns(c)
		shared = c.bind("/mnt") // exists: container root may not create it in the shared rootfs
		// Container root is host 100000: let it reach and write the bound
		// directory (t.TempDir's parent is 0700).
		if err := os.Chmod(filepath.Dir(shared), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(shared, 0o777); err != nil {
			t.Fatal(err)
		}
	})
	initNS, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/user", pid))
	if err != nil {
		t.Fatal(err)
	}
	out := c.mustExec(nil, "sh", "-c", "id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map; readlink /proc/self/ns/user; touch /mnt/f")
	got := strings.Fields(out)
	want := []string{"0", "0", "0", "100000", "65536", "0", "100000", "65536", initNS}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("uid, gid, uid_map, gid_map, user namespace inside: %q, want %q", got, want)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(filepath.Join(shared, "f"), &st); err != nil {
		t.Errorf("file created by exec: %v", err)
	} else if st.Uid != 100000 || st.Gid != 100000 {
		t.Errorf("file created by exec belongs to %d:%d on the host, want 100000:100000", st.Uid, st.Gid)
	}

	for _, tc := range []struct {
		flags    []string
		uid, gid string
	}{
		{nil, "100000", "100000"},
		{[]string{"-u", "1000:1001"}, "101000", "101001"},
	} {
		pidFile := filepath.Join(t.TempDir(), "pid")
		c.mustExec(append(tc.flags, "--detach", "--pid-file", pidFile), "sleep", "1000")
		p := readPidFile(t, pidFile)
		if uid, gid := hostIDs(t, p); uid != tc.uid || gid != tc.gid {
			t.Errorf("exec %s: host sees uid %s gid %s, want %s %s", tc.flags, uid, gid, tc.uid, tc.gid)
		}
		if ns, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/user", p)); ns != initNS {
			t.Errorf("exec %s: user namespace %s, want the init's %s", tc.flags, ns, initNS)
		}
	}
	// Capabilities are the config's, within the namespace only.
	if out := c.mustExec([]string{"--cap", "CAP_SYS_ADMIN"}, "sh", "-c", "mount -t tmpfs tmpfs /tmp && echo mounted"); out != "mounted\n" {
		t.Errorf("exec --cap CAP_SYS_ADMIN in the user namespace: %q, want a tmpfs mounted", out)
	}
}
