package v2

import (
	"os"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/tupper-runtime/tupper/tests/internal/fixture"
)

// guestRootfs is the busybox root file system every guest has; all bundles
// share it, so root.path is absolute.
const guestRootfs = "/bundle/rootfs"

// Resource values of the "res" bundle, and what cgroup v2 must show for them.
const (
	memLimit       = 64 << 20
	memSwap        = 96 << 20 // memory+swap, as in v1: memory.swap.max gets the difference
	memReservation = 32 << 20 // memory.low
	cpuShares      = 512
	cpuQuota       = 50000
	cpuPeriod      = 100000
	cpuCpus        = "1"
	cpuMems        = "0"
	pidsLimit      = 100
	blkioWeight    = 500
	memoryHigh     = "50331648" // a unified key, written as given
	oomGroup       = "1"        // another one
	oomLimit       = 16 << 20   // the memory hog's limit
	forkLimit      = 5          // the fork loop's pids.max
)

// kmsg is the device the device tests open: not one of the default devices
// every container may use, and a write-only open of it needs no capability,
// so only the device rules decide.
var kmsg = specs.LinuxDevice{Path: "/dev/kmsg", Type: "c", Major: 1, Minor: 11, FileMode: fileMode(0o666), UID: u32(0), GID: u32(0)}

// bundles are the configs the guest script runs, by directory name under
// /bundles. probe.sh (copied to the rootfs) prints what each container sees.
func bundles() map[string]*specs.Spec {
	probe := func(cgroupsPath, mode, name string) *specs.Spec {
		return fixture.Spec(guestRootfs, cgroupsPath, "sh", "/probe.sh", mode, name)
	}
	b := map[string]*specs.Spec{
		// Placement. The guest script runs tupper from /runner/shell, or
		// from the root cgroup for "rootown".
		"place-default": probe("", "view", "default"),
		"place-rootown": probe("", "view", "rootown"),
		"place-rel":     probe("foo/bar", "view", "relative"),
		"place-abs":     probe("/tupper/abs", "view", "absolute"),
		"place-nons":    probe("/tupper/nons", "view", "nons"),
		"place-mem":     probe("", "view", "defaultmem"),
		"res":           probe("/tupper/res", "view", "res"),
		"oom":           probe("/tupper/oom", "oom", "oom"),
		"forks":         probe("/tupper/forks", "forks", "forks"),
		"dev":           probe("/tupper/dev", "dev", "dev"),
		"dev-allow":     probe("/tupper/devallow", "dev", "devallow"),
		"busy":          fixture.Spec(guestRootfs, "/tupper/busy", "sh", "-c", "sleep 100 & sleep 100 & exec sleep 100"),
		"pids1":         fixture.Spec(guestRootfs, "/tupper/pids1", "/bin/true"),
		"peer-default":  fixture.Spec(guestRootfs, "", "sh", "-c", peerProbe),
		"peer-mem":      fixture.Spec(guestRootfs, "", "sh", "-c", peerProbe),
		"bench":         fixture.Spec(guestRootfs, "/bench/run", "/bin/true"),
	}

	// Without a cgroup namespace the container sees where it really is.
	nons := b["place-nons"].Linux
	nons.Namespaces = removeNamespace(nons.Namespaces, specs.CgroupNamespace)

	b["place-mem"].Linux.Resources.Memory = &specs.LinuxMemory{Limit: i64(memLimit)}

	b["res"].Linux.Resources = &specs.LinuxResources{
		Devices: b["res"].Linux.Resources.Devices,
		Memory: &specs.LinuxMemory{
			Limit: i64(memLimit), Swap: i64(memSwap), Reservation: i64(memReservation),
		},
		CPU: &specs.LinuxCPU{
			Shares: u64(cpuShares), Quota: i64(cpuQuota), Period: u64(cpuPeriod),
			Cpus: cpuCpus, Mems: cpuMems,
		},
		Pids:    &specs.LinuxPids{Limit: i64(pidsLimit)},
		BlockIO: &specs.LinuxBlockIO{Weight: u16(blkioWeight)},
		Unified: map[string]string{"memory.high": memoryHigh, "memory.oom.group": oomGroup},
	}

	// memory+swap equal to memory: no swap at all, so the hog is killed
	// rather than swapped out (the guest has no swap anyway).
	b["oom"].Linux.Resources.Memory = &specs.LinuxMemory{Limit: i64(oomLimit), Swap: i64(oomLimit)}

	// crun 1.8 knows only runtime-spec 1.0.x; the bundles that the peers
	// run too need nothing newer.
	for _, name := range []string{"bench", "pids1", "peer-default", "peer-mem"} {
		b[name].Version = "1.0.2"
	}
	b["peer-mem"].Linux.Resources.Memory = &specs.LinuxMemory{Limit: i64(memLimit)}
	for _, name := range []string{"peer-default", "peer-mem"} {
		b[name].Linux.Namespaces = removeNamespace(b[name].Linux.Namespaces, specs.CgroupNamespace)
	}

	// One pid: room for the container's only process, /bin/true.
	b["pids1"].Linux.Resources.Pids = &specs.LinuxPids{Limit: i64(1)}

	b["forks"].Linux.Resources.Pids = &specs.LinuxPids{Limit: i64(forkLimit)}

	// "dev" keeps the fixture's single rule, deny all: kmsg is denied,
	// the default devices (null, zero, ...) are not. "dev-allow" denies
	// kmsg writes, then allows them: the later rule wins, as on v1.
	for _, name := range []string{"dev", "dev-allow"} {
		b[name].Linux.Devices = []specs.LinuxDevice{kmsg}
	}
	b["dev-allow"].Linux.Resources.Devices = append(b["dev-allow"].Linux.Resources.Devices,
		specs.LinuxDeviceCgroup{Allow: false, Type: "c", Major: i64(1), Minor: i64(11), Access: "w"},
		specs.LinuxDeviceCgroup{Allow: true, Type: "c", Major: i64(1), Minor: i64(11), Access: "w"},
	)
	return b
}

// peerProbe prints where a peer runtime put the container and its
// memory.max; there is no cgroup namespace, so the path is the real one.
const peerProbe = `p=$(cut -d: -f3 /proc/self/cgroup); echo "cgroup=$p memory.max=$(cat /sys/fs/cgroup$p/memory.max 2>&1)"`

// writeBundles writes every bundle's config.json under dir/<name>.
func writeBundles(dir string) error {
	for name, s := range bundles() {
		if err := fixture.WriteBundle(filepath.Join(dir, name), s); err != nil {
			return err
		}
	}
	return nil
}

func removeNamespace(nss []specs.LinuxNamespace, t specs.LinuxNamespaceType) []specs.LinuxNamespace {
	var out []specs.LinuxNamespace
	for _, ns := range nss {
		if ns.Type != t {
			out = append(out, ns)
		}
	}
	return out
}

func i64(v int64) *int64                  { return &v }
func u64(v uint64) *uint64                { return &v }
func u16(v uint16) *uint16                { return &v }
func u32(v uint32) *uint32                { return &v }
func fileMode(m os.FileMode) *os.FileMode { return &m }
