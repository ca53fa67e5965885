package container

import (
	"errors"
	"io/fs"
	"os"
	"reflect"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/tupper-runtime/tupper/libcontainer/rootfs"
)

// What rootless changes. The maps of a new user namespace do not depend on
// it: they go through newuidmap/newgidmap whenever this process lacks the
// capabilities to write them (usermap_linux.go). Rootless is about what
// an unprivileged runtime is refused and may do without:
//
//   - a cgroup it has no permission to create, when the config sets no
//     limits: the container runs in the caller's cgroup (cgroupOptional);
//   - device rules, which need CAP_SYS_ADMIN (v1 devices.deny) or a BPF
//     program (v2): dropped. In a user namespace mknod is refused anyway,
//     and the host's device nodes keep their own permissions.

// DetectRootless is `--rootless auto`: true when the effective uid is not
// 0, or when it is 0 in a user namespace that is not the host's (a runtime
// started by rootless podman), where the cgroup tree belongs to someone
// else as well.
func DetectRootless() bool {
	return os.Geteuid() != 0 || rootfs.InUserNamespace()
}

// cgroupOptional tells whether create may go on without a cgroup after
// creating it failed with err: rootless, refused for lack of permission
// (or a read-only cgroupfs), and nothing to write into it.
func (o *Options) cgroupOptional(spec *specs.Spec, err error) bool {
	if !o.rootless() || !(errors.Is(err, fs.ErrPermission) || errors.Is(err, unix.EROFS)) {
		return false
	}
	return spec.Linux == nil || noLimits(spec.Linux.Resources)
}

// noLimits tells whether r sets nothing but device rules.
func noLimits(r *specs.LinuxResources) bool {
	if r == nil {
		return true
	}
	c := *r
	c.Devices = nil
	return reflect.DeepEqual(c, specs.LinuxResources{})
}

// resources is what create writes into the container's cgroup: r, without
// its device rules when rootless.
func (o *Options) resources(r *specs.LinuxResources) *specs.LinuxResources {
	if !o.rootless() || r == nil || r.Devices == nil {
		return r
	}
	c := *r
	c.Devices = nil
	return &c
}
