package tests

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/tupper-runtime/tupper/tests/internal/fixture"
)

// TestNoMountNamespace: a container without a mount namespace of its own
// still gets root.path as its root ("root specifies the container's root
// filesystem"; runc chroots), but nothing is mounted, since that would be
// done in the host's namespace: its /proc stays an empty directory. create
// looks the command up in that root, and start reopens the exec FIFO
// through the runtime's /proc. (runtime-tools' linux_ns_itype creates such
// a container; create used to look /runtimetest up on the host.)
func TestNoMountNamespace(t *testing.T) {
	c := newCtr(t, "/bin/sh", "-c", "ls /; echo proc: $(ls -A /proc | wc -l)")
	c.dropNamespace(specs.MountNamespace)
	// Both need a mount namespace; without one they would be the host's.
	c.spec.Linux.MaskedPaths, c.spec.Linux.ReadonlyPaths = nil, nil
	out := c.mustRun()

	entries, err := os.ReadDir(rootfsDir)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, e := range entries {
		want = append(want, e.Name())
	}
	wantOut := strings.Join(want, "\n") + "\nproc: 0\n"
	if out != wantOut {
		t.Errorf("the container saw:\n%s\nwant the rootfs's entries and an empty /proc:\n%s", out, wantOut)
	}
	mounts, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(mounts), " "+rootfsDir) {
		t.Errorf("something was mounted in the rootfs, in the host's mount namespace:\n%s", mounts)
	}
}

// noMountCtr starts `sleep 1000` in a container without a mount namespace
// (after edit changes its spec), on a rootfs of its own that holds a
// marker file and a directory /wd, neither of which the host's "/" has.
// It returns the container and its rootfs.
func noMountCtr(t *testing.T, edit func(c *ctr)) (*ctr, string) {
	t.Helper()
	root := filepath.Join(t.TempDir(), "rootfs")
	if err := fixture.BuildRootfs(root); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "nomount-marker"), []byte("in the rootfs\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "wd", "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/nomount-marker", "/wd"} {
		if _, err := os.Lstat(p); err == nil {
			t.Fatalf("the host has %s: the test could not tell the roots apart", p)
		}
	}
	c := newCtr(t, "sleep", "1000")
	c.spec.Root.Path = root
	c.dropNamespace(specs.MountNamespace)
	c.spec.Linux.MaskedPaths, c.spec.Linux.ReadonlyPaths = nil, nil
	if edit != nil {
		edit(c)
	}
	c.mustCreate()
	c.must("start", nil)
	return c, root
}

func rootEntries(t *testing.T, root string) string {
	t.Helper()
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return strings.Join(names, "\n") + "\n"
}

// TestNoMountNamespaceExec: a process exec'd into a container without a
// mount namespace has no mount namespace to join, but must get the root
// the init got (root.path), not the runtime's "/", with process.cwd inside
// it, on both of exec's paths: the C fast path (a plain process) and the
// Go init (here forced by process.ioPriority, which only the Go init sets).
func TestNoMountNamespaceExec(t *testing.T) {
	c, root := noMountCtr(t, nil)
	script := "ls /; cat /nomount-marker; pwd; ls"
	want := rootEntries(t, root) + "in the rootfs\n"
	goPath := &specs.LinuxIOPriority{Class: specs.IOPRIO_CLASS_BE, Priority: 4}
	for _, tc := range []struct {
		name  string
		flags func() []string
		want  string
	}{
		{"fast", func() []string { return nil }, want + "/\n" + rootEntries(t, root)},
		{"fast --cwd", func() []string { return []string{"--cwd", "/wd"} }, want + "/wd\nsub\n"},
		{"fast process.cwd", func() []string {
			return []string{"--process", writeProcess(t, &specs.Process{Args: []string{"sh", "-c", script}, Env: c.spec.Process.Env, Cwd: "/wd"})}
		}, want + "/wd\nsub\n"},
		{"go", func() []string {
			return []string{"--process", writeProcess(t, &specs.Process{Args: []string{"sh", "-c", script}, Env: c.spec.Process.Env, Cwd: "/", IOPriority: goPath})}
		}, want + "/\n" + rootEntries(t, root)},
		{"go process.cwd", func() []string {
			return []string{"--process", writeProcess(t, &specs.Process{Args: []string{"sh", "-c", script}, Env: c.spec.Process.Env, Cwd: "/wd", IOPriority: goPath})}
		}, want + "/wd\nsub\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			flags := tc.flags()
			var args []string
			if !slices.Contains(flags, "--process") {
				args = []string{"sh", "-c", script}
			}
			out, stderr, code := c.exec(flags, args...)
			if code != 0 || out != tc.want {
				t.Errorf("exec %s: exit %d, stderr %q; the process saw:\n%s\nwant the container's root:\n%s", flags, code, stderr, out, tc.want)
			}
		})
	}
	t.Run("cwd missing", func(t *testing.T) {
		// /wd is in the rootfs only; a cwd the rootfs lacks fails even
		// where the host has it.
		_, stderr, code := c.exec([]string{"--cwd", "/etc/apt"}, "true")
		if code == 0 || !strings.Contains(stderr, "process.cwd") {
			t.Errorf("exec --cwd /etc/apt (the host's, not the rootfs's): exit %d, stderr %q; want a process.cwd error", code, stderr)
		}
	})
}

