package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// mountEntry is one line of /proc/self/mountinfo.
type mountEntry struct {
	fstype  string
	options map[string]bool // per-mount and per-superblock options together
}

// parseMountinfo returns the last (topmost) mount at each mount point.
func parseMountinfo(s string) map[string]mountEntry {
	m := map[string]mountEntry{}
	for _, line := range strings.Split(s, "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		f, g := strings.Fields(pre), strings.Fields(post)
		if !ok || len(f) < 6 || len(g) < 3 {
			continue
		}
		e := mountEntry{fstype: g[0], options: map[string]bool{}}
		for _, o := range strings.Split(f[5]+","+g[2], ",") {
			e.options[o] = true
		}
		m[f[4]] = e
	}
	return m
}

func TestMounts(t *testing.T) {
	c := newCtr(t, "cat", "/proc/self/mountinfo")
	c.spec.Mounts = append(c.spec.Mounts, specs.Mount{
		Destination: "/mnt/tmp", Type: "tmpfs", Source: "tmpfs",
		Options: []string{"nosuid", "nodev", "noexec", "size=1m", "mode=1770"},
	})
	c.bind("/mnt/ro", "ro")
	mounts := parseMountinfo(c.mustRun())
	for _, tc := range []struct {
		dest, fstype string
		options      []string
	}{
		{"/proc", "proc", nil},
		{"/dev", "tmpfs", []string{"nosuid", "mode=755"}},
		{"/dev/pts", "devpts", []string{"nosuid", "noexec", "mode=620", "ptmxmode=666", "gid=5"}},
		{"/dev/shm", "tmpfs", []string{"nosuid", "nodev", "noexec"}}, // mountinfo omits tmpfs's default mode=1777
		{"/dev/mqueue", "mqueue", []string{"nosuid", "nodev", "noexec"}},
		{"/sys", "sysfs", []string{"ro", "nosuid", "nodev", "noexec"}},
		{"/mnt/tmp", "tmpfs", []string{"nosuid", "nodev", "noexec", "size=1024k", "mode=1770"}},
		{"/mnt/ro", "", []string{"ro"}},
		{"/proc/sys", "proc", []string{"ro"}}, // a readonlyPath of the default spec
	} {
		e, ok := mounts[tc.dest]
		if !ok {
			t.Errorf("no mount at %s", tc.dest)
			continue
		}
		if tc.fstype != "" && e.fstype != tc.fstype {
			t.Errorf("%s: type %s, want %s", tc.dest, e.fstype, tc.fstype)
		}
		for _, o := range tc.options {
			if !e.options[o] {
				t.Errorf("%s: no option %s in %v", tc.dest, o, e.options)
			}
		}
	}
}

func TestBindReadOnly(t *testing.T) {
	c := newCtr(t, "sh", "-c", "cat /mnt/ro/file; touch /mnt/ro/new && echo WROTE; true")
	dir := c.bind("/mnt/ro", "ro")
	if err := os.WriteFile(filepath.Join(dir, "file"), []byte("from host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out := c.mustRun(); out != "from host\n" {
		t.Errorf("inside: %q, want the host file's content and no write", out)
	}
	if _, err := os.Stat(filepath.Join(dir, "new")); err == nil {
		t.Errorf("a file was created through a read-only bind mount")
	}
}

func TestDevices(t *testing.T) {
	script := `for d in null zero full random urandom tty; do echo $d $(stat -c '%F %t:%T %a' /dev/$d); done
echo ptmx $(readlink /dev/ptmx); echo fd $(readlink /dev/fd)
echo stdin $(readlink /dev/stdin); echo stdout $(readlink /dev/stdout); echo stderr $(readlink /dev/stderr)
echo write $(echo x > /dev/null && echo ok); echo read $(head -c 3 /dev/zero | wc -c)`
	c := newCtr(t, "sh", "-c", script)
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(c.mustRun()), "\n") {
		k, v, _ := strings.Cut(line, " ")
		got[k] = v
	}
	want := map[string]string{
		"null": "character special file 1:3 666", "zero": "character special file 1:5 666",
		"full": "character special file 1:7 666", "random": "character special file 1:8 666",
		"urandom": "character special file 1:9 666", "tty": "character special file 5:0 666",
		"ptmx": "pts/ptmx", "fd": "/proc/self/fd",
		"stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1", "stderr": "/proc/self/fd/2",
		"write": "ok", "read": "3",
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("/dev/%s inside: %q, want %q", k, got[k], w)
		}
	}
}

func TestMaskedPaths(t *testing.T) {
	// /proc/timer_list is in the default maskedPaths and never empty on the host.
	c := newCtr(t, "sh", "-c", "head -c 1 /proc/timer_list | wc -c; ls -A /mnt/secret; echo end")
	dir := c.bind("/mnt/secret")
	if err := os.WriteFile(filepath.Join(dir, "key"), []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	c.spec.Linux.MaskedPaths = append(c.spec.Linux.MaskedPaths, "/mnt/secret")
	if out := strings.Fields(c.mustRun()); strings.Join(out, " ") != "0 end" {
		t.Errorf("bytes read from /proc/timer_list and /mnt/secret listing: %q, want [0 end]", out)
	}
}

func TestReadonlyPaths(t *testing.T) {
	c := newCtr(t, "sh", "-c", "touch /mnt/rw/x && echo WROTE; cat /mnt/rw/file")
	dir := c.bind("/mnt/rw")
	if err := os.WriteFile(filepath.Join(dir, "file"), []byte("readable\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c.spec.Linux.ReadonlyPaths = append(c.spec.Linux.ReadonlyPaths, "/mnt/rw")
	if out := c.mustRun(); out != "readable\n" {
		t.Errorf("inside: %q, want the file readable and no write", out)
	}
	if _, err := os.Stat(filepath.Join(dir, "x")); err == nil {
		t.Errorf("a file was created under a readonlyPath")
	}
}

func TestRootReadonly(t *testing.T) {
	c := newCtr(t, "sh", "-c", "touch /x && echo WROTE; touch /tmp/y && echo tmp-ok; true")
	c.spec.Root.Readonly = true
	c.spec.Mounts = append(c.spec.Mounts, specs.Mount{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs"})
	if out := c.mustRun(); out != "tmp-ok\n" {
		t.Errorf("inside: %q, want / read-only and /tmp writable", out)
	}
	if _, err := os.Lstat(filepath.Join(rootfsDir, "x")); err == nil {
		os.Remove(filepath.Join(rootfsDir, "x"))
		t.Errorf("a read-only root was written to")
	}
}

func TestNoPivot(t *testing.T) {
	c := newCtr(t, "sh", "-c", "ls /bin/busybox; test -e /usr/local/go && echo HOST; hostname")
	if out := c.mustRun("--no-pivot"); out != "/bin/busybox\ntupper-test\n" {
		t.Errorf("inside with --no-pivot: %q, want the container's root only", out)
	}
}

func TestPreserveFds(t *testing.T) {
	c := newCtr(t, "sh", "-c", "cat <&3; cat <&4")
	var files []*os.File
	for _, s := range []string{"three\n", "four\n"} {
		p := filepath.Join(t.TempDir(), "fd")
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		files = append(files, f)
	}
	c.write()
	o := c.opts()
	o.extra = files
	out, stderr, code := tupperWith(t, o, "run", "--preserve-fds", "2", "--bundle", c.bundle, c.id)
	if code != 0 || out != "three\nfour\n" {
		t.Errorf("run --preserve-fds 2: exit %d, stdout %q, stderr %q; want the two files", code, out, stderr)
	}
}
