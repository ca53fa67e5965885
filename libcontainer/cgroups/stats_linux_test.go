package cgroups

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestStatsV1(t *testing.T) {
	t.Parallel()
	f := newFakeHost(t, kindV1)
	m := f.manager(t, "/c", "id")
	must(t, m.Apply(0))
	for file, content := range map[string]string{
		"cpu,cpuacct/c/cpuacct.usage":                       "5000000\n",
		"cpu,cpuacct/c/cpuacct.stat":                        "user 3\nsystem 1\n",
		"cpu,cpuacct/c/cpuacct.usage_percpu":                "2000000 3000000 \n",
		"cpu,cpuacct/c/cpu.stat":                            "nr_periods 10\nnr_throttled 2\nthrottled_time 700\n",
		"memory/c/memory.usage_in_bytes":                    "4096\n",
		"memory/c/memory.limit_in_bytes":                    "9223372036854771712\n",
		"memory/c/memory.stat":                              "cache 1\ntotal_cache 8192\n",
		"pids/c/pids.current":                               "3\n",
		"pids/c/pids.max":                                   "max\n",
		"blkio/c/blkio.throttle.io_service_bytes_recursive": "8:0 Read 100\n8:0 Write 200\nTotal 300\n",
		"hugetlb/c/hugetlb.2MB.usage_in_bytes":              "2097152\n",
		"hugetlb/c/hugetlb.2MB.failcnt":                     "1\n",
	} {
		must(t, os.WriteFile(filepath.Join(f.root, file), []byte(content), 0o644))
	}
	st, err := m.Stats()
	if err != nil {
		t.Fatal(err)
	}
	want := CPUStats{Usage: 5000000, User: 30000000, System: 10000000, PerCPU: []uint64{2000000, 3000000}, Periods: 10, ThrottledPeriods: 2, ThrottledTime: 700}
	if !reflect.DeepEqual(st.CPU, want) {
		t.Errorf("CPU = %+v, want %+v", st.CPU, want)
	}
	if st.Memory.Usage != 4096 || st.Memory.Limit != 0 || st.Memory.Cache != 8192 {
		t.Errorf("Memory = %+v", st.Memory)
	}
	if st.Pids != (PidsStats{Current: 3}) {
		t.Errorf("Pids = %+v", st.Pids)
	}
	wantIO := []BlkioEntry{{8, 0, "Read", 100}, {8, 0, "Write", 200}}
	if !reflect.DeepEqual(st.Blkio.IOServiceBytes, wantIO) {
		t.Errorf("Blkio = %+v", st.Blkio)
	}
	if st.Hugetlb["2MB"] != (HugetlbStats{Usage: 2097152, Failcnt: 1}) {
		t.Errorf("Hugetlb = %+v", st.Hugetlb)
	}
}

func TestStatsV2(t *testing.T) {
	t.Parallel()
	f := newFakeHost(t, kindV2)
	m := f.manager(t, "/c", "id")
	must(t, m.Apply(0))
	for file, content := range map[string]string{
		"cpu.stat":            "usage_usec 5\nuser_usec 3\nsystem_usec 2\nnr_periods 4\nnr_throttled 1\nthrottled_usec 9\n",
		"memory.current":      "4096\n",
		"memory.max":          "max\n",
		"memory.events":       "low 0\nhigh 0\nmax 7\noom 1\n",
		"memory.stat":         "anon 10\nfile 20\n",
		"pids.current":        "2\n",
		"pids.max":            "50\n",
		"io.stat":             "8:0 rbytes=100 wbytes=200 rios=1 wios=2 dbytes=0 dios=0\n",
		"hugetlb.2MB.current": "0\n",
		"hugetlb.2MB.events":  "max 4\n",
	} {
		must(t, os.WriteFile(filepath.Join(f.root, "c", file), []byte(content), 0o644))
	}
	st, err := m.Stats()
	if err != nil {
		t.Fatal(err)
	}
	want := CPUStats{Usage: 5000, User: 3000, System: 2000, Periods: 4, ThrottledPeriods: 1, ThrottledTime: 9000}
	if !reflect.DeepEqual(st.CPU, want) {
		t.Errorf("CPU = %+v, want %+v", st.CPU, want)
	}
	if st.Memory.Usage != 4096 || st.Memory.Limit != 0 || st.Memory.Failcnt != 7 || st.Memory.Cache != 20 {
		t.Errorf("Memory = %+v", st.Memory)
	}
	if st.Pids != (PidsStats{Current: 2, Limit: 50}) {
		t.Errorf("Pids = %+v", st.Pids)
	}
	if want := []BlkioEntry{{8, 0, "Read", 100}, {8, 0, "Write", 200}}; !reflect.DeepEqual(st.Blkio.IOServiceBytes, want) {
		t.Errorf("IOServiceBytes = %+v", st.Blkio.IOServiceBytes)
	}
	if want := []BlkioEntry{{8, 0, "Read", 1}, {8, 0, "Write", 2}}; !reflect.DeepEqual(st.Blkio.IOServiced, want) {
		t.Errorf("IOServiced = %+v", st.Blkio.IOServiced)
	}
	if st.Hugetlb["2MB"] != (HugetlbStats{Failcnt: 4}) {
		t.Errorf("Hugetlb = %+v", st.Hugetlb)
	}
}
