package rootfs

import (
	"errors"
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/tupper-runtime/tupper/libcontainer/nsenter"
)

// CanPlan tells whether the C init (nsenter/fastinit.c) can set this
// rootfs up from a Plan, and if not, what keeps it on the Go init: the
// Go-only mount kinds (idmapped, tmpcopyup, recursive attributes), a
// shared or unbindable root propagation, --no-pivot, a console, or a
// kernel without openat2, which the C init resolves every path with.
// Options the Go init would refuse are left to it too, so the error stays
// its own.
func CanPlan(cfg *Config) (bool, string) {
	spec := cfg.Spec
	if cfg.NoPivot {
		return false, "--no-pivot"
	}
	if len(cfg.Idmapped) > 0 {
		return false, "idmapped mounts"
	}
	if spec.Process != nil && spec.Process.Terminal {
		return false, "a terminal"
	}
	if lin := spec.Linux; lin != nil {
		p, err := rootPropagation(lin.RootfsPropagation)
		if err != nil || (p != 0 && p != unix.MS_SLAVE|unix.MS_REC && p != unix.MS_PRIVATE|unix.MS_REC) {
			return false, "linux.rootfsPropagation " + lin.RootfsPropagation
		}
	}
	v1 := !cgroup2Host()
	for i := range spec.Mounts {
		m := &spec.Mounts[i]
		o, err := parseOptions(m.Options)
		switch {
		case err != nil:
			return false, "mount options the Go init reports"
		case isIdmapped(m, o), o.copyUp, o.attrSet|o.attrClr != 0:
			return false, "mount " + m.Destination + ": idmap, tmpcopyup or recursive options"
		case m.Type == "cgroup" && o.flags&unix.MS_BIND == 0 && v1 && !hasNamespace(spec, specs.CgroupNamespace):
			return false, "v1 cgroup mount without a cgroup namespace"
		}
	}
	fd, err := unix.Openat2(unix.AT_FDCWD, "/", &unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC, Resolve: unix.RESOLVE_IN_ROOT})
	if err != nil {
		return false, "no openat2"
	}
	unix.Close(fd)
	return true, ""
}

// Plan turns what Mount, Pivot and Finalize would do for cfg into the C
// init's operations, in their order: mount is everything up to and
// including the pivot, finalize what Finalize does after it (the caller
// puts the sysctls between). cfg must have passed CanPlan.
func Plan(cfg *Config) (mount, finalize []nsenter.Op, err error) {
	spec := cfg.Spec
	var rootProp uintptr
	if spec.Linux != nil {
		if rootProp, err = rootPropagation(spec.Linux.RootfsPropagation); err != nil {
			return nil, nil, err
		}
	}
	prop := uintptr(unix.MS_SLAVE | unix.MS_REC)
	if rootProp != 0 {
		prop = rootProp
	}
	mount = append(mount,
		nsenter.Op{Code: nsenter.OpPropagate, A: uint64(prop)},
		nsenter.Op{Code: nsenter.OpRoot, Strs: []string{cfg.Rootfs}})
	for i := range spec.Mounts {
		op, err := planMount(cfg, &spec.Mounts[i])
		if err != nil {
			return nil, nil, err
		}
		mount = append(mount, op)
	}
	if needsDevSetup(spec.Mounts) {
		devs, err := devicesOf(spec)
		if err != nil {
			return nil, nil, err
		}
		for _, d := range devs {
			mount = append(mount, nsenter.Op{
				Code: nsenter.OpDevice, A: uint64(d.mode), B: unix.Mkdev(uint32(d.major), uint32(d.minor)),
				C: uint64(d.uid)<<32 | uint64(d.gid), Strs: []string{d.path},
			})
		}
		for _, l := range devSymlinks {
			mount = append(mount, nsenter.Op{Code: nsenter.OpSymlink, Strs: []string{l[0], l[1]}})
		}
		if hasKcore() {
			mount = append(mount, nsenter.Op{Code: nsenter.OpSymlink, Strs: []string{"/proc/kcore", "/dev/core"}})
		}
	}
	mount = append(mount, nsenter.Op{Code: nsenter.OpPivot, Strs: []string{cfg.Rootfs}})

	if rootProp != 0 {
		finalize = append(finalize, nsenter.Op{Code: nsenter.OpPropagate, A: uint64(rootProp), Strs: []string{spec.Linux.RootfsPropagation}})
	}
	if lin := spec.Linux; lin != nil {
		for _, p := range lin.ReadonlyPaths {
			finalize = append(finalize, nsenter.Op{Code: nsenter.OpReadonly, Strs: []string{p}})
		}
		for _, p := range lin.MaskedPaths {
			finalize = append(finalize, nsenter.Op{Code: nsenter.OpMask, Strs: []string{p}})
		}
	}
	if flags, ok := devReadonlyFlags(cfg); ok {
		finalize = append(finalize, nsenter.Op{Code: nsenter.OpDevReadonly, A: uint64(flags)})
	}
	if spec.Root != nil && spec.Root.Readonly {
		finalize = append(finalize, nsenter.Op{Code: nsenter.OpRootReadonly})
	}
	return mount, finalize, nil
}

