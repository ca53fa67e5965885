package rootfs

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func TestMountIdmapping(t *testing.T) {
	own := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 5000, Size: 10}}
	ctr := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	withUserns := func(path string) *specs.Spec {
		return &specs.Spec{Linux: &specs.Linux{
			Namespaces:  []specs.LinuxNamespace{{Type: specs.MountNamespace}, {Type: specs.UserNamespace, Path: path}},
			UIDMappings: ctr, GIDMappings: ctr,
		}}
	}
	noUserns := &specs.Spec{Linux: &specs.Linux{Namespaces: []specs.LinuxNamespace{{Type: specs.MountNamespace}}}}
	tests := []struct {
		name  string
		spec  *specs.Spec
		mount specs.Mount
		want  idmapping
		err   string
	}{
		{name: "own mappings", spec: noUserns, mount: specs.Mount{UIDMappings: own, GIDMappings: own}, want: idmapping{uid: own, gid: own}},
		{name: "own mappings win over the container's", spec: withUserns(""), mount: specs.Mount{UIDMappings: own, GIDMappings: own}, want: idmapping{uid: own, gid: own}},
		{name: "uid only", spec: noUserns, mount: specs.Mount{UIDMappings: own}, err: "must be given together"},
		{name: "gid only", spec: withUserns(""), mount: specs.Mount{GIDMappings: own}, err: "must be given together"},
		{name: "none without user namespace", spec: noUserns, err: "no user namespace"},
		{name: "none, nil linux", spec: &specs.Spec{}, err: "no user namespace"},
		{name: "container's new namespace", spec: withUserns(""), want: idmapping{uid: ctr, gid: ctr}},
		{name: "container's joined namespace", spec: withUserns("/proc/1/ns/user"), want: idmapping{path: "/proc/1/ns/user"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := mountIdmapping(tt.spec, &tt.mount)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.key() != tt.want.key() {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestIdmappingKey(t *testing.T) {
	a := idmapping{uid: []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1, Size: 2}}, gid: []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1, Size: 2}}}
	b := idmapping{uid: a.uid, gid: []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1, Size: 3}}}
	swapped := idmapping{uid: b.gid, gid: b.uid}
	if a.key() == b.key() || b.key() == swapped.key() {
		t.Errorf("different mappings share a key: %q %q %q", a.key(), b.key(), swapped.key())
	}
	if a.key() != (idmapping{uid: a.uid, gid: a.gid}).key() {
		t.Error("equal mappings have different keys")
	}
}

func TestIsIdmapped(t *testing.T) {
	m := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1, Size: 1}}
	tests := []struct {
		name  string
		mount specs.Mount
		want  bool
	}{
		{"plain bind", specs.Mount{Options: []string{"rbind"}}, false},
		{"idmap", specs.Mount{Options: []string{"bind", "idmap"}}, true},
		{"ridmap", specs.Mount{Options: []string{"rbind", "ridmap"}}, true},
		{"mappings without the option", specs.Mount{Options: []string{"bind"}, UIDMappings: m, GIDMappings: m}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parseOptions(tt.mount.Options)
			if err != nil {
				t.Fatal(err)
			}
			if got := isIdmapped(&tt.mount, o); got != tt.want {
				t.Errorf("isIdmapped = %v, want %v", got, tt.want)
			}
			if got := o.data; got != "" {
				t.Errorf("idmap options reached mount data: %q", got)
			}
		})
	}
}

func TestCheckIdmapType(t *testing.T) {
	for _, tt := range []struct {
		mount specs.Mount
		ok    bool
	}{
		{specs.Mount{Type: "bind", Options: []string{"idmap"}}, true},
		{specs.Mount{Type: "none", Options: []string{"rbind", "ridmap"}}, true},
		{specs.Mount{Type: "tmpfs", Options: []string{"idmap"}}, false},
	} {
		o, _ := parseOptions(tt.mount.Options)
		if err := checkIdmapType(&tt.mount, o); (err == nil) != tt.ok {
			t.Errorf("checkIdmapType(%+v) = %v, want ok %v", tt.mount, err, tt.ok)
		}
	}
}

