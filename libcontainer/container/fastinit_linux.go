package container

import (
	"errors"
	"os"
	"slices"
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/tupper-runtime/tupper/libcontainer/nsenter"
	"github.com/tupper-runtime/tupper/libcontainer/rootfs"
	"github.com/tupper-runtime/tupper/libcontainer/seccomp"
)

// EnvInit, set to "go" in create's or run's environment, keeps the
// container on the Go init even when the C init could set it up: the
// tests run the same configs on both and compare.
const EnvInit = "TUPPER_INIT"

// fastInit tells whether the C init (nsenter/fastinit.c) sets this
// container up, and if not, why (for --debug). It does everything the Go
// init's setup does, for configs without what only the Go init handles:
// joined, user or time namespaces (plainNamespaces), a terminal, hooks the
// init takes part in, LSM labels, scheduler, I/O priority, CPU affinity,
// personality, a seccomp agent, and the mounts rootfs.CanPlan leaves out.
// Not starting a second Go runtime (and not execve-ing from a
// multithreaded process) halves what a container's start costs.
func fastInit(spec *specs.Spec, rc *rootfs.Config) (bool, string) {
	if os.Getenv(EnvInit) == "go" {
		return false, EnvInit + "=go"
	}
	p, lin := spec.Process, spec.Linux
	h := spec.Hooks
	switch {
	case rootfs.InUserNamespace():
		// Mount flags locked by a more privileged namespace, and sysfs
		// or cgroup2 mounts it refuses, need the Go init's fallbacks.
		return false, "runtime in a user namespace"
	case !planStrings(spec, rc):
		return false, "a NUL byte in a string of the config"
	case !plainNamespaces(spec):
		return false, "joined, user or time namespaces"
	case !hasNewNamespace(spec, specs.MountNamespace):
		return false, "no mount namespace of its own"
	case needsHookSync(spec) || (h != nil && len(h.StartContainer) > 0):
		return false, "prestart, createRuntime, createContainer or startContainer hooks"
	case p.ApparmorProfile != "" || p.SelinuxLabel != "" || (lin != nil && lin.MountLabel != ""):
		return false, "LSM labels"
	case p.Scheduler != nil || p.IOPriority != nil || p.ExecCPUAffinity != nil || len(p.User.AdditionalGids) > nsenter.MaxGroups:
		return false, "scheduler, I/O priority, CPU affinity or many groups"
	case lin != nil && (lin.Personality != nil || seccompNotifies(lin.Seccomp)):
		return false, "personality or a seccomp agent"
	}
	return rootfs.CanPlan(rc)
}

// fastInitOps is the set-up the C init does, in the Go init's order
// (cgroup namespace, hostname, rootfs up to the pivot, sysctls, the rest
// of the rootfs), encoded.
//
// late says the init receives its cgroup's tasks files (and network
// namespace) while it starts (see cgroups.Staged). It then joins them at
// an OpJoin placed before the first operation that depends on them, and
// mounts what comes before meanwhile: filesystems of the kinds that see
// only the pid, ipc and mount namespaces the init is in already. A sysfs
// shows the network namespace of who mounts it, a cgroup mount the cgroup
// namespace (which must be made after the join), and a bind's source is a
// path that could be in /proc/self. The device rules are written after the
// handover (see earlyDevices): the first device, or the pivot, waits for
// them at an OpDevWait.
func fastInitOps(rc *rootfs.Config, fifoFD int, late bool) ([]byte, error) {
	ops, err := fastInitPlan(rc, fifoFD, late)
	if err != nil {
		return nil, err
	}
	return nsenter.EncodeOps(ops)
}

