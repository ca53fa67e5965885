package bundle

import (
	"encoding/json"
	"os"
	"slices"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestDefault(t *testing.T) {
	for _, rootless := range []bool{false, true} {
		name := map[bool]string{false: "root", true: "rootless"}[rootless]
		t.Run(name, func(t *testing.T) {
			s := Default(rootless)
			if err := Validate(s, newBundle(t)); err != nil {
				t.Fatalf("default spec is invalid: %v", err)
			}
			if _, err := json.Marshal(s); err != nil {
				t.Fatal(err)
			}
			if s.Version != specs.Version || s.Hostname != "tupper" || !s.Root.Readonly || !s.Process.Terminal {
				t.Fatalf("unexpected basics: %+v", s)
			}
			_, hasUser := findNamespace(s.Linux, specs.UserNamespace)
			_, hasNet := findNamespace(s.Linux, specs.NetworkNamespace)
			if hasUser != rootless || hasNet == rootless {
				t.Fatalf("namespaces %v: user=%v network=%v", s.Linux.Namespaces, hasUser, hasNet)
			}
			hasCgroupMount := slices.ContainsFunc(s.Mounts, func(m specs.Mount) bool { return m.Type == "cgroup" })
			if hasCgroupMount == rootless {
				t.Fatalf("cgroup mount present = %v", hasCgroupMount)
			}
			i := slices.IndexFunc(s.Mounts, func(m specs.Mount) bool { return m.Destination == "/sys" })
			if wantType := map[bool]string{false: "sysfs", true: "none"}[rootless]; s.Mounts[i].Type != wantType {
				t.Fatalf("/sys mount type %q, want %q", s.Mounts[i].Type, wantType)
			}
			if !rootless {
				return
			}
			if m := s.Linux.UIDMappings; len(m) != 1 || m[0].HostID != uint32(os.Getuid()) || m[0].Size != 1 {
				t.Fatalf("uidMappings %+v", m)
			}
			if m := s.Linux.GIDMappings; len(m) != 1 || m[0].HostID != uint32(os.Getgid()) {
				t.Fatalf("gidMappings %+v", m)
			}
			if s.Linux.Resources != nil {
				t.Fatalf("rootless resources %+v", s.Linux.Resources)
			}
		})
	}
}

// TestDefaultFresh checks that Default shares no slices between calls or sets.
func TestDefaultFresh(t *testing.T) {
	a, b := Default(false), Default(false)
	a.Process.Capabilities.Bounding[0] = "CAP_SYS_ADMIN"
	if b.Process.Capabilities.Bounding[0] == "CAP_SYS_ADMIN" || a.Process.Capabilities.Effective[0] == "CAP_SYS_ADMIN" {
		t.Fatal("Default shares capability slices")
	}
	r := Default(true)
	for _, m := range r.Mounts {
		if m.Destination == "/dev/pts" && slices.Contains(m.Options, "gid=5") {
			t.Fatal("rootless /dev/pts keeps gid=5")
		}
	}
}

func TestNames(t *testing.T) {
	tests := []struct {
		name string
		num  int
		ok   bool
	}{
		{"CAP_CHOWN", 0, true}, {"CAP_SYS_ADMIN", 21, true}, {"CAP_AUDIT_WRITE", 29, true},
		{"CAP_BPF", 39, true}, {"CAP_CHECKPOINT_RESTORE", 40, true}, {"CAP_FOO", -1, false}, {"chown", -1, false},
	}
	for _, tt := range tests {
		if n, ok := CapabilityNumber(tt.name); n != tt.num || ok != tt.ok {
			t.Errorf("CapabilityNumber(%q) = %d, %v; want %d, %v", tt.name, n, ok, tt.num, tt.ok)
		}
	}
	if n := len(Capabilities()); n != 41 {
		t.Errorf("%d capabilities, want 41", n)
	}
	if n := len(RlimitNames()); n != 16 {
		t.Errorf("%d rlimit names, want 16", n)
	}
	if n := len(NamespaceTypes()); n != 8 {
		t.Errorf("%d namespace types, want 8", n)
	}
	Capabilities()[0] = "x"
	if Capabilities()[0] != "CAP_CHOWN" {
		t.Error("Capabilities returns the shared table")
	}
}