// TestOpenIdmapped builds detached idmapped trees of a host directory and
// looks at them through their fd, without attaching them anywhere.
func TestOpenIdmapped(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skipping: idmapped mounts need root")
	}
	dir := t.TempDir()
	for name, owner := range map[string]int{"root": 0, "user": 1000, "far": 200000} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(p, owner, owner+1); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	users := usernsSet{}
	defer users.close()
	tests := []struct {
		name     string
		uid, gid []specs.LinuxIDMapping
		want     map[string][2]uint32 // owner seen through the mount
	}{
		{
			name: "shift",
			uid:  []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}},
			gid:  []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}},
			want: map[string][2]uint32{"root": {100000, 100001}, "user": {101000, 101001}, "far": {65534, 65534}},
		},
		{
			name: "multi-range, uids and gids apart",
			uid:  []specs.LinuxIDMapping{{ContainerID: 0, HostID: 7000, Size: 1}, {ContainerID: 1000, HostID: 8000, Size: 1}},
			gid:  []specs.LinuxIDMapping{{ContainerID: 1, HostID: 9000, Size: 1}, {ContainerID: 1001, HostID: 9500, Size: 1}},
			want: map[string][2]uint32{"root": {7000, 9000}, "user": {8000, 9500}, "far": {65534, 65534}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			userns, err := users.get(idmapping{uid: tt.uid, gid: tt.gid})
			if err != nil {
				t.Fatal(err)
			}
			again, err := users.get(idmapping{uid: tt.uid, gid: tt.gid})
			if err != nil || again != userns {
				t.Errorf("second get: fd %d (%v), want the cached %d", again, err, userns)
			}
			tree, err := openIdmapped(dir, mountOptions{flags: unix.MS_BIND}, userns)
			if err != nil {
				t.Fatal(err)
			}
			defer unix.Close(tree)
			for name, want := range tt.want {
				var st unix.Stat_t
				if err := unix.Fstatat(tree, name, &st, 0); err != nil {
					t.Fatal(err)
				}
				if st.Uid != want[0] || st.Gid != want[1] {
					t.Errorf("%s through the mount: owner %d:%d, want %d:%d", name, st.Uid, st.Gid, want[0], want[1])
				}
			}
			// Host root is outside every mapping here: it may not create.
			_, err = unix.Openat(tree, "new-"+tt.name, unix.O_CREAT|unix.O_WRONLY|unix.O_CLOEXEC, 0o644)
			if !errors.Is(err, unix.EOVERFLOW) {
				t.Errorf("create as an unmapped uid: %v, want EOVERFLOW", err)
			}
		})
	}
	t.Run("missing source", func(t *testing.T) {
		userns, err := users.get(idmapping{uid: tests[0].uid, gid: tests[0].gid})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := openIdmapped(filepath.Join(dir, "nosuch"), mountOptions{}, userns); !errors.Is(err, unix.ENOENT) {
			t.Errorf("open_tree of a missing source: %v, want ENOENT", err)
		}
	})
}

func TestPrepareIdmappedNothingToDo(t *testing.T) {
	m := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1, Size: 1}}
	for name, spec := range map[string]*specs.Spec{
		"nil":          nil,
		"no userns":    {Mounts: []specs.Mount{{Destination: "/x", Type: "bind", Source: "/", Options: []string{"bind", "idmap"}, UIDMappings: m, GIDMappings: m}}},
		"no idmapping": {Mounts: []specs.Mount{{Destination: "/x", Type: "bind", Source: "/"}}, Linux: &specs.Linux{Namespaces: []specs.LinuxNamespace{{Type: specs.UserNamespace}}}},
	} {
		got, err := PrepareIdmapped(spec, "")
		if err != nil || got != nil {
			t.Errorf("%s: PrepareIdmapped = %v, %v; want nothing", name, got, err)
		}
	}
}

// TestHolderProcDir: the pid the pidfd's fdinfo gives names the child in
// /proc, and newUserns's namespace is the child's.
func TestHolderProcDir(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skipping: writing arbitrary id maps needs root")
	}
	h, err := startHolder()
	if err != nil {
		t.Fatal(err)
	}
	defer h.stop()
	dir, err := h.procDir()
	if err != nil {
		t.Fatal(err)
	}
	if want := "/proc/" + strconv.Itoa(h.p.Pid); dir != want {
		t.Errorf("procDir = %q, want %q", dir, want)
	}
	mine, _ := os.Readlink("/proc/self/ns/user")
	theirs, err := os.Readlink(dir + "/ns/user")
	if err != nil || theirs == mine {
		t.Errorf("child's user namespace %q (%v), ours %q: want a new one", theirs, err, mine)
	}
}

// BenchmarkNewUserns is the cost of one mapping's user namespace.
func BenchmarkNewUserns(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("skipping: writing arbitrary id maps needs root")
	}
	m := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	for b.Loop() {
		fd, err := newUserns(m, m)
		if err != nil {
			b.Fatal(err)
		}
		unix.Close(fd)
	}
}
