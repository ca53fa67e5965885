package features

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/runtime-spec/specs-go/features"

	"github.com/tupper-runtime/tupper/libcontainer/bundle"
	"github.com/tupper-runtime/tupper/libcontainer/rootfs"
	"github.com/tupper-runtime/tupper/libcontainer/seccomp"
)

// Get returns a fresh features document. Per features.md a nil list means
// "unknown", so every list we fill in is complete, and every capability we lack
// is an explicit false.
func Get() *features.Features {
	var namespaces []string
	for _, t := range bundle.NamespaceTypes() {
		namespaces = append(namespaces, string(t))
	}
	return &features.Features{
		OCIVersionMin: "1.0.0",
		OCIVersionMax: specs.Version,
		Hooks: []string{
			"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop",
		},
		// Options rootfs applies itself, idmap and ridmap included.
		MountOptions: rootfs.SupportedOptions(),
		Linux: &features.Linux{
			Namespaces:   namespaces,
			Capabilities: bundle.Capabilities(),
			Cgroup: &features.Cgroup{
				V1: ptr(true), V2: ptr(true), Systemd: ptr(false), SystemdUser: ptr(false), Rdma: ptr(true),
			},
			Seccomp:         seccompFeatures(),
			Apparmor:        &features.Apparmor{Enabled: ptr(true)},
			Selinux:         &features.Selinux{Enabled: ptr(true)},
			IntelRdt:        &features.IntelRdt{Enabled: ptr(false)},
			MountExtensions: &features.MountExtensions{IDMap: &features.IDMap{Enabled: ptr(true)}},
			NetDevices:      &features.NetDevices{Enabled: ptr(false)},
		},
	}
}

func ptr(b bool) *bool { return &b }

func seccompFeatures() *features.Seccomp {
	actions, operators, archs, flags := seccomp.Supported()
	return &features.Seccomp{
		Enabled: ptr(true), Actions: actions, Operators: operators, Archs: archs,
		KnownFlags: flags, SupportedFlags: flags,
	}
}
