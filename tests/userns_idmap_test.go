package tests

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/runtime-spec/specs-go/features"
)

// Idmapped bind mounts (options idmap and ridmap, with the mount's own
// uidMappings and gidMappings or the container's): what the container
// creates through them has the mapped owner on the host, and host files
// show the mapped owner inside.

// idmapProbe prints the owner of a host file, creates one and prints its
// owner, as the container sees them.
const idmapProbe = "stat -c %u:%g /mnt/old && touch /mnt/new && stat -c %u:%g /mnt/new"

func TestUsernsIdmapMount(t *testing.T) {
	shift := func(ctr, host uint32) []specs.LinuxIDMapping {
		return []specs.LinuxIDMapping{{ContainerID: ctr, HostID: host, Size: 65536}}
	}
	for _, tc := range []struct {
		name      string
		userns    bool
		options   []string
		uid, gid  []specs.LinuxIDMapping
		hostOwner int // of the source directory and of its file "old"
		inside    string
		onHost    [2]uint32 // owner of "new" on the host
	}{
		{
			// Host 1000 is root through the mount: root's files land as 1000.
			name: "no user namespace", options: []string{"bind", "idmap"},
			uid:       []specs.LinuxIDMapping{{ContainerID: 1000, HostID: 0, Size: 1}},
			gid:       []specs.LinuxIDMapping{{ContainerID: 1000, HostID: 0, Size: 1}},
			hostOwner: 1000, inside: "0:0\n0:0\n", onHost: [2]uint32{1000, 1000},
		},
		{
			name: "no user namespace, rbind ridmap", options: []string{"rbind", "ridmap"},
			uid:       []specs.LinuxIDMapping{{ContainerID: 1000, HostID: 0, Size: 1}},
			gid:       []specs.LinuxIDMapping{{ContainerID: 1000, HostID: 0, Size: 1}},
			hostOwner: 1000, inside: "0:0\n0:0\n", onHost: [2]uint32{1000, 1000},
		},
		{
			// The mapping of the container's own namespace, given on the
			// mount: container root's files belong to host root, not 100000.
			name: "user namespace, mount mappings", userns: true, options: []string{"bind", "idmap"},
			uid: shift(0, 100000), gid: shift(0, 100000),
			hostOwner: 0, inside: "0:0\n0:0\n", onHost: [2]uint32{0, 0},
		},
		{
			// No mappings on the mount: the container's are used.
			name: "user namespace, container's mappings", userns: true, options: []string{"bind", "idmap"},
			hostOwner: 0, inside: "0:0\n0:0\n", onHost: [2]uint32{0, 0},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCtr(t, "sh", "-c", idmapProbe)
			if tc.userns {
				withUserns(c)
			}
			src := t.TempDir()
			// Reachable by a user namespace's ids (t.TempDir's parent is 0700).
			if err := os.Chmod(filepath.Dir(src), 0o755); err != nil {
				t.Fatal(err)
			}
			old := filepath.Join(src, "old")
			if err := os.WriteFile(old, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			for _, p := range []string{src, old} {
				if err := os.Chown(p, tc.hostOwner, tc.hostOwner); err != nil {
					t.Fatal(err)
				}
			}
			c.spec.Mounts = append(c.spec.Mounts, specs.Mount{
				Destination: "/mnt", Type: "bind", Source: src, Options: tc.options,
				UIDMappings: tc.uid, GIDMappings: tc.gid,
			})
			out, stderr, code := c.run()
			if code != 0 || out != tc.inside {
				t.Fatalf("exit %d, stdout %q, stderr %q; want %q", code, out, stderr, tc.inside)
			}
			var st syscall.Stat_t
			if err := syscall.Stat(filepath.Join(src, "new"), &st); err != nil {
				t.Fatal(err)
			}
			if got := [2]uint32{st.Uid, st.Gid}; got != tc.onHost {
				t.Errorf("file created through the idmapped mount belongs to %d:%d on the host, want %d:%d",
					got[0], got[1], tc.onHost[0], tc.onHost[1])
			}
		})
	}
}

// TestUsernsIdmapRejects: idmap without any mapping to use, and on what is
// not a bind mount, fail create with a message naming the problem.
func TestUsernsIdmapRejects(t *testing.T) {
	for _, tc := range []struct {
		name  string
		mount specs.Mount
		words []string
	}{
		{"no mappings and no user namespace", specs.Mount{Destination: "/mnt", Type: "bind", Source: "/tmp", Options: []string{"bind", "idmap"}},
			[]string{"no uidMappings and gidMappings"}},
		{"uid mappings alone", specs.Mount{Destination: "/mnt", Type: "bind", Source: "/tmp", Options: []string{"bind", "idmap"},
			UIDMappings: []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}}},
			[]string{"uidMappings and gidMappings"}},
		{"not a bind mount", specs.Mount{Destination: "/mnt", Type: "tmpfs", Source: "tmpfs", Options: []string{"idmap"},
			UIDMappings: []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}},
			GIDMappings: []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}}},
			[]string{"bind mount"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCtr(t, "true")
			c.spec.Mounts = append(c.spec.Mounts, tc.mount)
			stderr, code := c.create()
			wantError(t, "create", code, stderr, tc.words...)
			assertNoLeak(t, c)
		})
	}
}

// TestUsernsIdmapFeatures: the features document says idmapped mounts work.
func TestUsernsIdmapFeatures(t *testing.T) {
	var f features.Features
	if err := json.Unmarshal([]byte(mustTupper(t, "features")), &f); err != nil {
		t.Fatal(err)
	}
	if f.Linux == nil || f.Linux.MountExtensions == nil || f.Linux.MountExtensions.IDMap == nil ||
		f.Linux.MountExtensions.IDMap.Enabled == nil || !*f.Linux.MountExtensions.IDMap.Enabled {
		t.Errorf("features: linux.mountExtensions.idmap.enabled is not true")
	}
	for _, opt := range []string{"idmap", "ridmap"} {
		if !slices.Contains(f.MountOptions, opt) {
			t.Errorf("features: mountOptions lacks %s: %s", opt, strings.Join(f.MountOptions, ","))
		}
	}
}
