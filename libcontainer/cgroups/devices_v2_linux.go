package cgroups

import (
	"errors"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TODO(ebpf devices): cgroup v2 has no devices files; rules need a
// BPF_PROG_TYPE_CGROUP_DEVICE program attached to the cgroup.
func (m *v2Manager) setDevices(r *specs.LinuxResources) error {
	if len(r.Devices) == 0 {
		return nil
	}
	return errors.New("linux.resources.devices: not yet enforced on cgroup v2")
}