// TestNoMountNamespaceProc: in a container without a mount namespace /proc
// is the rootfs's empty directory, so what tupper writes through /proc is
// written through the runtime's own, before the chroot (exec's fast path)
// or through an fd kept across it (the init, exec's Go init): sysctls
// there still belong to the writer's namespaces and "self" to the writer.
// The LSM labels are refused by name: their checks and writes would need a
// /proc and /sys the container lacks. The values are read from the host:
// the container has no /proc to read them in.
func TestNoMountNamespaceProc(t *testing.T) {
	hostFwd, err := os.ReadFile("/proc/sys/net/ipv4/ip_forward")
	if err != nil {
		t.Fatal(err)
	}
	fwd := "1"
	if strings.TrimSpace(string(hostFwd)) == "1" {
		fwd = "0"
	}
	initAdj := 300
	c, root := noMountCtr(t, func(c *ctr) {
		c.spec.Linux.Sysctl = map[string]string{"net.ipv4.ip_forward": fwd}
		c.spec.Process.OOMScoreAdj = &initAdj
	})
	pid := c.state().Pid
	if got := readTrim(t, fmt.Sprintf("/proc/%d/oom_score_adj", pid)); got != "300" {
		t.Errorf("create: the init's oom_score_adj is %s, want 300", got)
	}
	out, err := exec.Command("nsenter", "--net=/proc/"+strconv.Itoa(pid)+"/ns/net", "cat", "/proc/sys/net/ipv4/ip_forward").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != fwd {
		t.Errorf("create: net.ipv4.ip_forward in the container's network namespace is %q (%v), want %s", out, err, fwd)
	}
	if now, _ := os.ReadFile("/proc/sys/net/ipv4/ip_forward"); string(now) != string(hostFwd) {
		t.Errorf("create: the host's net.ipv4.ip_forward changed from %q to %q", hostFwd, now)
	}

	goPath := &specs.LinuxIOPriority{Class: specs.IOPRIO_CLASS_BE, Priority: 4}
	for i, tc := range []struct {
		name string
		prio *specs.LinuxIOPriority
	}{{"fast", nil}, {"go", goPath}} {
		t.Run("exec oomScoreAdj "+tc.name, func(t *testing.T) {
			adj := 400 + i
			pidFile := filepath.Join(t.TempDir(), "pid")
			proc := writeProcess(t, &specs.Process{Args: []string{"sleep", "1000"}, Env: c.spec.Process.Env, Cwd: "/wd", OOMScoreAdj: &adj, IOPriority: tc.prio})
			c.must("exec", []string{"--detach", "--pid-file", pidFile, "--process", proc})
			p := strconv.Itoa(readPidFile(t, pidFile))
			if got := readTrim(t, "/proc/"+p+"/oom_score_adj"); got != strconv.Itoa(adj) {
				t.Errorf("oom_score_adj of the exec'd process is %s, want %d", got, adj)
			}
			if got, err := os.Readlink("/proc/" + p + "/root"); err != nil || got != root {
				t.Errorf("root of the exec'd process is %q (%v), want %s", got, err, root)
			}
			if got, err := os.Readlink("/proc/" + p + "/cwd"); err != nil || got != filepath.Join(root, "wd") {
				t.Errorf("cwd of the exec'd process is %q (%v), want %s/wd", got, err, root)
			}
		})
	}

	t.Run("exec apparmor", func(t *testing.T) {
		_, stderr, code := c.exec([]string{"--apparmor", "tupper-test"}, "true")
		if code == 0 || !strings.Contains(stderr, `process.apparmorProfile "tupper-test"`) || !strings.Contains(stderr, "mount namespace") {
			t.Errorf("exec --apparmor: exit %d, stderr %q; want an error naming process.apparmorProfile and the missing mount namespace", code, stderr)
		}
	})
	t.Run("create selinux", func(t *testing.T) {
		d := newCtr(t, "true")
		d.spec.Root.Path = root
		d.dropNamespace(specs.MountNamespace)
		d.spec.Linux.MaskedPaths, d.spec.Linux.ReadonlyPaths = nil, nil
		d.spec.Process.SelinuxLabel = "system_u:system_r:container_t:s0"
		stderr, code := d.create()
		if code == 0 || !strings.Contains(stderr, `process.selinuxLabel "system_u:system_r:container_t:s0"`) || !strings.Contains(stderr, "mount namespace") {
			t.Errorf("create: exit %d, stderr %q; want an error naming process.selinuxLabel and the missing mount namespace", code, stderr)
		}
	})
}

func readTrim(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}
