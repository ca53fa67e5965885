package bundle

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// newBundle makes a bundle directory with an empty rootfs/ and a regular file.
func newBundle(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "rootfs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "file"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// validSpec is the smallest spec every case starts from.
func validSpec() *specs.Spec {
	return &specs.Spec{
		Version: "1.3.0",
		Root:    &specs.Root{Path: "rootfs"},
		Process: &specs.Process{Args: []string{"sh"}, Cwd: "/"},
		Linux: &specs.Linux{Namespaces: []specs.LinuxNamespace{
			{Type: "pid"}, {Type: "network"}, {Type: "ipc"}, {Type: "uts"}, {Type: "mount"},
		}},
	}
}

func withNS(s *specs.Spec, ns ...specs.LinuxNamespace) {
	s.Linux.Namespaces = append(s.Linux.Namespaces, ns...)
}

func TestValidate(t *testing.T) {
	userMaps := func(s *specs.Spec) {
		withNS(s, specs.LinuxNamespace{Type: "user"})
		s.Linux.UIDMappings = []specs.LinuxIDMapping{{HostID: 1000, Size: 1}}
		s.Linux.GIDMappings = []specs.LinuxIDMapping{{HostID: 1000, Size: 1}}
	}
	tests := []struct {
		name   string
		modify func(s *specs.Spec)
		want   string // "" means valid
	}{
		{"valid", func(s *specs.Spec) {}, ""},
		{"version 1.0.0", func(s *specs.Spec) { s.Version = "1.0.0" }, ""},
		{"version 1.0.2-dev", func(s *specs.Spec) { s.Version = "1.0.2-dev" }, ""},
		{"version missing", func(s *specs.Spec) { s.Version = "" }, `config.json: ociVersion: required`},
		{"version 2", func(s *specs.Spec) { s.Version = "2.0.0" }, `config.json: ociVersion "2.0.0": unsupported, want 1.x`},
		{"version 10", func(s *specs.Spec) { s.Version = "10.0.0" }, `config.json: ociVersion "10.0.0": unsupported, want 1.x`},
		{"version 1", func(s *specs.Spec) { s.Version = "1" }, `config.json: ociVersion "1": unsupported, want 1.x`},
		{"version 1.x", func(s *specs.Spec) { s.Version = "1.x" }, `config.json: ociVersion "1.x": unsupported, want 1.x`},
		{"root missing", func(s *specs.Spec) { s.Root = nil }, `config.json: root: required`},
		{"root path missing", func(s *specs.Spec) { s.Root.Path = "" }, `config.json: root.path: required`},
		{"root absent", func(s *specs.Spec) { s.Root.Path = "nope" }, `config.json: root.path "nope": no such file or directory`},
		{"root file", func(s *specs.Spec) { s.Root.Path = "file" }, `config.json: root.path "file": not a directory`},
		{"process missing", func(s *specs.Spec) { s.Process = nil }, `config.json: process: required`},
		{"args empty", func(s *specs.Spec) { s.Process.Args = nil }, `config.json: process.args: must not be empty`},
		{"cwd relative", func(s *specs.Spec) { s.Process.Cwd = "tmp" }, `config.json: process.cwd "tmp": must be absolute`},
		{"cwd missing", func(s *specs.Spec) { s.Process.Cwd = "" }, `config.json: process.cwd: must be absolute`},
		{"rlimits ok", func(s *specs.Spec) {
			s.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: 10, Soft: 10}, {Type: "RLIMIT_CORE", Hard: ^uint64(0)}}
		}, ""},
		{"rlimit unknown", func(s *specs.Spec) {
			s.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE"}, {Type: "RLIMIT_FOO"}}
		}, `config.json: process.rlimits[1].type "RLIMIT_FOO": unknown rlimit type`},
		{"rlimit duplicate", func(s *specs.Spec) {
			s.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE"}, {Type: "RLIMIT_NOFILE"}}
		}, `config.json: process.rlimits[1].type "RLIMIT_NOFILE": duplicate rlimit type`},
		{"rlimit soft above hard", func(s *specs.Spec) {
			s.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: 1024, Soft: 2048}}
		}, `config.json: process.rlimits[0].soft "2048": greater than hard limit 1024`},
		{"capabilities ok", func(s *specs.Spec) {
			s.Process.Capabilities = &specs.LinuxCapabilities{Bounding: Capabilities(), Ambient: []string{"CAP_CHECKPOINT_RESTORE"}}
		}, ""},
		{"capability unknown", func(s *specs.Spec) {
			s.Process.Capabilities = &specs.LinuxCapabilities{Permitted: []string{"CAP_KILL", "CAP_CHOWN", "CAP_FOO"}}
		}, `config.json: process.capabilities.permitted[2] "CAP_FOO": unknown capability`},
		{"capability lower case", func(s *specs.Spec) {
			s.Process.Capabilities = &specs.LinuxCapabilities{Ambient: []string{"cap_kill"}}
		}, `config.json: process.capabilities.ambient[0] "cap_kill": unknown capability`},
		{"hostname without uts", func(s *specs.Spec) { s.Hostname = "box"; s.Linux.Namespaces = nil },
			`config.json: hostname "box": requires a private UTS namespace`},
		{"hostname without linux", func(s *specs.Spec) { s.Hostname = "box"; s.Linux = nil },
			`config.json: hostname "box": requires a private UTS namespace`},
		{"domainname without uts", func(s *specs.Spec) { s.Domainname = "example.org"; s.Linux.Namespaces = nil },
			`config.json: domainname "example.org": requires a private UTS namespace`},
		{"hostname with uts", func(s *specs.Spec) { s.Hostname = "box"; s.Domainname = "example.org" }, ""},
		{"mount relative", func(s *specs.Spec) {
			s.Mounts = []specs.Mount{{Destination: "/proc"}, {Destination: "/dev"}, {Destination: "/sys"}, {Destination: "tmp"}}
		}, `config.json: mounts[3].destination "tmp": must be absolute`},
		{"namespace unknown", func(s *specs.Spec) { s.Linux.Namespaces[2].Type = "foo" },
			`config.json: linux.namespaces[2].type "foo": unknown namespace type`},
		{"namespace duplicate", func(s *specs.Spec) { withNS(s, specs.LinuxNamespace{Type: "pid"}) },
			`config.json: linux.namespaces[5].type "pid": duplicate namespace type`},
		{"namespace path relative", func(s *specs.Spec) { s.Linux.Namespaces[1].Path = "netns" },
			`config.json: linux.namespaces[1].path "netns": must be absolute`},
		{"namespace path absolute", func(s *specs.Spec) { s.Linux.Namespaces[1].Path = "/run/netns/a" }, ""},
		{"all namespaces", func(s *specs.Spec) {
			userMaps(s)
			withNS(s, specs.LinuxNamespace{Type: "cgroup"}, specs.LinuxNamespace{Type: "time"})
		}, ""},
		{"uid mappings without userns", func(s *specs.Spec) { s.Linux.UIDMappings = []specs.LinuxIDMapping{{Size: 1}} },
			`config.json: linux.uidMappings: requires a user namespace`},
		{"gid mappings without userns", func(s *specs.Spec) { s.Linux.GIDMappings = []specs.LinuxIDMapping{{Size: 1}} },
			`config.json: linux.gidMappings: requires a user namespace`},
		{"userns without mappings", func(s *specs.Spec) { withNS(s, specs.LinuxNamespace{Type: "user"}) },
			`config.json: linux.uidMappings: required with a new user namespace`},
		{"userns without gid mappings", func(s *specs.Spec) { userMaps(s); s.Linux.GIDMappings = nil },
			`config.json: linux.gidMappings: required with a new user namespace`},
		{"joined userns without mappings", func(s *specs.Spec) { withNS(s, specs.LinuxNamespace{Type: "user", Path: "/proc/1/ns/user"}) }, ""},
		{"mapping size zero", func(s *specs.Spec) { userMaps(s); s.Linux.UIDMappings[0].Size = 0 },
			`config.json: linux.uidMappings[0].size "0": must be positive`},
		{"time offsets", func(s *specs.Spec) {
			withNS(s, specs.LinuxNamespace{Type: "time"})
			s.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{"monotonic": {Secs: 10}, "boottime": {Nanosecs: 5}}
		}, ""},
		{"time offsets without timens", func(s *specs.Spec) {
			s.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{"monotonic": {Secs: 10}}
		}, `config.json: linux.timeOffsets: requires a time namespace`},
		{"time offsets joining timens", func(s *specs.Spec) {
			withNS(s, specs.LinuxNamespace{Type: "time", Path: "/proc/1/ns/time"})
			s.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{"monotonic": {Secs: 10}}
		}, `config.json: linux.timeOffsets: cannot be set when joining an existing time namespace`},
		{"time offsets unknown clock", func(s *specs.Spec) {
			withNS(s, specs.LinuxNamespace{Type: "time"})
			s.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{"monotonic": {}, "realtime": {}}
		}, `config.json: linux.timeOffsets "realtime": unknown clock, want boottime or monotonic`},
		{"time offsets nanosecs", func(s *specs.Spec) {
			withNS(s, specs.LinuxNamespace{Type: "time"})
			s.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{"boottime": {Nanosecs: 1e9}}
		}, `config.json: linux.timeOffsets.boottime.nanosecs "1000000000": must be less than 1000000000`},
		{"devices ok", func(s *specs.Spec) {
			s.Linux.Devices = []specs.LinuxDevice{{Type: "c", Path: "/dev/fuse"}, {Type: "b", Path: "/dev/sda"}, {Type: "u", Path: "/dev/x"}, {Type: "p", Path: "/fifo"}}
		}, ""},
		{"device type", func(s *specs.Spec) {
			s.Linux.Devices = []specs.LinuxDevice{{Type: "c", Path: "/dev/a"}, {Type: "x", Path: "/dev/b"}}
		},
			`config.json: linux.devices[1].type "x": unknown device type, want c, b, u or p`},
		{"device type missing", func(s *specs.Spec) { s.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/b"}} },
			`config.json: linux.devices[0].type: unknown device type, want c, b, u or p`},
		{"device path", func(s *specs.Spec) { s.Linux.Devices = []specs.LinuxDevice{{Type: "c", Path: "dev/a"}} },
			`config.json: linux.devices[0].path "dev/a": must be absolute`},
		{"cgroups path ok", func(s *specs.Spec) { s.Linux.CgroupsPath = "/tupper/a..b" }, ""},
		{"cgroups path relative ok", func(s *specs.Spec) { s.Linux.CgroupsPath = "tupper/a" }, ""},
		{"cgroups path escapes", func(s *specs.Spec) { s.Linux.CgroupsPath = "/tupper/../../x" },
			`config.json: linux.cgroupsPath "/tupper/../../x": must not contain ".."`},
		{"cgroups path dotdot", func(s *specs.Spec) { s.Linux.CgroupsPath = ".." },
			`config.json: linux.cgroupsPath "..": must not contain ".."`},
		{"masked path relative", func(s *specs.Spec) { s.Linux.MaskedPaths = []string{"/proc/kcore", "proc/keys"} },
			`config.json: linux.maskedPaths[1] "proc/keys": must be absolute`},
		{"readonly path relative", func(s *specs.Spec) { s.Linux.ReadonlyPaths = []string{"sys"} },
			`config.json: linux.readonlyPaths[0] "sys": must be absolute`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := newBundle(t)
			s := validSpec()
			tt.modify(s)
			checkErr(t, Validate(s, dir), tt.want)
		})
	}
}

func TestValidateAbsoluteRoot(t *testing.T) {
	dir := newBundle(t)
	s := validSpec()
	s.Root.Path = filepath.Join(dir, "rootfs")
	if err := Validate(s, "/nonexistent"); err != nil {
		t.Fatal(err)
	}
}

// checkErr compares err with want ("" for none) and, for an error, checks that it is
// a *FieldError.
func checkErr(t *testing.T, err error, want string) {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("no error, want %q", want)
	}
	if err.Error() != want {
		t.Fatalf("error:\n got %q\nwant %q", err, want)
	}
	var fe *FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("error %v is a %T, want *FieldError", err, err)
	}
}
