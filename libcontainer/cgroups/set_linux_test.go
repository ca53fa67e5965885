package cgroups

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func i64(v int64) *int64   { return &v }
func u64(v uint64) *uint64 { return &v }
func u32(v uint32) *uint32 { return &v }
func u16(v uint16) *uint16 { return &v }
func boolp(v bool) *bool   { return &v }
func dev(ma, mi int64) specs.LinuxBlockIODevice {
	return specs.LinuxBlockIODevice{Major: ma, Minor: mi}
}

// setCase is one Set call and the writes it must make, in order, as
// "hierarchy/file=data" below the container's cgroup "c".
type setCase struct {
	name string
	r    specs.LinuxResources
	want []string // devices writes are left out unless r has devices
}

func runSetCases(t *testing.T, kind hostKind, cases []setCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeHost(t, kind)
			m := f.manager(t, "/c", "id")
			must(t, m.Apply(0))
			f.writes = nil
			if err := m.Set(&tc.r); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, w := range f.writes {
				if !strings.Contains(w, "/devices.") || len(tc.r.Devices) > 0 {
					got = append(got, strings.Replace(w, "/c/", "/", 1))
				}
			}
			if kind == kindV2 {
				for i, w := range tc.want {
					tc.want[i] = "c/" + w
				}
				got = slices.DeleteFunc(got, func(w string) bool { return strings.HasPrefix(w, "c/devices") })
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("writes:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestSetV1(t *testing.T) {
	t.Parallel()
	runSetCases(t, kindV1, []setCase{
		{name: "memory", r: specs.LinuxResources{Memory: &specs.LinuxMemory{
			Limit: i64(1 << 20), Reservation: i64(1 << 19), Swap: i64(2 << 20), Kernel: i64(1), KernelTCP: i64(1),
			Swappiness: u64(10), DisableOOMKiller: boolp(true), UseHierarchy: boolp(true),
		}}, want: []string{
			"memory/memory.limit_in_bytes=1048576", "memory/memory.memsw.limit_in_bytes=2097152",
			"memory/memory.soft_limit_in_bytes=524288", "memory/memory.swappiness=10",
			"memory/memory.oom_control=1", "memory/memory.use_hierarchy=1",
		}},
		{name: "memory unlimited", r: specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(-1), Swap: i64(-1)}},
			want: []string{"memory/memory.limit_in_bytes=-1", "memory/memory.memsw.limit_in_bytes=-1"}},
		{name: "cpu", r: specs.LinuxResources{CPU: &specs.LinuxCPU{
			Shares: u64(512), Quota: i64(50000), Period: u64(100000), Burst: u64(1000),
			RealtimeRuntime: i64(950000), RealtimePeriod: u64(1000000), Idle: i64(1),
			Cpus: "0", Mems: "0",
		}}, want: []string{
			"cpu,cpuacct/cpu.shares=512", "cpu,cpuacct/cpu.cfs_period_us=100000",
			"cpu,cpuacct/cpu.cfs_quota_us=50000", "cpu,cpuacct/cpu.cfs_burst_us=1000",
			"cpu,cpuacct/cpu.rt_period_us=1000000", "cpu,cpuacct/cpu.rt_runtime_us=950000",
			"cpu,cpuacct/cpu.idle=1", "cpuset/cpuset.cpus=0", "cpuset/cpuset.mems=0",
		}},
		{name: "pids", r: specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i64(32)}}, want: []string{"pids/pids.max=32"}},
		{name: "pids unlimited", r: specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i64(-1)}}, want: []string{"pids/pids.max=max"}},
		{name: "pids zero", r: specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i64(0)}}, want: []string{"pids/pids.max=max"}},
		{name: "blkio", r: specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{
			Weight: u16(500), LeafWeight: u16(300),
			WeightDevice:            []specs.LinuxWeightDevice{{LinuxBlockIODevice: dev(8, 0), Weight: u16(600), LeafWeight: u16(200)}},
			ThrottleReadBpsDevice:   []specs.LinuxThrottleDevice{{LinuxBlockIODevice: dev(8, 0), Rate: 100}},
			ThrottleWriteBpsDevice:  []specs.LinuxThrottleDevice{{LinuxBlockIODevice: dev(8, 0), Rate: 200}},
			ThrottleReadIOPSDevice:  []specs.LinuxThrottleDevice{{LinuxBlockIODevice: dev(8, 16), Rate: 300}},
			ThrottleWriteIOPSDevice: []specs.LinuxThrottleDevice{{LinuxBlockIODevice: dev(8, 16), Rate: 400}},
		}}, want: []string{
			"blkio/blkio.weight=500", "blkio/blkio.leaf_weight=300",
			"blkio/blkio.weight_device=8:0 600", "blkio/blkio.leaf_weight_device=8:0 200",
			"blkio/blkio.throttle.read_bps_device=8:0 100", "blkio/blkio.throttle.write_bps_device=8:0 200",
			"blkio/blkio.throttle.read_iops_device=8:16 300", "blkio/blkio.throttle.write_iops_device=8:16 400",
		}},
		// Docker sends "weight": 0 for every container: unset, not an error.
		{name: "blkio zero weight", r: specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{Weight: u16(0), LeafWeight: u16(0)}}},
		{name: "hugetlb", r: specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 4 << 20}}},
			want: []string{"hugetlb/hugetlb.2MB.limit_in_bytes=4194304"}},
		{name: "network", r: specs.LinuxResources{Network: &specs.LinuxNetwork{
			ClassID: u32(0x100001), Priorities: []specs.LinuxInterfacePriority{{Name: "lo", Priority: 2}, {Name: "eth0", Priority: 5}},
		}}, want: []string{"net_cls/net_cls.classid=1048577", "net_prio/net_prio.ifpriomap=lo 2", "net_prio/net_prio.ifpriomap=eth0 5"}},
		{name: "rdma", r: specs.LinuxResources{Rdma: map[string]specs.LinuxRdma{
			"mlx5_1": {HcaHandles: u32(3)}, "mlx4_0": {HcaHandles: u32(2), HcaObjects: u32(2000)}, "none": {},
		}}, want: []string{"rdma/rdma.max=mlx4_0 hca_handle=2 hca_object=2000", "rdma/rdma.max=mlx5_1 hca_handle=3"}},
		{name: "devices", r: specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{
			{Allow: false, Access: "rwm"},
			{Allow: true, Type: "c", Major: i64(10), Minor: i64(200), Access: "rw"},
			{Allow: false, Type: "b", Major: i64(8)},
		}}, want: append([]string{
			"devices/devices.deny=a *:* rwm",
			"devices/devices.deny=a *:* rwm",
			"devices/devices.allow=c 10:200 rw",
			"devices/devices.deny=b 8:* rwm",
		}, defaultV1Writes()...)},
	})
}

