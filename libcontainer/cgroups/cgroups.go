// Package cgroups owns everything tupper does with control groups: finding
// the host's hierarchies (cgroup v1, v2, or the hybrid of both), placing a
// container's cgroup, writing linux.resources into it, and freezing,
// signalling, measuring and removing it.
//
// It does not decide when any of that happens (the container package does)
// and it never talks to systemd: this is the cgroupfs driver only.
package cgroups

import (
	"errors"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Manager is one container's cgroup, on every hierarchy the host has.
type Manager interface {
	// Apply creates the cgroup directories, every missing level of them, and
	// when pid > 0 moves that process into the cgroup on every hierarchy.
	Apply(pid int) error
	// Set writes every field of r into the cgroup. A nil r is a no-op.
	Set(r *specs.LinuxResources) error
	// Pids lists every process in the cgroup and its descendants.
	Pids() ([]int, error)
	// Freeze freezes (or thaws) the cgroup and waits until that state is
	// reached.
	Freeze(frozen bool) error
	// Frozen reports whether the cgroup is frozen.
	Frozen() (bool, error)
	// Destroy removes the container's cgroup and any child cgroups, retrying
	// briefly while killed processes exit. Directories that are already gone
	// are not an error. Levels above the container's cgroup are left alone.
	Destroy() error
	// Paths maps a controller to the absolute directory of the container's
	// cgroup in its hierarchy: "memory", "cpu", ..., "name=systemd" on v1,
	// "" on v2, plus "unified" on a hybrid host. Load takes it back.
	Paths() map[string]string
	// Placement opens what a new process needs to enter the cgroup as it
	// starts, so that Apply(pid) is not needed for it. Apply must have
	// created the cgroup. The caller closes it once the process started.
	Placement() (*Placement, error)
	// Kill sends sig to every process in the cgroup.
	Kill(sig unix.Signal) error
	// Stats reads the cgroup's usage counters.
	Stats() (*Stats, error)
}

// Staged is a Manager whose cgroup can be created in two steps around the
// start of the process that enters it: ApplyClone before, for the part the
// process must be cloned into (a cgroup2 directory), and ApplyTasks after,
// for the v1 hierarchies, whose tasks files the process writes "0" to
// while it is still single-threaded (see Placement). Creating the v1
// directories, a millisecond on a hybrid host, then overlaps the start of
// the process. Pure v2 managers are not staged: their one directory must
// exist before the clone.
type Staged interface {
	Manager
	ApplyClone() (*Placement, error)
	ApplyTasks() (*Placement, error)
}

// Placement is how a new process enters the cgroup while it starts.
//
// Moving a process with a pid written to cgroup.procs takes the kernel's
// global cgroup_threadgroup_rwsem for writing, and the first writer pays an
// RCU grace period: about 10-15 ms here, per container. Two ways in skip it:
// clone3's CLONE_INTO_CGROUP, for a cgroup2 hierarchy, and a thread moving
// itself by writing "0" to a v1 "tasks" file, which the kernel does without
// that lock. A process that is still single-threaded (tupper's init, in the
// nsenter constructor before the Go runtime starts) moves whole that way.
// The tasks files are opened by the runtime, so a process in a user
// namespace can use them too: v1 checks the opener's credentials.
type Placement struct {
	CloneFD int        // O_PATH fd of the cgroup2 directory, or -1
	Tasks   []*os.File // v1 "tasks" files, opened for writing
}

// Close closes the placement's files.
func (p *Placement) Close() {
	if p.CloneFD >= 0 {
		_ = unix.Close(p.CloneFD)
		p.CloneFD = -1
	}
	for _, f := range p.Tasks {
		f.Close()
	}
	p.Tasks = nil
}

// ErrNoFreezer is returned by Freeze and Frozen when the host has no freezer.
var ErrNoFreezer = errors.New("freezer controller not available")

// Stats are the usage counters of one cgroup, as `tupper events --stats`
// reports them. A controller the host lacks leaves its part zero.
type Stats struct {
	CPU     CPUStats                `json:"cpu"`
	Memory  MemoryStats             `json:"memory"`
	Pids    PidsStats               `json:"pids"`
	Blkio   BlkioStats              `json:"blkio"`
	Hugetlb map[string]HugetlbStats `json:"hugetlb,omitempty"` // by page size, "2MB"
}

// CPUStats are in nanoseconds.
type CPUStats struct {
	Usage            uint64   `json:"usage"`
	User             uint64   `json:"user"`
	System           uint64   `json:"system"`
	PerCPU           []uint64 `json:"percpu,omitempty"` // v1 only
	Periods          uint64   `json:"periods"`
	ThrottledPeriods uint64   `json:"throttledPeriods"`
	ThrottledTime    uint64   `json:"throttledTime"`
}

// MemoryStats are in bytes. Limit and SwapLimit are 0 when unlimited.
type MemoryStats struct {
	Usage     uint64            `json:"usage"`
	MaxUsage  uint64            `json:"maxUsage,omitempty"` // v2: memory.peak (Linux 5.19)
	Limit     uint64            `json:"limit,omitempty"`
	Failcnt   uint64            `json:"failcnt"` // v2: the "max" event count
	Cache     uint64            `json:"cache"`
	SwapUsage uint64            `json:"swapUsage,omitempty"` // v1: memory+swap, v2: swap alone
	SwapLimit uint64            `json:"swapLimit,omitempty"` // as SwapUsage
	Raw       map[string]uint64 `json:"raw,omitempty"`       // memory.stat as is
}

// PidsStats counts tasks. Limit is 0 when unlimited.
type PidsStats struct {
	Current uint64 `json:"current"`
	Limit   uint64 `json:"limit,omitempty"`
}

// BlkioStats are per device counters.
type BlkioStats struct {
	IOServiceBytes []BlkioEntry `json:"ioServiceBytes,omitempty"`
	IOServiced     []BlkioEntry `json:"ioServiced,omitempty"`
}

// BlkioEntry is one counter of one device; Op is "Read", "Write", ...
type BlkioEntry struct {
	Major uint64 `json:"major"`
	Minor uint64 `json:"minor"`
	Op    string `json:"op"`
	Value uint64 `json:"value"`
}

// HugetlbStats are in bytes.
type HugetlbStats struct {
	Usage    uint64 `json:"usage"`
	MaxUsage uint64 `json:"maxUsage,omitempty"` // v1 only
	Failcnt  uint64 `json:"failcnt"`
}
