package features

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go/features"
)

func TestGet(t *testing.T) {
	f := Get()
	data, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	var back features.Features
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if back.OCIVersionMin != "1.0.0" || back.OCIVersionMax != "1.3.0" {
		t.Errorf("versions %q..%q", back.OCIVersionMin, back.OCIVersionMax)
	}
	lists := []struct {
		name string
		list []string
		n    int
	}{
		{"hooks", back.Hooks, 6},
		{"mountOptions", back.MountOptions, 38},
		{"linux.namespaces", back.Linux.Namespaces, 8},
		{"linux.capabilities", back.Linux.Capabilities, 41},
	}
	for _, l := range lists {
		if len(l.list) < l.n {
			t.Errorf("%s has %d entries, want at least %d: %q", l.name, len(l.list), l.n, l.list)
		}
	}
	// The mount(2) options of config.md's table, most of them MUST.
	want := []string{
		"ro", "rw", "nosuid", "suid", "nodev", "dev", "noexec", "exec", "sync", "async", "dirsync",
		"remount", "mand", "nomand", "atime", "noatime", "diratime", "nodiratime", "relatime",
		"norelatime", "strictatime", "nostrictatime", "lazytime", "nolazytime", "bind", "rbind",
		"silent", "loud", "iversion", "noiversion", "shared", "slave", "private", "unbindable",
		"rshared", "rslave", "rprivate", "runbindable", "idmap", "ridmap",
	}
	for _, opt := range want {
		if !slices.Contains(back.MountOptions, opt) {
			t.Errorf("mountOptions lacks %q", opt)
		}
	}
	l := back.Linux
	bools := []struct {
		name string
		got  *bool
		want bool
	}{
		{"cgroup.v1", l.Cgroup.V1, true}, {"cgroup.v2", l.Cgroup.V2, true},
		{"cgroup.systemd", l.Cgroup.Systemd, false}, {"cgroup.systemdUser", l.Cgroup.SystemdUser, false},
		{"cgroup.rdma", l.Cgroup.Rdma, true}, {"seccomp.enabled", l.Seccomp.Enabled, true},
		{"apparmor.enabled", l.Apparmor.Enabled, true}, {"selinux.enabled", l.Selinux.Enabled, true},
		{"intelRdt.enabled", l.IntelRdt.Enabled, false},
		{"mountExtensions.idmap.enabled", l.MountExtensions.IDMap.Enabled, true},
		{"netDevices.enabled", l.NetDevices.Enabled, false},
	}
	for _, b := range bools {
		if b.got == nil || *b.got != b.want {
			t.Errorf("linux.%s = %v, want %v", b.name, b.got, b.want)
		}
	}
}

func TestGetFresh(t *testing.T) {
	a, b := Get(), Get()
	a.Hooks[0] = "x"
	*a.Linux.Cgroup.V1 = false
	a.Linux.Capabilities[0] = "x"
	if b.Hooks[0] == "x" || !*b.Linux.Cgroup.V1 || b.Linux.Capabilities[0] == "x" {
		t.Fatal("Get returns shared state")
	}
}
