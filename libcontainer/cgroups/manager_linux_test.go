package cgroups

import (
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestProbe(t *testing.T) {
	t.Parallel()
	for _, kind := range []hostKind{kindV1, kindHybrid, kindV2} {
		t.Run(kind.String(), func(t *testing.T) {
			t.Parallel()
			f := newFakeHost(t, kind)
			h, err := f.prober().probe()
			if err != nil {
				t.Fatal(err)
			}
			if got := h.unified != nil; got != (kind != kindV1) {
				t.Errorf("unified hierarchy found: %v", got)
			}
			if kind == kindV2 {
				if len(h.v1) != 0 || h.unified.mountpoint != f.root {
					t.Errorf("v2 host: v1=%v unified=%v", h.v1, h.unified)
				}
				return
			}
			if h.v1["cpu"] != h.v1["cpuacct"] || h.v1["cpu"].mountpoint != filepath.Join(f.root, "cpu,cpuacct") {
				t.Errorf("co-mounted cpu,cpuacct: %v %v", h.v1["cpu"], h.v1["cpuacct"])
			}
			if h.v1["memory"].mountpoint != filepath.Join(f.root, "memory") {
				t.Errorf("memory at %v, want the one under root", h.v1["memory"])
			}
			if _, ok := h.v1["name=systemd"]; !ok {
				t.Error("name=systemd not found")
			}
			if _, ok := h.v1["xattr"]; ok {
				t.Error("mount option xattr taken for a controller")
			}
		})
	}
}

func TestParseMountinfo(t *testing.T) {
	t.Parallel()
	data := []byte(`1 0 0:1 / / rw - ext4 /dev/sda rw
40 31 0:37 /docker/abc /sys/fs/cgroup/cpu,cpuacct rw,nosuid - cgroup cgroup rw,cpu,cpuacct
41 31 0:38 / /sys/fs/cgroup/with\040space rw - cgroup cgroup rw,clone_children,pids
42 31 0:39 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw
`)
	got := parseMountinfo(data, "/sys/fs/cgroup")
	want := map[string]hierarchy{
		"cpu":     {"/sys/fs/cgroup/cpu,cpuacct", "/docker/abc"},
		"cpuacct": {"/sys/fs/cgroup/cpu,cpuacct", "/docker/abc"},
		"pids":    {"/sys/fs/cgroup/with space", "/"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parseMountinfo = %v, want %v", got, want)
	}
}

func TestPlacement(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, path, id string
		want           string // the cgroup below each hierarchy's mountpoint
		wantV2         string // on a pure v2 host, when it differs
	}{
		{"absolute", "/tupper/web1", "id", "tupper/web1", ""},
		// On v2 relative paths start at the parent of the own cgroup,
		// which holds processes and so could give no child controllers.
		{"relative to own cgroup", "tupper/web1", "id", "own/slice/tupper/web1", "own/tupper/web1"},
		{"empty is the id, relative", "", "web1", "own/slice/web1", "own/web1"},
		{"no climbing out of the hierarchy", "/../../../etc", "id", "etc", ""},
		{"relative may not climb out either", "../../../../x", "id", "x", ""},
	} {
		for _, kind := range []hostKind{kindV1, kindHybrid, kindV2} {
			t.Run(tc.name+"/"+kind.String(), func(t *testing.T) {
				t.Parallel()
				f := newFakeHost(t, kind)
				m := f.manager(t, tc.path, tc.id)
				paths := m.Paths()
				wantKeys := []string{""}
				if kind != kindV2 {
					wantKeys = []string{"blkio", "cpu", "cpuacct", "cpuset", "devices", "freezer", "hugetlb", "memory", "name=systemd", "net_cls", "net_prio", "pids", "rdma"}
				}
				if kind == kindHybrid {
					wantKeys = append(wantKeys, "unified")
				}
				if keys := slices.Sorted(maps.Keys(paths)); !slices.Equal(keys, wantKeys) {
					t.Errorf("Paths() keys = %q, want %q", keys, wantKeys)
				}
				for ctrl, dir := range paths {
					mp := f.root
					switch {
					case ctrl == "unified":
						mp = filepath.Join(f.root, "unified")
					case ctrl == "cpu" || ctrl == "cpuacct":
						mp = filepath.Join(f.root, "cpu,cpuacct")
					case ctrl == "name=systemd":
						mp = filepath.Join(f.root, "systemd")
					case ctrl != "":
						mp = filepath.Join(f.root, ctrl)
					}
					want := filepath.Join(mp, tc.want)
					if kind == kindV2 && tc.wantV2 != "" {
						want = filepath.Join(mp, tc.wantV2)
					}
					if dir != want {
						t.Errorf("%q: %s, want %s", ctrl, dir, want)
					}
				}
			})
		}
	}
}

func TestPlacementErrors(t *testing.T) {
	t.Parallel()
	f := newFakeHost(t, kindV1)
	for _, tc := range []struct{ path, id, want string }{
		{"/", "x", "is the root cgroup"},
		{"", "", "empty and no container id"},
	} {
		_, err := f.prober().newManager(tc.path, tc.id)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("newManager(%q, %q) = %v, want %q", tc.path, tc.id, err, tc.want)
		}
	}
}

func TestHierarchyDirMountRoot(t *testing.T) {
	t.Parallel()
	// Inside a container that bind-mounts its own part of the hierarchy,
	// /proc/self/cgroup still names the cgroup from the real root.
	hi := hierarchy{mountpoint: "/sys/fs/cgroup/memory", root: "/docker/abc"}
	got, err := hi.dir("sub", "/docker/abc/init")
	if want := "/sys/fs/cgroup/memory/init/sub"; err != nil || got != want {
		t.Errorf("dir = %q, %v; want %q", got, err, want)
	}
}

