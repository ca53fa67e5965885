package rootfs

import (
	"os"
	"path/filepath"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// newTestRoot builds a rootfs with symlinks that try to leave it, and an
// outside directory on the host that they point at.
//
//	a/b/           file         abs -> /          escape -> ../../../../..
//	outside -> <host dir>       loop -> loop      chain -> abs/a/b
//	dangle -> /nowhere/thing    hostfile -> <host dir>/secret
func newTestRoot(t *testing.T) (rootPath, outside string) {
	t.Helper()
	rootPath, outside = t.TempDir(), t.TempDir()
	if err := os.MkdirAll(filepath.Join(rootPath, "a/b"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rootPath, "file"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(outside, "secret"), []byte("host"), 0o644); err != nil {
		t.Fatal(err)
	}
	links := map[string]string{
		"abs":      "/",
		"escape":   "../../../../..",
		"outside":  outside,
		"loop":     "loop",
		"chain":    "abs/a/b",
		"dangle":   "/nowhere/thing",
		"hostfile": outside + "/secret",
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(rootPath, name)); err != nil {
			t.Fatal(err)
		}
	}
	return rootPath, outside
}

// fdName returns where the kernel says fd is.
func fdName(t *testing.T, fd int) string {
	t.Helper()
	p, err := os.Readlink(fdPath(fd))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// resolveModes runs f once with openat2 and once with the component walk.
func resolveModes(t *testing.T, f func(t *testing.T, r *root, rootPath, outside string)) {
	for _, mode := range []string{"openat2", "walk"} {
		t.Run(mode, func(t *testing.T) {
			rootPath, outside := newTestRoot(t)
			r, err := openRoot(rootPath, true)
			if err != nil {
				t.Fatal(err)
			}
			defer r.close()
			r.noOpenat2 = mode == "walk"
			f(t, r, rootPath, outside)
			entries, err := os.ReadDir(outside)
			if err != nil || len(entries) != 1 {
				t.Errorf("outside directory changed: %v %v", entries, err)
			}
		})
	}
}

func TestResolveStaysInside(t *testing.T) {
	tests := []struct {
		path string
		want string // relative to the root; "" is the root itself
		err  error
	}{
		{path: "/a/b", want: "a/b"},
		{path: "a/b", want: "a/b"},
		{path: "/", want: ""},
		{path: "", want: ""},
		{path: "/..", want: ""},
		{path: "/../../a", want: "a"},
		{path: "/a/b/../../file", want: "file"},
		{path: "/escape", want: ""},
		{path: "/escape/a", want: "a"},
		{path: "/abs/a/b", want: "a/b"},
		{path: "/chain", want: "a/b"},
		{path: "/chain/../../file", want: "file"},
		{path: "/outside", err: unix.ENOENT},
		{path: "/hostfile", err: unix.ENOENT},
		{path: "/dangle", err: unix.ENOENT},
		{path: "/loop", err: unix.ELOOP},
		{path: "/file/x", err: unix.ENOTDIR},
	}
	resolveModes(t, func(t *testing.T, r *root, rootPath, _ string) {
		for _, tt := range tests {
			t.Run(tt.path, func(t *testing.T) {
				fd, err := r.open(tt.path)
				if tt.err != nil {
					if err != tt.err {
						t.Fatalf("open(%q) err = %v, want %v", tt.path, err, tt.err)
					}
					return
				}
				if err != nil {
					t.Fatalf("open(%q): %v", tt.path, err)
				}
				defer unix.Close(fd)
				if got, want := fdName(t, fd), filepath.Join(rootPath, tt.want); got != want {
					t.Errorf("open(%q) = %s, want %s", tt.path, got, want)
				}
			})
		}
	})
}

func TestResolveCreatesInside(t *testing.T) {
	tests := []struct {
		path string
		c    create
		want func(rootPath, outside string) string
		dir  bool
	}{
		{path: "/new/dir", c: createDir, dir: true, want: func(r, _ string) string { return r + "/new/dir" }},
		{path: "/outside/new", c: createDir, dir: true, want: func(r, o string) string { return r + o + "/new" }},
		{path: "/escape/x/y/file", c: createFile, want: func(r, _ string) string { return r + "/x/y/file" }},
		{path: "/dangle", c: createFile, want: func(r, _ string) string { return r + "/nowhere/thing" }},
		{path: "/hostfile", c: createFile, want: func(r, o string) string { return r + o + "/secret" }},
		{path: "/a/b", c: createDir, dir: true, want: func(r, _ string) string { return r + "/a/b" }},
	}
	resolveModes(t, func(t *testing.T, r *root, rootPath, outside string) {
		for _, tt := range tests {
			t.Run(tt.path, func(t *testing.T) {
				fd, err := r.openCreate(tt.path, tt.c)
				if err != nil {
					t.Fatalf("openCreate(%q): %v", tt.path, err)
				}
				defer unix.Close(fd)
				want := tt.want(rootPath, outside)
				if got := fdName(t, fd); got != want {
					t.Errorf("openCreate(%q) = %s, want %s", tt.path, got, want)
				}
				st, err := os.Stat(want)
				if err != nil {
					t.Fatal(err)
				}
				if st.IsDir() != tt.dir {
					t.Errorf("%s: dir = %v, want %v", want, st.IsDir(), tt.dir)
				}
			})
		}
	})
}

func TestOpenParent(t *testing.T) {
	resolveModes(t, func(t *testing.T, r *root, rootPath, outside string) {
		fd, name, err := r.openParent("/outside/dev/null")
		if err != nil {
			t.Fatal(err)
		}
		defer unix.Close(fd)
		if got, want := fdName(t, fd), rootPath+outside+"/dev"; got != want || name != "null" {
			t.Errorf("openParent = %s, %q; want %s, \"null\"", got, name, want)
		}
		if _, _, err := r.openParent("/"); err == nil {
			t.Error("openParent(/) succeeded")
		}
	})
}

func TestTargetWithoutProc(t *testing.T) {
	r := &root{fd: -1, path: "/"}
	if got := r.target(3, "/proc/kcore"); got != "/proc/kcore" {
		t.Errorf("target = %q", got)
	}
	r.viaProc = true
	if got := r.target(3, "/proc/kcore"); got != "/proc/self/fd/3" {
		t.Errorf("target = %q", got)
	}
}

func TestNextComponent(t *testing.T) {
	tests := []struct{ in, comp, rest string }{
		{"", "", ""},
		{"/", "", ""},
		{"a", "a", ""},
		{"//a//b/", "a", "/b/"},
		{"a/b/c", "a", "b/c"},
	}
	for _, tt := range tests {
		if comp, rest := nextComponent(tt.in); comp != tt.comp || rest != tt.rest {
			t.Errorf("nextComponent(%q) = %q, %q", tt.in, comp, rest)
		}
	}
}

func TestParseMountinfo(t *testing.T) {
	tests := []struct {
		line string
		want mountinfoEntry
		ok   bool
	}{
		{
			line: "35 31 0:31 /process_api/x /sys/fs/cgroup/memory rw,relatime shared:9 - cgroup cgroup rw,memory",
			want: mountinfoEntry{root: "/process_api/x", mountPoint: "/sys/fs/cgroup/memory", fstype: "cgroup", superOptions: "rw,memory"},
			ok:   true,
		},
		{
			line: `41 31 0:38 / /mnt/with\040space rw - cgroup2 cgroup2 rw`,
			want: mountinfoEntry{root: "/", mountPoint: "/mnt/with space", fstype: "cgroup2", superOptions: "rw"},
			ok:   true,
		},
		{line: "garbage"},
	}
	for _, tt := range tests {
		got, ok := parseMountinfo(tt.line)
		if ok != tt.ok || got != tt.want {
			t.Errorf("parseMountinfo(%q) = %+v, %v", tt.line, got, ok)
		}
	}
}

func TestCgroupControllers(t *testing.T) {
	tests := map[string]string{
		"rw,memory":                         "memory",
		"rw,cpu,cpuacct":                    "cpu,cpuacct",
		"rw,xattr,name=systemd":             "name=systemd",
		"ro,cpuset,clone_children,noprefix": "cpuset",
		"rw,release_agent=/x,pids":          "pids",
	}
	for in, want := range tests {
		if got := cgroupControllers(in); got != want {
			t.Errorf("cgroupControllers(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCutPathPrefix(t *testing.T) {
	tests := []struct {
		p, prefix, rel string
		ok             bool
	}{
		{"/a/b", "/", "/a/b", true},
		{"/a/b", "/a", "/b", true},
		{"/a", "/a", "", true},
		{"/ab", "/a", "", false},
		{"/b", "/a", "", false},
	}
	for _, tt := range tests {
		rel, ok := cutPathPrefix(tt.p, tt.prefix)
		if rel != tt.rel || ok != tt.ok {
			t.Errorf("cutPathPrefix(%q, %q) = %q, %v", tt.p, tt.prefix, rel, ok)
		}
	}
}

func TestNeedsDevSetup(t *testing.T) {
	if !needsDevSetup(nil) {
		t.Error("no mounts: want device setup")
	}
	if needsDevSetup([]specs.Mount{{Destination: "/dev/", Type: "none", Options: []string{"rbind"}}}) {
		t.Error("bind /dev: want no device setup")
	}
	if !needsDevSetup([]specs.Mount{{Destination: "/dev", Type: "tmpfs"}}) {
		t.Error("tmpfs /dev: want device setup")
	}
}