func defaultV1Writes() []string {
	var w []string
	for _, d := range DefaultDevices() {
		w = append(w, "devices/devices.allow="+ruleString(d))
	}
	return w
}

func TestSetV2(t *testing.T) {
	t.Parallel()
	runSetCases(t, kindV2, []setCase{
		{name: "memory", r: specs.LinuxResources{Memory: &specs.LinuxMemory{
			Limit: i64(1 << 20), Reservation: i64(1 << 19), Swap: i64(3 << 20),
			Swappiness: u64(10), DisableOOMKiller: boolp(true), Kernel: i64(1),
		}}, want: []string{"memory.max=1048576", "memory.swap.max=2097152", "memory.low=524288"}},
		{name: "memory unlimited", r: specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(-1), Swap: i64(-1)}},
			want: []string{"memory.max=max", "memory.swap.max=max"}},
		{name: "cpu", r: specs.LinuxResources{CPU: &specs.LinuxCPU{
			Shares: u64(1024), Quota: i64(50000), Period: u64(100000), Burst: u64(1000), Idle: i64(1), Cpus: "0-1", Mems: "0",
		}}, want: []string{"cpu.weight=39", "cpu.max=50000 100000", "cpu.max.burst=1000", "cpu.idle=1", "cpuset.cpus=0-1", "cpuset.mems=0"}},
		{name: "cpu quota unlimited", r: specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: i64(-1)}}, want: []string{"cpu.max=max"}},
		{name: "pids", r: specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i64(-1)}}, want: []string{"pids.max=max"}},
		{name: "io", r: specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{
			Weight: u16(500), LeafWeight: u16(300),
			WeightDevice:            []specs.LinuxWeightDevice{{LinuxBlockIODevice: dev(8, 0), Weight: u16(1000)}},
			ThrottleReadBpsDevice:   []specs.LinuxThrottleDevice{{LinuxBlockIODevice: dev(8, 0), Rate: 100}},
			ThrottleWriteBpsDevice:  []specs.LinuxThrottleDevice{{LinuxBlockIODevice: dev(8, 0), Rate: 0}},
			ThrottleReadIOPSDevice:  []specs.LinuxThrottleDevice{{LinuxBlockIODevice: dev(8, 0), Rate: 300}},
			ThrottleWriteIOPSDevice: []specs.LinuxThrottleDevice{{LinuxBlockIODevice: dev(8, 0), Rate: 400}},
		}}, want: []string{
			"io.weight=4950", "io.weight=8:0 10000",
			"io.max=8:0 rbps=100", "io.max=8:0 wbps=max", "io.max=8:0 riops=300", "io.max=8:0 wiops=400",
		}},
		{name: "hugetlb", r: specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 4 << 20}}},
			want: []string{"hugetlb.2MB.max=4194304"}},
		{name: "rdma", r: specs.LinuxResources{Rdma: map[string]specs.LinuxRdma{"mlx4_0": {HcaObjects: u32(7)}}},
			want: []string{"rdma.max=mlx4_0 hca_object=7"}},
		{name: "unified last", r: specs.LinuxResources{
			Pids:    &specs.LinuxPids{Limit: i64(5)},
			Unified: map[string]string{"pids.max": "10", "memory.high": "max"},
		}, want: []string{"pids.max=5", "memory.high=max", "pids.max=10"}},
	})
}