func TestApplyV1(t *testing.T) {
	t.Parallel()
	f := newFakeHost(t, kindHybrid)
	m := f.manager(t, "/a/b/c", "id")
	if err := m.Apply(0); err != nil {
		t.Fatal(err)
	}
	// Every new cpuset level got cpus and mems from its parent.
	for _, level := range []string{"a", "a/b", "a/b/c"} {
		for _, name := range []string{"cpuset.cpus", "cpuset.mems"} {
			if got := readT(t, filepath.Join(f.root, "cpuset", level, name)); got != "0-1" {
				t.Errorf("cpuset/%s/%s = %q, want 0-1", level, name, got)
			}
		}
	}
	if err := m.Apply(1234); err != nil {
		t.Fatal(err)
	}
	for ctrl, dir := range m.Paths() {
		if got := readT(t, filepath.Join(dir, "cgroup.procs")); got != "1234" {
			t.Errorf("%s cgroup.procs = %q", ctrl, got)
		}
	}
	// Hybrid: no controller is enabled in the host's unified hierarchy.
	for _, w := range f.writes {
		if strings.Contains(w, "subtree_control") {
			t.Errorf("wrote %s", w)
		}
	}
	p, err := m.Placement()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	// One tasks file per distinct v1 directory; the unified one (hybrid)
	// is entered with CLONE_INTO_CGROUP instead.
	if len(p.Tasks) == 0 || p.CloneFD < 0 {
		t.Errorf("placement on a hybrid host: %d tasks files, clone fd %d", len(p.Tasks), p.CloneFD)
	}
	for _, f := range p.Tasks {
		if filepath.Base(f.Name()) != "tasks" {
			t.Errorf("placement file %s, want a tasks file", f.Name())
		}
	}
}

func TestApplyV2(t *testing.T) {
	t.Parallel()
	f := newFakeHost(t, kindV2)
	m := f.manager(t, "/a/b", "id")
	if err := m.Apply(0); err != nil {
		t.Fatal(err)
	}
	leaf := filepath.Join(f.root, "a/b")
	if got := readT(t, filepath.Join(leaf, "cgroup.controllers")); got != "cpuset cpu io memory hugetlb pids rdma" {
		t.Errorf("leaf controllers = %q, want all of them enabled above it", got)
	}
	if got := readT(t, filepath.Join(leaf, "cgroup.subtree_control")); got != "" {
		t.Errorf("leaf subtree_control = %q, want untouched", got)
	}
	p, err := m.Placement()
	if err != nil {
		t.Fatal(err)
	}
	if p.CloneFD < 0 || len(p.Tasks) != 0 {
		t.Errorf("v2 placement: clone fd %d, %d tasks files; want a clone fd only", p.CloneFD, len(p.Tasks))
	}
	p.Close()
	if err := m.Apply(99); err != nil {
		t.Fatal(err)
	}
	if got := readT(t, filepath.Join(leaf, "cgroup.procs")); got != "99" {
		t.Errorf("cgroup.procs = %q", got)
	}
}

func TestLoad(t *testing.T) {
	t.Parallel()
	for _, kind := range []hostKind{kindV1, kindHybrid, kindV2} {
		t.Run(kind.String(), func(t *testing.T) {
			t.Parallel()
			f := newFakeHost(t, kind)
			m := f.manager(t, "/x", "id")
			l, err := Load(m.Paths())
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(l.Paths(), m.Paths()) {
				t.Errorf("Load(Paths()).Paths() = %v, want %v", l.Paths(), m.Paths())
			}
		})
	}
	for _, bad := range []map[string]string{nil, {"memory": "rel/ative"}} {
		if _, err := Load(bad); err == nil {
			t.Errorf("Load(%v) succeeded", bad)
		}
	}
}

func TestPidsAndDestroyMissing(t *testing.T) {
	t.Parallel()
	f := newFakeHost(t, kindV1)
	m := f.manager(t, "/x", "id")
	must(t, m.Apply(0))
	sub := filepath.Join(f.root, "pids/x/child")
	must(t, f.mkdir(sub))
	must(t, os.WriteFile(filepath.Join(f.root, "pids/x/cgroup.procs"), []byte("10\n11\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(sub, "cgroup.procs"), []byte("12\n"), 0o644))
	pids, err := m.Pids()
	if slices.Sort(pids); err != nil || !slices.Equal(pids, []int{10, 11, 12}) {
		t.Errorf("Pids() = %v, %v", pids, err)
	}

	gone := f.manager(t, "/never-created", "id")
	if pids, err := gone.Pids(); err != nil || len(pids) != 0 {
		t.Errorf("Pids() of a missing cgroup = %v, %v", pids, err)
	}
	if err := gone.Destroy(); err != nil {
		t.Errorf("Destroy() of a missing cgroup = %v", err)
	}
}

func TestFreezeV1Fake(t *testing.T) {
	t.Parallel()
	f := newFakeHost(t, kindV1)
	m := f.manager(t, "/x", "id")
	must(t, m.Apply(0))
	// A plain file reads back what was written: the state is reached at once.
	must(t, m.Freeze(true))
	if got, err := m.Frozen(); !got || err != nil {
		t.Errorf("Frozen() = %v, %v", got, err)
	}
	must(t, m.Freeze(false))
	if got := readT(t, filepath.Join(f.root, "freezer/x/freezer.state")); got != "THAWED" {
		t.Errorf("freezer.state = %q", got)
	}
}
