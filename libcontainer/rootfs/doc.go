// Package rootfs owns everything the container's init process does to its mount
// namespace: the propagation of "/", the bind mount of the rootfs onto itself, the
// spec's mounts (including cgroup and tmpcopyup), device nodes and the /dev
// symlinks, the /dev/console placeholder, pivot_root (or MS_MOVE + chroot), and
// after the pivot the masked paths, the read-only paths and the read-only root.
//
// It is called from init, already inside its new mount namespace, in this order:
//
//	rootfs.Mount(cfg)     // before pivot; createContainer hooks run after it
//	rootfs.Pivot(cfg)
//	rootfs.Finalize(cfg)  // after pivot
//	rootfs.BindConsole(p) // when process.terminal is set, once the pty exists
//
// Every path inside the container is resolved relative to the rootfs as if it
// were "/" (openat2 RESOLVE_IN_ROOT, or a component-by-component walk when openat2
// is missing), and mounts are made through /proc/self/fd/N of an O_PATH
// descriptor, so a symlink in the image can never send a mount to the host.
//
// Idmapped mounts (idmap, ridmap) are cloned with open_tree, mapped with
// mount_setattr(MOUNT_ATTR_IDMAP) and attached with move_mount. The kernel
// lets only a process privileged over the source's filesystem map it, which
// an init in a user namespace is not: for such a container the runtime calls
// PrepareIdmapped before the init starts and hands the trees over in
// Config.Idmapped.
//
// It does not own namespaces, cgroups, hooks or the pty itself.
package rootfs
