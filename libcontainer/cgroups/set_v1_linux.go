package cgroups

import (
	"fmt"
	"sort"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Set writes r into the v1 hierarchies, one controller after another. A
// field set for a controller the host has not mounted is an error.
func (m *v1Manager) Set(r *specs.LinuxResources) error {
	if r == nil {
		return nil
	}
	for _, set := range []func(*specs.LinuxResources) error{
		m.setDevices, m.setMemory, m.setCPU, m.setCpuset, m.setPids, m.setBlkio,
		m.setHugetlb, m.setNetwork, m.setRdma, m.setUnified,
	} {
		if err := set(r); err != nil {
			return err
		}
	}
	return nil
}

// ctrlDir is the directory of ctrl, or an error naming field and ctrl.
func (m *v1Manager) ctrlDir(ctrl, field string) (string, error) {
	if dir, ok := m.paths[ctrl]; ok {
		return dir, nil
	}
	return "", fmt.Errorf("linux.resources.%s: %s controller not available", field, ctrl)
}

// set writes one file of ctrl for field.
func (m *v1Manager) set(ctrl, field, file, value string) error {
	dir, err := m.ctrlDir(ctrl, field)
	if err != nil {
		return err
	}
	return fieldError(field, m.write(dir, file, value))
}

// setter returns a func writing file for field, or nil when !ok.
func (m *v1Manager) setter(ok bool, ctrl, field, file, value string) func() error {
	if !ok {
		return nil
	}
	return func() error { return m.set(ctrl, field, file, value) }
}

func (m *v1Manager) setMemory(r *specs.LinuxResources) error {
	mem := r.Memory
	if mem == nil {
		return nil
	}
	if isSet(mem.Limit) && mem.CheckBeforeUpdate != nil && *mem.CheckBeforeUpdate {
		dir, err := m.ctrlDir("memory", "memory.checkBeforeUpdate")
		if err != nil {
			return err
		}
		if err := checkUsage(mem, dir, "memory.usage_in_bytes"); err != nil {
			return err
		}
	}
	// Zero is "unset" for limit and swap, as in the peers: the kernel
	// refuses a zero limit anyway.
	var limit, swap func() error
	if isSet(mem.Limit) {
		limit = m.setter(true, "memory", "memory.limit", "memory.limit_in_bytes", itoa(*mem.Limit))
	}
	if isSet(mem.Swap) {
		swap = m.setter(true, "memory", "memory.swap", "memory.memsw.limit_in_bytes", itoa(*mem.Swap))
	}
	if err := inOrder(limit, swap); err != nil {
		return err
	}
	// kernel and kernelTCP are accepted and ignored: kernel memory limits
	// are deprecated, and gone since Linux 6.1 (runtime-spec v1.3 marks
	// linux.resources.memory.kernel deprecated).
	for _, s := range []struct {
		ok                 bool
		field, file, value string
	}{
		{mem.Reservation != nil, "memory.reservation", "memory.soft_limit_in_bytes", itoaPtr(mem.Reservation)},
		{mem.Swappiness != nil, "memory.swappiness", "memory.swappiness", utoaPtr(mem.Swappiness)},
		{mem.DisableOOMKiller != nil, "memory.disableOOMKiller", "memory.oom_control", boolPtr(mem.DisableOOMKiller)},
		{mem.UseHierarchy != nil, "memory.useHierarchy", "memory.use_hierarchy", boolPtr(mem.UseHierarchy)},
	} {
		if s.ok {
			if err := m.set("memory", s.field, s.file, s.value); err != nil {
				return err
			}
		}
	}
	return nil
}

func (m *v1Manager) setCPU(r *specs.LinuxResources) error {
	cpu := r.CPU
	if cpu == nil {
		return nil
	}
	if isSetU(cpu.Shares) {
		if err := m.set("cpu", "cpu.shares", "cpu.shares", utoa(*cpu.Shares)); err != nil {
			return err
		}
	}
	if isSetU(cpu.Period) {
		if err := m.set("cpu", "cpu.period", "cpu.cfs_period_us", utoa(*cpu.Period)); err != nil {
			return err
		}
	}
	quota := m.setter(isSet(cpu.Quota), "cpu", "cpu.quota", "cpu.cfs_quota_us", itoaPtr(cpu.Quota))
	burst := m.setter(cpu.Burst != nil, "cpu", "cpu.burst", "cpu.cfs_burst_us", utoaPtr(cpu.Burst))
	if err := inOrder(quota, burst); err != nil {
		return err
	}
	period := m.setter(isSetU(cpu.RealtimePeriod), "cpu", "cpu.realtimePeriod", "cpu.rt_period_us", utoaPtr(cpu.RealtimePeriod))
	runtime := m.setter(isSet(cpu.RealtimeRuntime), "cpu", "cpu.realtimeRuntime", "cpu.rt_runtime_us", itoaPtr(cpu.RealtimeRuntime))
	if err := inOrder(period, runtime); err != nil {
		return err
	}
	if cpu.Idle != nil {
		return m.set("cpu", "cpu.idle", "cpu.idle", itoa(*cpu.Idle))
	}
	return nil
}

func (m *v1Manager) setCpuset(r *specs.LinuxResources) error {
	if r.CPU == nil {
		return nil
	}
	if r.CPU.Cpus != "" {
		if err := m.set("cpuset", "cpu.cpus", "cpuset.cpus", r.CPU.Cpus); err != nil {
			return err
		}
	}
	if r.CPU.Mems != "" {
		return m.set("cpuset", "cpu.mems", "cpuset.mems", r.CPU.Mems)
	}
	return nil
}

func (m *v1Manager) setPids(r *specs.LinuxResources) error {
	if r.Pids == nil || r.Pids.Limit == nil {
		return nil
	}
	return m.set("pids", "pids.limit", "pids.max", pidsMax(r.Pids))
}

func (m *v1Manager) setBlkio(r *specs.LinuxResources) error {
	b := r.BlockIO
	if b == nil {
		return nil
	}
	dir, err := m.ctrlDir("blkio", "blockIO")
	if err != nil {
		return err
	}
	// CFQ had blkio.weight; BFQ, its successor, has blkio.bfq.weight.
	weightFile := "blkio.weight"
	if !exists(dir, weightFile) && exists(dir, "blkio.bfq.weight") {
		weightFile = "blkio.bfq.weight"
	}
	// Docker sends "weight": 0 for every container without --blkio-weight;
	// the kernel takes only 10..1000 (1..1000 for BFQ), so 0 means unset.
	if b.Weight != nil && *b.Weight != 0 {
		if err := m.set("blkio", "blockIO.weight", weightFile, utoa(uint64(*b.Weight))); err != nil {
			return err
		}
	}
	if b.LeafWeight != nil && *b.LeafWeight != 0 {
		if err := m.set("blkio", "blockIO.leafWeight", "blkio.leaf_weight", utoa(uint64(*b.LeafWeight))); err != nil {
			return err
		}
	}
	for _, d := range b.WeightDevice {
		if d.Weight != nil {
			if err := m.set("blkio", "blockIO.weightDevice", weightFile+"_device", devNum(d.LinuxBlockIODevice)+" "+utoa(uint64(*d.Weight))); err != nil {
				return err
			}
		}
		if d.LeafWeight != nil {
			if err := m.set("blkio", "blockIO.weightDevice", "blkio.leaf_weight_device", devNum(d.LinuxBlockIODevice)+" "+utoa(uint64(*d.LeafWeight))); err != nil {
				return err
			}
		}
	}
	files := map[string]string{
		"throttleReadBpsDevice":   "blkio.throttle.read_bps_device",
		"throttleWriteBpsDevice":  "blkio.throttle.write_bps_device",
		"throttleReadIOPSDevice":  "blkio.throttle.read_iops_device",
		"throttleWriteIOPSDevice": "blkio.throttle.write_iops_device",
	}
	for _, t := range throttles(b) {
		for _, d := range t.devs {
			if err := m.set("blkio", "blockIO."+t.field, files[t.field], devNum(d.LinuxBlockIODevice)+" "+utoa(d.Rate)); err != nil {
				return err
			}
		}
	}
	return nil
}

// setHugetlb writes the usage limit and, where the kernel has it (5.11),
// the reservation limit: "Hugetlb limits ... Default to reservation limits
// if supported" -runtime-spec config.go.
//
// A hybrid host may have hugetlb only in its cgroup2 hierarchy (as this
// project's CI host does); it is used there when the host already enabled
// it for the container's cgroup. tupper does not enable controllers in the
// host's unified hierarchy.
func (m *v1Manager) setHugetlb(r *specs.LinuxResources) error {
	for _, h := range r.HugepageLimits {
		field := "hugepageLimits." + h.Pagesize
		if _, ok := m.paths["hugetlb"]; !ok && m.unified != "" && exists(m.unified, "hugetlb."+h.Pagesize+".max") {
			if err := fieldError(field, m.write(m.unified, "hugetlb."+h.Pagesize+".max", utoa(h.Limit))); err != nil {
				return err
			}
			if rsvd := "hugetlb." + h.Pagesize + ".rsvd.max"; exists(m.unified, rsvd) {
				if err := fieldError(field, m.write(m.unified, rsvd, utoa(h.Limit))); err != nil {
					return err
				}
			}
			continue
		}
		if err := m.set("hugetlb", field, "hugetlb."+h.Pagesize+".limit_in_bytes", utoa(h.Limit)); err != nil {
			return err
		}
		if rsvd := "hugetlb." + h.Pagesize + ".rsvd.limit_in_bytes"; exists(m.paths["hugetlb"], rsvd) {
			if err := m.set("hugetlb", field, rsvd, utoa(h.Limit)); err != nil {
				return err
			}
		}
	}
	return nil
}

func (m *v1Manager) setNetwork(r *specs.LinuxResources) error {
	n := r.Network
	if n == nil {
		return nil
	}
	if n.ClassID != nil {
		if err := m.set("net_cls", "network.classID", "net_cls.classid", utoa(uint64(*n.ClassID))); err != nil {
			return err
		}
	}
	for _, p := range n.Priorities {
		if err := m.set("net_prio", "network.priorities", "net_prio.ifpriomap", p.Name+" "+utoa(uint64(p.Priority))); err != nil {
			return err
		}
	}
	return nil
}

func (m *v1Manager) setRdma(r *specs.LinuxResources) error {
	for _, dev := range sortedKeys(r.Rdma) {
		if line := rdmaLine(dev, r.Rdma[dev]); line != "" {
			if err := m.set("rdma", "rdma."+dev, "rdma.max", line); err != nil {
				return err
			}
		}
	}
	return nil
}

// setUnified writes linux.resources.unified, which is for cgroup v2 only:
// on a hybrid host into the cgroup2 hierarchy, on pure v1 it is an error.
func (m *v1Manager) setUnified(r *specs.LinuxResources) error {
	for _, key := range sortedKeys(r.Unified) {
		if err := unifiedFile(key); err != nil {
			return err
		}
		if m.unified == "" {
			return fmt.Errorf("linux.resources.unified.%s: needs cgroup v2, the host has only v1", key)
		}
		if err := fieldError("unified."+key, m.write(m.unified, key, r.Unified[key])); err != nil {
			return err
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func itoaPtr(p *int64) string {
	if p == nil {
		return ""
	}
	return itoa(*p)
}

func utoaPtr(p *uint64) string {
	if p == nil {
		return ""
	}
	return utoa(*p)
}

func boolPtr(p *bool) string {
	if p == nil {
		return ""
	}
	return boolString(*p)
}
