package rootfs

import specs "github.com/opencontainers/runtime-spec/specs-go"

// Config is what Mount, Pivot and Finalize need to know. It holds no state
// between the calls: each step derives what it needs from Spec.
type Config struct {
	// Spec is the container's configuration; Mounts, Root, Process.Terminal and
	// Linux (Devices, Namespaces, MaskedPaths, ReadonlyPaths, RootfsPropagation)
	// are read.
	Spec *specs.Spec
	// Rootfs is root.path made absolute against the bundle with symlinks
	// resolved.
	Rootfs string
	// Bundle is the bundle directory. Relative bind-mount sources are resolved
	// against it ("Path values for bind mounts are either absolute or relative to
	// the bundle." -runtime-spec config.md). Empty means the current directory.
	Bundle string
	// NoPivot replaces pivot_root with MS_MOVE of the rootfs onto "/" and
	// chroot, for roots where pivot_root cannot work (a ramdisk).
	NoPivot bool
	// Idmapped maps the index in Spec.Mounts of an idmapped mount to an fd of
	// its detached, already idmapped tree, made by PrepareIdmapped in the
	// runtime (a container's init in a user namespace cannot make it).
	// Mount attaches each and closes them all. Mounts left out are made by
	// Mount itself.
	Idmapped map[int]int
}
