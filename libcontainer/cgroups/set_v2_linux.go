package cgroups

import (
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// v2Set is one Set call on a cgroup2 directory: the controllers the
// directory has are read once, so that a field set for a missing one is
// named as such instead of as a missing file.
type v2Set struct {
	dir  string
	have []string // cgroup.controllers
	files
}

// Set writes r into the cgroup. Fields that cgroup v2 has no file for and
// that only tune behaviour (memory.swappiness, memory.disableOOMKiller,
// memory.useHierarchy, blockIO.leafWeight) are ignored, as the peers do;
// fields that would limit something v2 cannot limit (cpu.realtime*,
// network) are errors.
func (m *v2Manager) Set(r *specs.LinuxResources) error {
	if r == nil {
		return nil
	}
	ctrls, err := read(m.dir, "cgroup.controllers")
	if err != nil {
		return fmt.Errorf("set cgroup: %w", err)
	}
	s := &v2Set{dir: m.dir, have: strings.Fields(ctrls), files: m.files}
	for _, set := range []func(*specs.LinuxResources) error{
		m.setDevices, s.memory, s.cpu, s.pids, s.io, s.hugetlb, s.network, s.rdma, s.unified,
	} {
		if err := set(r); err != nil {
			return err
		}
	}
	return nil
}

func (s *v2Set) set(ctrl, field, file, value string) error {
	if !slices.Contains(s.have, ctrl) {
		return fmt.Errorf("linux.resources.%s: %s controller not available in %s", field, ctrl, s.dir)
	}
	return fieldError(field, s.write(s.dir, file, value))
}

func (s *v2Set) setter(ok bool, ctrl, field, file, value string) func() error {
	if !ok {
		return nil
	}
	return func() error { return s.set(ctrl, field, file, value) }
}

// maxOr is a limit as v2 files take it: "max" for -1 (unlimited).
func maxOr(n int64) string {
	if n < 0 {
		return "max"
	}
	return itoa(n)
}

func (s *v2Set) memory(r *specs.LinuxResources) error {
	mem := r.Memory
	if mem == nil {
		return nil
	}
	if err := checkUsage(mem, s.dir, "memory.current"); err != nil {
		return err
	}
	if isSet(mem.Limit) {
		if err := s.set("memory", "memory.limit", "memory.max", maxOr(*mem.Limit)); err != nil {
			return err
		}
	}
	if isSet(mem.Swap) {
		v, err := swapMax(mem)
		if err != nil {
			return err
		}
		if err := s.set("memory", "memory.swap", "memory.swap.max", v); err != nil {
			return err
		}
	}
	if mem.Reservation != nil {
		return s.set("memory", "memory.reservation", "memory.low", maxOr(*mem.Reservation))
	}
	return nil
}

// swapMax turns memory.swap, a v1 memory+swap limit, into v2's
// memory.swap.max, which counts swap alone.
func swapMax(mem *specs.LinuxMemory) (string, error) {
	swap := *mem.Swap
	if swap < 0 {
		return "max", nil
	}
	if !isSet(mem.Limit) || *mem.Limit < 0 {
		return "", fmt.Errorf("linux.resources.memory.swap: %d needs a memory.limit, it is memory+swap", swap)
	}
	if swap < *mem.Limit {
		return "", fmt.Errorf("linux.resources.memory.swap: %d is below memory.limit %d, it is memory+swap", swap, *mem.Limit)
	}
	return itoa(swap - *mem.Limit), nil
}

// cpuWeight maps cpu.shares (2..262144, default 1024) onto cpu.weight
// (1..10000, default 100) linearly, the mapping the peers agree on.
func cpuWeight(shares uint64) uint64 {
	shares = min(max(shares, 2), 262144)
	return 1 + ((shares-2)*9999)/262142
}

func (s *v2Set) cpu(r *specs.LinuxResources) error {
	cpu := r.CPU
	if cpu == nil {
		return nil
	}
	if isSet(cpu.RealtimeRuntime) || isSetU(cpu.RealtimePeriod) {
		return errors.New("linux.resources.cpu.realtimeRuntime: realtime scheduling limits do not exist on cgroup v2")
	}
	if isSetU(cpu.Shares) {
		if err := s.set("cpu", "cpu.shares", "cpu.weight", utoa(cpuWeight(*cpu.Shares))); err != nil {
			return err
		}
	}
	var quota func() error
	if isSet(cpu.Quota) || isSetU(cpu.Period) {
		// cpu.max is "$QUOTA $PERIOD"; the quota alone may be written,
		// the period only with a quota, so keep the current one.
		v := "max"
		if isSet(cpu.Quota) {
			v = maxOr(*cpu.Quota)
		} else if cur, err := read(s.dir, "cpu.max"); err == nil {
			v, _, _ = strings.Cut(cur, " ")
		}
		if isSetU(cpu.Period) {
			v += " " + utoa(*cpu.Period)
		}
		quota = s.setter(true, "cpu", "cpu.quota", "cpu.max", v)
	}
	burst := s.setter(cpu.Burst != nil, "cpu", "cpu.burst", "cpu.max.burst", utoaPtr(cpu.Burst))
	if err := inOrder(quota, burst); err != nil {
		return err
	}
	if cpu.Idle != nil {
		if err := s.set("cpu", "cpu.idle", "cpu.idle", itoa(*cpu.Idle)); err != nil {
			return err
		}
	}
	if cpu.Cpus != "" {
		if err := s.set("cpuset", "cpu.cpus", "cpuset.cpus", cpu.Cpus); err != nil {
			return err
		}
	}
	if cpu.Mems != "" {
		return s.set("cpuset", "cpu.mems", "cpuset.mems", cpu.Mems)
	}
	return nil
}

func (s *v2Set) pids(r *specs.LinuxResources) error {
	if r.Pids == nil || r.Pids.Limit == nil {
		return nil
	}
	return s.set("pids", "pids.limit", "pids.max", pidsMax(r.Pids))
}

// ioWeight maps a blkio weight (10..1000) onto io.weight (1..10000).
func ioWeight(w uint16) uint64 {
	v := min(max(uint64(w), 10), 1000)
	return 1 + (v-10)*9999/990
}

func (s *v2Set) io(r *specs.LinuxResources) error {
	b := r.BlockIO
	if b == nil {
		return nil
	}
	// BFQ's io.bfq.weight takes the blkio scale as is; io.weight (the
	// io.cost model) its own, wider one.
	bfq := exists(s.dir, "io.bfq.weight")
	weight := func(field, dev string, w uint16) error {
		if bfq {
			return s.set("io", field, "io.bfq.weight", dev+utoa(uint64(w)))
		}
		return s.set("io", field, "io.weight", dev+utoa(ioWeight(w)))
	}
	if b.Weight != nil && *b.Weight != 0 {
		if err := weight("blockIO.weight", "", *b.Weight); err != nil {
			return err
		}
	}
	for _, d := range b.WeightDevice {
		if d.Weight != nil {
			if err := weight("blockIO.weightDevice", devNum(d.LinuxBlockIODevice)+" ", *d.Weight); err != nil {
				return err
			}
		}
	}
	keys := map[string]string{
		"throttleReadBpsDevice":   "rbps",
		"throttleWriteBpsDevice":  "wbps",
		"throttleReadIOPSDevice":  "riops",
		"throttleWriteIOPSDevice": "wiops",
	}
	for _, t := range throttles(b) {
		for _, d := range t.devs {
			rate := "max" // 0 lifts the limit, as it does on v1
			if d.Rate != 0 {
				rate = utoa(d.Rate)
			}
			if err := s.set("io", "blockIO."+t.field, "io.max", devNum(d.LinuxBlockIODevice)+" "+keys[t.field]+"="+rate); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *v2Set) hugetlb(r *specs.LinuxResources) error {
	for _, h := range r.HugepageLimits {
		field := "hugepageLimits." + h.Pagesize
		if err := s.set("hugetlb", field, "hugetlb."+h.Pagesize+".max", utoa(h.Limit)); err != nil {
			return err
		}
		// Reservation limits (Linux 5.11) also bound pages reserved by
		// mmap but not yet faulted in.
		if rsvd := "hugetlb." + h.Pagesize + ".rsvd.max"; exists(s.dir, rsvd) {
			if err := s.set("hugetlb", field, rsvd, utoa(h.Limit)); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *v2Set) network(r *specs.LinuxResources) error {
	if n := r.Network; n != nil && (n.ClassID != nil || len(n.Priorities) > 0) {
		return errors.New("linux.resources.network: net_cls and net_prio do not exist on cgroup v2")
	}
	return nil
}

func (s *v2Set) rdma(r *specs.LinuxResources) error {
	for _, dev := range sortedKeys(r.Rdma) {
		if line := rdmaLine(dev, r.Rdma[dev]); line != "" {
			if err := s.set("rdma", "rdma."+dev, "rdma.max", line); err != nil {
				return err
			}
		}
	}
	return nil
}

// unified writes each key as given, last, so that it wins over the fields
// above: "the runtime MUST write the value to the file named key"
// -runtime-spec config-linux.md, Unified.
func (s *v2Set) unified(r *specs.LinuxResources) error {
	for _, key := range sortedKeys(r.Unified) {
		if err := unifiedFile(key); err != nil {
			return err
		}
		err := s.write(s.dir, key, r.Unified[key])
		if ctrl, _, _ := strings.Cut(key, "."); errors.Is(err, fs.ErrNotExist) && ctrl != "cgroup" && !slices.Contains(s.have, ctrl) {
			return fmt.Errorf("linux.resources.unified.%s: %s controller not available in %s", key, ctrl, s.dir)
		}
		if err != nil {
			return fieldError("unified."+key, err)
		}
	}
	return nil
}