func TestSetV2BFQ(t *testing.T) {
	t.Parallel()
	f := newFakeHost(t, kindV2)
	m := f.manager(t, "/c", "id")
	must(t, m.Apply(0))
	must(t, os.WriteFile(filepath.Join(f.root, "c/io.bfq.weight"), nil, 0o644))
	f.writes = nil
	must(t, m.Set(&specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{
		Weight:       u16(500),
		WeightDevice: []specs.LinuxWeightDevice{{LinuxBlockIODevice: dev(8, 0), Weight: u16(100)}},
	}}))
	want := []string{"c/io.bfq.weight=500", "c/io.bfq.weight=8:0 100"}
	if got := slices.DeleteFunc(f.writes, func(w string) bool { return strings.Contains(w, "devices") }); !slices.Equal(got, want) {
		t.Errorf("writes %q, want %q", got, want)
	}
}

func TestSetNil(t *testing.T) {
	t.Parallel()
	for _, kind := range []hostKind{kindV1, kindV2} {
		f := newFakeHost(t, kind)
		m := f.manager(t, "/c", "id")
		must(t, m.Apply(0))
		f.writes = nil
		if err := m.Set(nil); err != nil || len(f.writes) != 0 {
			t.Errorf("%s: Set(nil) = %v, wrote %q", kind, err, f.writes)
		}
	}
}

func TestSetErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		kind    hostKind
		prepare func(f *fakeHost) // breaks the fake host
		r       specs.LinuxResources
		want    string // the whole message, with the fake root as $ROOT
	}{
		{"v1 missing file", kindV1, func(f *fakeHost) { os.Remove(filepath.Join(f.root, "memory/c/memory.swappiness")) },
			specs.LinuxResources{Memory: &specs.LinuxMemory{Swappiness: u64(1)}},
			"linux.resources.memory.swappiness: open $ROOT/memory/c/memory.swappiness: no such file or directory"},
		{"v1 write refused", kindV1, func(f *fakeHost) { os.Chmod(filepath.Join(f.root, "pids/c/pids.max"), 0o444) },
			specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i64(3)}},
			"linux.resources.pids.limit: open $ROOT/pids/c/pids.max: permission denied"},
		{"v1 controller not mounted", kindV1, nil,
			specs.LinuxResources{Unified: map[string]string{"memory.high": "1"}},
			"linux.resources.unified.memory.high: needs cgroup v2, the host has only v1"},
		{"v1 checkBeforeUpdate", kindV1, func(f *fakeHost) {
			os.WriteFile(filepath.Join(f.root, "memory/c/memory.usage_in_bytes"), []byte("5000\n"), 0o644)
		}, specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(4096), CheckBeforeUpdate: boolp(true)}},
			"linux.resources.memory.limit: 4096 is below the current usage 5000"},
		{"v1 bad unified key", kindHybrid, nil, specs.LinuxResources{Unified: map[string]string{"../x": "1"}},
			"linux.resources.unified.../x: not a cgroup file name"},
		{"v2 controller missing", kindV2, func(f *fakeHost) {
			os.WriteFile(filepath.Join(f.root, "c/cgroup.controllers"), []byte("cpu memory\n"), 0o644)
		}, specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i64(3)}},
			"linux.resources.pids.limit: pids controller not available in $ROOT/c"},
		{"v2 unified controller missing", kindV2, func(f *fakeHost) {
			os.WriteFile(filepath.Join(f.root, "c/cgroup.controllers"), []byte("cpu\n"), 0o644)
			os.Remove(filepath.Join(f.root, "c/memory.high"))
		}, specs.LinuxResources{Unified: map[string]string{"memory.high": "1"}},
			"linux.resources.unified.memory.high: memory controller not available in $ROOT/c"},
		{"v2 network", kindV2, nil, specs.LinuxResources{Network: &specs.LinuxNetwork{ClassID: u32(1)}},
			"linux.resources.network: net_cls and net_prio do not exist on cgroup v2"},
		{"v2 realtime", kindV2, nil, specs.LinuxResources{CPU: &specs.LinuxCPU{RealtimeRuntime: i64(1)}},
			"linux.resources.cpu.realtimeRuntime: realtime scheduling limits do not exist on cgroup v2"},
		{"v2 swap without limit", kindV2, nil, specs.LinuxResources{Memory: &specs.LinuxMemory{Swap: i64(100)}},
			"linux.resources.memory.swap: 100 needs a memory.limit, it is memory+swap"},
		{"v2 swap below limit", kindV2, nil, specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(200), Swap: i64(100)}},
			"linux.resources.memory.swap: 100 is below memory.limit 200, it is memory+swap"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if os.Geteuid() == 0 && strings.Contains(tc.want, "permission denied") {
				t.Skip("root ignores file modes")
			}
			f := newFakeHost(t, tc.kind)
			m := f.manager(t, "/c", "id")
			must(t, m.Apply(0))
			if tc.prepare != nil {
				tc.prepare(f)
			}
			err := m.Set(&tc.r)
			want := strings.ReplaceAll(tc.want, "$ROOT", f.root)
			if err == nil || err.Error() != want {
				t.Errorf("Set() = %v\nwant %s", err, want)
			}
		})
	}
}

func TestSetV1MissingController(t *testing.T) {
	t.Parallel()
	f := newFakeHost(t, kindV1)
	m := f.manager(t, "/c", "id").(*v1Manager)
	must(t, m.Apply(0))
	delete(m.paths, "net_prio")
	err := m.Set(&specs.LinuxResources{Network: &specs.LinuxNetwork{Priorities: []specs.LinuxInterfacePriority{{Name: "lo", Priority: 1}}}})
	if want := "linux.resources.network.priorities: net_prio controller not available"; err == nil || err.Error() != want {
		t.Errorf("Set() = %v, want %s", err, want)
	}
}

func TestConversions(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ shares, weight uint64 }{{2, 1}, {1024, 39}, {262144, 10000}, {0, 1}, {1 << 30, 10000}} {
		if got := cpuWeight(tc.shares); got != tc.weight {
			t.Errorf("cpuWeight(%d) = %d, want %d", tc.shares, got, tc.weight)
		}
	}
	for _, tc := range []struct {
		w    uint16
		want uint64
	}{{10, 1}, {1000, 10000}, {500, 4950}} {
		if got := ioWeight(tc.w); got != tc.want {
			t.Errorf("ioWeight(%d) = %d, want %d", tc.w, got, tc.want)
		}
	}
}

func TestInOrder(t *testing.T) {
	t.Parallel()
	// a is refused until b ran: the pair is retried b first.
	var log []string
	bDone := false
	a := func() error {
		log = append(log, "a")
		if !bDone {
			return os.ErrInvalid
		}
		return nil
	}
	b := func() error { log = append(log, "b"); bDone = true; return nil }
	if err := inOrder(a, b); err != nil || !slices.Equal(log, []string{"a", "b", "a"}) {
		t.Errorf("inOrder = %v, calls %v", err, log)
	}
}