// fastInitPlan is fastInitOps's operations, before they are encoded.
func fastInitPlan(rc *rootfs.Config, fifoFD int, late bool) ([]nsenter.Op, error) {
	spec := rc.Spec
	var ops []nsenter.Op
	if hasNewNamespace(spec, specs.UTSNamespace) && (spec.Hostname != "" || spec.Domainname != "") {
		// Then both quoted for errors, as the Go init's %q shows them.
		ops = append(ops, nsenter.Op{Code: nsenter.OpHostname, Strs: []string{
			spec.Hostname, spec.Domainname, strconv.Quote(spec.Hostname), strconv.Quote(spec.Domainname),
		}})
	}
	mount, finalize, err := rootfs.Plan(rc)
	if err != nil {
		return nil, err
	}
	var cgroupNS []nsenter.Op
	if hasNewNamespace(spec, specs.CgroupNamespace) {
		// After the join: the cgroup is the namespace's root.
		cgroupNS = []nsenter.Op{{Code: nsenter.OpCgroupNS}}
	}
	if late {
		i := slices.IndexFunc(mount, func(op nsenter.Op) bool { return !beforeJoin(op) })
		d := slices.IndexFunc(mount, func(op nsenter.Op) bool { return op.Code == nsenter.OpDevice || op.Code == nsenter.OpPivot })
		ops = append(ops, mount[:i]...)
		ops = append(ops, nsenter.Op{Code: nsenter.OpJoin})
		ops = append(ops, cgroupNS...)
		ops = append(ops, mount[i:d]...)
		ops = append(ops, nsenter.Op{Code: nsenter.OpDevWait})
		ops = append(ops, mount[d:]...)
	} else {
		ops = append(ops, cgroupNS...)
		ops = append(ops, mount...)
	}
	if spec.Linux != nil {
		for key, value := range spec.Linux.Sysctl {
			ops = append(ops, nsenter.Op{Code: nsenter.OpSysctl, Strs: []string{strconv.Quote(key), "sys/" + sysctlPath(key), value}})
		}
	}
	ops = append(ops, finalize...)
	return append(ops, nsenter.Op{Code: nsenter.OpFIFO, A: uint64(fifoFD)}), nil
}

// beforeJoin tells whether op may run before the init has joined its
// cgroup and network namespace (see fastInitOps).
func beforeJoin(op nsenter.Op) bool {
	switch op.Code {
	case nsenter.OpPropagate, nsenter.OpRoot:
		return true
	case nsenter.OpMount:
		switch op.Strs[2] {
		case "proc", "tmpfs", "devpts", "mqueue":
			return true
		}
	}
	return false
}

// fastInitProcess is the process the C init reads after its plan. It
// joins keyring first, when not empty, as the Go init joins the session
// keyring once the rootfs is final, before the process attributes.
func fastInitProcess(spec *specs.Spec, prog *seccomp.Program, preserveFDs int, keyring string) ([]byte, error) {
	f, err := fastExec(spec.Process, prog, preserveFDs)
	if err != nil {
		return nil, err
	}
	if f == nil {
		// fastInit let through a process fastExec refuses.
		return nil, errors.New("the C init cannot set up this process")
	}
	f.MakeCwd = true
	f.Keyring = keyring
	return f.Encode(), nil
}

// planStrings tells whether every string the C init would get is one C
// can take: the plan's strings end at their first NUL, so one inside a
// mount destination would shift the strings after it, and the mount's
// source with them. The Go init refuses such a string (EINVAL), in its
// own words.
func planStrings(spec *specs.Spec, rc *rootfs.Config) bool {
	ok := func(ss ...string) bool { return !hasNUL(ss) }
	if !ok(rc.Rootfs, rc.Bundle, spec.Hostname, spec.Domainname) {
		return false
	}
	if p := spec.Process; p != nil && (!ok(p.Args...) || !ok(p.Env...) || !ok(p.Cwd)) {
		return false
	}
	for _, m := range spec.Mounts {
		if !ok(m.Destination, m.Source, m.Type) || !ok(m.Options...) {
			return false
		}
	}
	if lin := spec.Linux; lin != nil {
		if !ok(lin.MaskedPaths...) || !ok(lin.ReadonlyPaths...) || !ok(lin.RootfsPropagation) {
			return false
		}
		for _, d := range lin.Devices {
			if !ok(d.Path, d.Type) {
				return false
			}
		}
		for k, v := range lin.Sysctl {
			if !ok(k, v) {
				return false
			}
		}
	}
	return true
}

// seccompNotifies tells whether a profile hands syscalls to an agent.
func seccompNotifies(s *specs.LinuxSeccomp) bool {
	if s == nil {
		return false
	}
	if s.ListenerPath != "" || s.DefaultAction == specs.ActNotify {
		return true
	}
	for _, sc := range s.Syscalls {
		if sc.Action == specs.ActNotify {
			return true
		}
	}
	return false
}
