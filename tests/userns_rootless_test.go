package tests

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/tupper-runtime/tupper/tests/internal/fixture"
)

// Rootless: tupper run by an unprivileged user, whose uid and gid maps
// beyond its own id go through newuidmap and newgidmap, with the ranges
// /etc/subuid and /etc/subgid grant it.
//
// The host's /etc is left alone: the user's passwd, group, subuid and
// subgid entries live in an overlay on /etc in a private mount namespace,
// held by a process the test starts; every rootless tupper command runs
// there (nsenter), as that user (setpriv).

const (
	rootlessUID = 23456  // the unprivileged user; added to passwd when the host lacks it
	subStart    = 200000 // its subordinate uids and gids: 200000-265535
	subCount    = 65536  // how many
	subPath     = "/usr/bin:/bin:/usr/sbin:/sbin"
	noHelpers   = "/nonexistent" // a PATH without newuidmap and newgidmap
)

// rootlessUser is the unprivileged user and the mount namespace in which
// /etc describes it.
type rootlessUser struct {
	name             string
	xdg              string // its XDG_RUNTIME_DIR: tupper's default --root is xdg/tupper
	holder           int    // pid of the process that holds the mount namespace
	nsenter, setpriv string
}

func newRootlessUser(t *testing.T) *rootlessUser {
	t.Helper()
	u := &rootlessUser{}
	for _, tool := range []struct {
		name string
		dst  *string
	}{{"nsenter", &u.nsenter}, {"setpriv", &u.setpriv}, {"newuidmap", nil}, {"newgidmap", nil}} {
		p, err := exec.LookPath(tool.name)
		if err != nil {
			t.Fatalf("%s (util-linux, uidmap) is needed to run tupper rootless: %v", tool.name, err)
		}
		if tool.dst != nil {
			*tool.dst = p
		}
	}
	base := t.TempDir()
	// The bundles and the state directory below must be reachable by the
	// user (t.TempDir's parent is 0700).
	if err := os.Chmod(filepath.Dir(base), 0o755); err != nil {
		t.Fatal(err)
	}
	upper, work := filepath.Join(base, "etc"), filepath.Join(base, "work")
	u.xdg = filepath.Join(base, "xdg")
	for _, d := range []string{upper, work, u.xdg} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chown(u.xdg, rootlessUID, rootlessUID); err != nil {
		t.Fatal(err)
	}
	u.name = "tupper-rootless"
	passwd, group := readFile(t, "/etc/passwd"), readFile(t, "/etc/group")
	if name, ok := nameOf(passwd, rootlessUID); ok {
		u.name = name
	} else {
		passwd += fmt.Sprintf("%s:x:%d:%d::/nonexistent:/bin/false\n", u.name, rootlessUID, rootlessUID)
	}
	if _, ok := nameOf(group, rootlessUID); !ok {
		group += fmt.Sprintf("%s:x:%d:\n", u.name, rootlessUID)
	}
	sub := fmt.Sprintf("%s:%d:%d\n", u.name, subStart, subCount)
	for name, content := range map[string]string{"passwd": passwd, "group": group, "subuid": sub, "subgid": sub} {
		if err := os.WriteFile(filepath.Join(upper, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// The holder: made private first, so the overlay never reaches the
	// host's mount namespace.
	script := `mount --make-rprivate / && mount -t overlay overlay -o "lowerdir=/etc,upperdir=$1,workdir=$2" /etc && echo ready && exec sleep 100000`
	cmd := exec.Command("/bin/sh", "-c", script, "sh", upper, work)
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNS}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start mount namespace holder: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	if line, _ := bufio.NewReader(out).ReadString('\n'); line != "ready\n" {
		_ = cmd.Wait()
		t.Fatalf("mount namespace holder: %q: %s", line, stderr.String())
	}
	u.holder = cmd.Process.Pid
	if _, err := os.Stat("/etc/subuid"); err == nil && strings.Contains(readFile(t, "/etc/subuid"), sub) {
		t.Fatal("the host's /etc/subuid shows the test's entry: the overlay leaked out of its mount namespace")
	}
	return u
}

// nameOf finds the name of id in a passwd or group file.
func nameOf(file string, id int) (string, bool) {
	for _, line := range strings.Split(file, "\n") {
		f := strings.Split(line, ":")
		if len(f) > 2 && f[2] == strconv.Itoa(id) {
			return f[0], true
		}
	}
	return "", false
}

// tupper runs `tupper args...` as the user, in its mount namespace, with
// PATH path and no --root: the state goes to $XDG_RUNTIME_DIR/tupper. The
// command's stdout (a container's, for create) goes to the file stdout,
// or to a temporary file when it is "".
func (u *rootlessUser) tupper(t *testing.T, path, stdout string, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	id := strconv.Itoa(rootlessUID)
	cmd := exec.CommandContext(ctx, u.nsenter, append([]string{"--target", strconv.Itoa(u.holder), "--mount", "--",
		u.setpriv, "--reuid", id, "--regid", id, "--clear-groups", "--", tupperBin}, args...)...)
	cmd.Env = []string{"PATH=" + path, "XDG_RUNTIME_DIR=" + u.xdg}
	cmd.Dir = u.xdg
	dir := t.TempDir()
	if stdout == "" {
		stdout = filepath.Join(dir, "stdout")
	}
	errPath := filepath.Join(dir, "stderr")
	cmd.Stdout, cmd.Stderr = createFile(t, stdout), createFile(t, errPath)
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Errorf("rootless tupper %s: still running after %v, killed", strings.Join(args, " "), cmdTimeout)
	}
	code := exitCode(t, err)
	out, errOut := readFile(t, stdout), readFile(t, errPath)
	if testing.Verbose() {
		t.Logf("rootless tupper %s => %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	return out, errOut, code
}

func (u *rootlessUser) must(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, code := u.tupper(t, subPath, "", args...)
	if code != 0 {
		t.Fatalf("rootless tupper %s: exit %d: %s", strings.Join(args, " "), code, errOut)
	}
	return out
}

// rootlessCtr is a test container for u with a new user namespace mapped
// by uid and gid. Its state lives under u's XDG_RUNTIME_DIR, where the
// usual cleanup (as root) looks for it too.
func rootlessCtr(t *testing.T, u *rootlessUser, m []specs.LinuxIDMapping, args ...string) *ctr {
	t.Helper()
	c := newCtr(t, args...)
	if err := os.Chmod(filepath.Dir(c.bundle), 0o755); err != nil {
		t.Fatal(err)
	}
	c.root = filepath.Join(u.xdg, "tupper")
	withUserns(c)
	c.spec.Linux.UIDMappings, c.spec.Linux.GIDMappings = m, m
	return c
}

// ownAndSub maps container 0 to the user and 1-65536 to its subordinate ids.
var ownAndSub = []specs.LinuxIDMapping{
	{ContainerID: 0, HostID: rootlessUID, Size: 1},
	{ContainerID: 1, HostID: subStart, Size: subCount},
}

func TestUsernsRootless(t *testing.T) {
	u := newRootlessUser(t)

	t.Run("multi-range through newuidmap", func(t *testing.T) {
		c := rootlessCtr(t, u, ownAndSub, "sleep", "1000")
		shared := c.bind("/mnt")
		if err := os.Chmod(shared, 0o777); err != nil {
			t.Fatal(err)
		}
		// A host file of subordinate id 200004 is container id 5's.
		pre := filepath.Join(shared, "pre")
		if err := os.WriteFile(pre, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(pre, subStart+4, subStart+4); err != nil {
			t.Fatal(err)
		}
		c.write()
		u.tupper(t, subPath, c.out, "create", "--bundle", c.bundle, c.id)
		if _, err := os.Stat(filepath.Join(u.xdg, "tupper", c.id, "state.json")); err != nil {
			t.Fatalf("state under $XDG_RUNTIME_DIR/tupper: %v", err)
		}
		u.must(t, "start", c.id)
		if dirs := fixture.CgroupDirs(cgroupParent + "/" + c.key); len(dirs) > 0 {
			t.Errorf("rootless container without permission got cgroups %v, want none", dirs)
		}

		out := u.must(t, "exec", c.id, "sh", "-c",
			"id; cat /proc/self/uid_map /proc/self/gid_map /proc/self/setgroups; stat -c %u:%g /mnt/pre; touch /mnt/root; touch /mnt/seven && chown 7:8 /mnt/seven")
		want := fmt.Sprintf("uid=0(root) gid=0(root) 0 %d 1 1 %d %d 0 %d 1 1 %d %d allow 5:5",
			rootlessUID, subStart, subCount, rootlessUID, subStart, subCount)
		if got := strings.Join(strings.Fields(out), " "); got != want {
			t.Errorf("inside: %q, want %q", got, want)
		}
		out = u.must(t, "exec", "-u", "1000:1000", c.id, "sh", "-c", "id; touch /mnt/thousand")
		if got := strings.TrimSpace(out); got != "uid=1000 gid=1000" {
			t.Errorf("exec -u 1000:1000: id says %q, want uid=1000 gid=1000", got)
		}
		for name, want := range map[string][2]uint32{
			"root":     {rootlessUID, rootlessUID},
			"seven":    {subStart + 6, subStart + 7},
			"thousand": {subStart + 999, subStart + 999},
		} {
			var st syscall.Stat_t
			if err := syscall.Stat(filepath.Join(shared, name), &st); err != nil {
				t.Errorf("file %s made in the container: %v", name, err)
			} else if st.Uid != want[0] || st.Gid != want[1] {
				t.Errorf("file %s belongs to %d:%d on the host, want %d:%d", name, st.Uid, st.Gid, want[0], want[1])
			}
		}

		pidFile := filepath.Join(u.xdg, "exec.pid")
		u.must(t, "exec", "-u", "1000:1000", "--detach", "--pid-file", pidFile, c.id, "sleep", "1000")
		p := readPidFile(t, pidFile)
		if uid, gid := hostIDs(t, p); uid != strconv.Itoa(subStart+999) || gid != strconv.Itoa(subStart+999) {
			t.Errorf("exec -u 1000:1000: host sees uid %s gid %s, want %d", uid, gid, subStart+999)
		}
		if uid, _ := hostIDs(t, c.state().Pid); uid != strconv.Itoa(rootlessUID) {
			t.Errorf("init: host sees uid %s, want the user's %d", uid, rootlessUID)
		}

		u.must(t, "delete", "--force", c.id)
		assertNoLeak(t, c)
	})

	t.Run("root mapped to a subordinate id", func(t *testing.T) {
		// Container root is not the user: the exec FIFO cannot be given
		// to it by chown.
		m := []specs.LinuxIDMapping{{ContainerID: 0, HostID: subStart, Size: subCount}}
		c := rootlessCtr(t, u, m, "sh", "-c", "id; cat /proc/self/uid_map")
		c.write()
		out, errOut, code := u.tupper(t, subPath, "", "run", "--bundle", c.bundle, c.id)
		want := fmt.Sprintf("uid=0(root) gid=0(root) 0 %d %d", subStart, subCount)
		if got := strings.Join(strings.Fields(out), " "); code != 0 || got != want {
			t.Errorf("run: exit %d, %q, want 0, %q (stderr %s)", code, got, want, errOut)
		}
		assertNoLeak(t, c)
	})

	t.Run("own id only, without helpers", func(t *testing.T) {
		// The one mapping the kernel takes from the user itself, as `tupper
		// spec --rootless` writes it: no newuidmap, setgroups denied.
		m := []specs.LinuxIDMapping{{ContainerID: 0, HostID: rootlessUID, Size: 1}}
		c := rootlessCtr(t, u, m, "sh", "-c", "id; cat /proc/self/uid_map /proc/self/gid_map /proc/self/setgroups")
		c.spec.Mounts = withoutMount(c.spec.Mounts, "/dev/pts") // its gid=5 is not mapped
		c.write()
		out, errOut, code := u.tupper(t, noHelpers, "", "run", "--bundle", c.bundle, c.id)
		want := fmt.Sprintf("uid=0(root) gid=0(root) 0 %d 1 0 %d 1 deny", rootlessUID, rootlessUID)
		if got := strings.Join(strings.Fields(out), " "); code != 0 || got != want {
			t.Errorf("run: exit %d, %q, want 0, %q (stderr %s)", code, got, want, errOut)
		}
		assertNoLeak(t, c)
	})

	t.Run("newuidmap missing", func(t *testing.T) {
		c := rootlessCtr(t, u, ownAndSub, "true")
		c.write()
		_, errOut, code := u.tupper(t, noHelpers, "", "create", "--bundle", c.bundle, c.id)
		if code == 0 || !strings.Contains(errOut, "linux.uidMappings: ") || !strings.Contains(errOut, "needs newuidmap") {
			t.Errorf("create without newuidmap in PATH: exit %d, %q; want an error naming linux.uidMappings and newuidmap", code, errOut)
		}
		assertNoLeak(t, c)
	})

	t.Run("limits without a cgroup", func(t *testing.T) {
		c := rootlessCtr(t, u, ownAndSub, "true")
		limit := int64(64 << 20)
		c.spec.Linux.Resources.Memory = &specs.LinuxMemory{Limit: &limit}
		c.write()
		_, errOut, code := u.tupper(t, subPath, "", "create", "--bundle", c.bundle, c.id)
		if code == 0 || !strings.Contains(errOut, "linux.resources") || !strings.Contains(errOut, "permission denied") {
			t.Errorf("create with a memory limit and no cgroup permission: exit %d, %q; want an error naming linux.resources", code, errOut)
		}
		assertNoLeak(t, c)
	})

	t.Run("--rootless false", func(t *testing.T) {
		// Not rootless: a cgroup that cannot be created is an error, even
		// with nothing to limit.
		c := rootlessCtr(t, u, ownAndSub, "true")
		c.write()
		_, errOut, code := u.tupper(t, subPath, "", "--rootless", "false", "create", "--bundle", c.bundle, c.id)
		if code == 0 || !strings.Contains(errOut, "create cgroup: ") || !strings.Contains(errOut, "permission denied") {
			t.Errorf("create --rootless false without cgroup permission: exit %d, %q; want create cgroup: permission denied", code, errOut)
		}
		assertNoLeak(t, c)
	})
}