// planMount is mountEntry's choice of bindMount, mountCgroup or mountFS,
// with the flags each would pass.
func planMount(cfg *Config, m *specs.Mount) (nsenter.Op, error) {
	o, err := parseOptions(m.Options)
	if err != nil {
		return nsenter.Op{}, err
	}
	switch {
	case o.flags&unix.MS_BIND != 0 || m.Type == "bind":
		// A bind mount ignores every flag but MS_REC; the rest needs a
		// remount. Finalize makes /dev read-only.
		flags := o.flags & remountFlags
		if isDev(m.Destination) {
			flags &^= unix.MS_RDONLY
		}
		return nsenter.Op{
			Code: nsenter.OpBind, A: uint64(o.flags & unix.MS_REC), B: uint64(flags), C: uint64(o.propagation),
			Strs: []string{m.Destination, bindSource(cfg.Bundle, m.Source), m.Source},
		}, nil
	case m.Type == "cgroup" && cgroup2Host():
		return nsenter.Op{
			Code: nsenter.OpMount, A: uint64(o.flags &^ (unix.MS_BIND | unix.MS_REC)), C: uint64(o.propagation),
			Strs: []string{m.Destination, "cgroup2", "cgroup2", o.data, m.Type},
		}, nil
	case m.Type == "cgroup":
		hs, err := cgroupHierarchies(true)
		if err != nil {
			return nsenter.Op{}, fmt.Errorf("mount %s on %s: %w", m.Type, m.Destination, err)
		}
		strs := []string{m.Destination}
		for _, h := range hs {
			strs = append(strs, h.name, h.fstype, h.options)
		}
		if len(strs) > nsenter.MaxOpStrings {
			return nsenter.Op{}, fmt.Errorf("mount %s on %s: %w", m.Type, m.Destination, errors.New("too many cgroup hierarchies"))
		}
		var remount uintptr
		if o.flags&unix.MS_RDONLY != 0 {
			remount = o.flags&remountFlags | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC
		}
		return nsenter.Op{
			Code: nsenter.OpCgroup1, A: uint64(o.flags &^ (unix.MS_BIND | unix.MS_REC)), B: uint64(remount),
			C: uint64(o.propagation), Strs: strs,
		}, nil
	}
	flags := o.flags
	if isDev(m.Destination) {
		flags &^= unix.MS_RDONLY // devices go in first; Finalize makes /dev read-only
	}
	src := m.Source
	if src == "" {
		src = m.Type
	}
	return nsenter.Op{
		Code: nsenter.OpMount, A: uint64(flags), C: uint64(o.propagation),
		Strs: []string{m.Destination, src, m.Type, o.data, m.Type},
	}, nil
}

// cgroup2Host says whether the host's cgroup root is a cgroup2 mount, as
// mountCgroup asks.
func cgroup2Host() bool {
	var st unix.Statfs_t
	return unix.Statfs(hostCgroupRoot, &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC
}
