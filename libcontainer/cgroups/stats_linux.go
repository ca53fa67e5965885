package cgroups

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// statReader reads counters and remembers the first error that is not a
// missing file: a controller the host lacks leaves its numbers zero.
type statReader struct{ err error }

func (s *statReader) text(dir, name string) string {
	if dir == "" {
		return ""
	}
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil && !errors.Is(err, fs.ErrNotExist) && s.err == nil {
		s.err = err
	}
	return string(b)
}

// uint reads a file holding one number; "max" and v1's "unlimited"
// (the largest page-aligned int64) read as 0.
func (s *statReader) uint(dir, name string) uint64 {
	v, err := strconv.ParseUint(strings.TrimSpace(s.text(dir, name)), 10, 64)
	if err != nil || v >= 1<<62 {
		return 0
	}
	return v
}

// keyed reads "key value" lines, as in memory.stat or cpu.stat.
func (s *statReader) keyed(dir, name string) map[string]uint64 {
	out := map[string]uint64{}
	for _, line := range strings.Split(s.text(dir, name), "\n") {
		k, v, ok := strings.Cut(line, " ")
		if n, err := strconv.ParseUint(v, 10, 64); ok && err == nil {
			out[k] = n
		}
	}
	return out
}

// hugepageSizes lists the page sizes of dir's hugetlb.<size>.<suffix> files.
func hugepageSizes(dir, suffix string) []string {
	matches, _ := filepath.Glob(filepath.Join(dir, "hugetlb.*."+suffix))
	var sizes []string
	for _, m := range matches {
		name := strings.TrimPrefix(filepath.Base(m), "hugetlb.")
		if size, ok := strings.CutSuffix(name, "."+suffix); ok && !strings.Contains(size, ".") {
			sizes = append(sizes, size)
		}
	}
	return sizes
}

// userHZ is the unit of cpuacct.stat: USER_HZ, 100 on every architecture
// Linux supports today.
const userHZ = 100

func (m *v1Manager) Stats() (*Stats, error) {
	var s statReader
	st := &Stats{}
	acct, cpu := m.paths["cpuacct"], m.paths["cpu"]
	st.CPU.Usage = s.uint(acct, "cpuacct.usage")
	ticks := s.keyed(acct, "cpuacct.stat")
	st.CPU.User = ticks["user"] * (1e9 / userHZ)
	st.CPU.System = ticks["system"] * (1e9 / userHZ)
	for _, f := range strings.Fields(s.text(acct, "cpuacct.usage_percpu")) {
		n, _ := strconv.ParseUint(f, 10, 64)
		st.CPU.PerCPU = append(st.CPU.PerCPU, n)
	}
	throttle := s.keyed(cpu, "cpu.stat")
	st.CPU.Periods, st.CPU.ThrottledPeriods, st.CPU.ThrottledTime = throttle["nr_periods"], throttle["nr_throttled"], throttle["throttled_time"]

	mem := m.paths["memory"]
	st.Memory = MemoryStats{
		Usage:     s.uint(mem, "memory.usage_in_bytes"),
		MaxUsage:  s.uint(mem, "memory.max_usage_in_bytes"),
		Limit:     s.uint(mem, "memory.limit_in_bytes"),
		Failcnt:   s.uint(mem, "memory.failcnt"),
		SwapUsage: s.uint(mem, "memory.memsw.usage_in_bytes"),
		SwapLimit: s.uint(mem, "memory.memsw.limit_in_bytes"),
	}
	if mem != "" {
		st.Memory.Raw = s.keyed(mem, "memory.stat")
		st.Memory.Cache = st.Memory.Raw["total_cache"]
	}

	pids := m.paths["pids"]
	st.Pids = PidsStats{Current: s.uint(pids, "pids.current"), Limit: s.uint(pids, "pids.max")}

	blkio := m.paths["blkio"]
	st.Blkio.IOServiceBytes = blkioEntries(s.text(blkio, "blkio.throttle.io_service_bytes_recursive"))
	st.Blkio.IOServiced = blkioEntries(s.text(blkio, "blkio.throttle.io_serviced_recursive"))

	if h := m.paths["hugetlb"]; h != "" {
		for _, size := range hugepageSizes(h, "usage_in_bytes") {
			if st.Hugetlb == nil {
				st.Hugetlb = map[string]HugetlbStats{}
			}
			st.Hugetlb[size] = HugetlbStats{
				Usage:    s.uint(h, "hugetlb."+size+".usage_in_bytes"),
				MaxUsage: s.uint(h, "hugetlb."+size+".max_usage_in_bytes"),
				Failcnt:  s.uint(h, "hugetlb."+size+".failcnt"),
			}
		}
	}
	return st, s.err
}

// blkioEntries parses v1 blkio lines "8:0 Read 4096", skipping "Total".
func blkioEntries(text string) []BlkioEntry {
	var out []BlkioEntry
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			continue
		}
		if e, ok := blkioEntry(f[0], f[1], f[2]); ok {
			out = append(out, e)
		}
	}
	return out
}

func blkioEntry(devnum, op, value string) (BlkioEntry, bool) {
	ma, mi, ok := strings.Cut(devnum, ":")
	major, err1 := strconv.ParseUint(ma, 10, 64)
	minor, err2 := strconv.ParseUint(mi, 10, 64)
	v, err3 := strconv.ParseUint(value, 10, 64)
	if !ok || err1 != nil || err2 != nil || err3 != nil {
		return BlkioEntry{}, false
	}
	return BlkioEntry{Major: major, Minor: minor, Op: op, Value: v}, true
}

func (m *v2Manager) Stats() (*Stats, error) {
	var s statReader
	d := m.dir
	st := &Stats{}
	cpu := s.keyed(d, "cpu.stat")
	st.CPU = CPUStats{
		Usage:            cpu["usage_usec"] * 1000,
		User:             cpu["user_usec"] * 1000,
		System:           cpu["system_usec"] * 1000,
		Periods:          cpu["nr_periods"],
		ThrottledPeriods: cpu["nr_throttled"],
		ThrottledTime:    cpu["throttled_usec"] * 1000,
	}
	st.Memory = MemoryStats{
		Usage:     s.uint(d, "memory.current"),
		MaxUsage:  s.uint(d, "memory.peak"),
		Limit:     s.uint(d, "memory.max"),
		Failcnt:   s.keyed(d, "memory.events")["max"],
		SwapUsage: s.uint(d, "memory.swap.current"),
		SwapLimit: s.uint(d, "memory.swap.max"),
		Raw:       s.keyed(d, "memory.stat"),
	}
	st.Memory.Cache = st.Memory.Raw["file"]
	st.Pids = PidsStats{Current: s.uint(d, "pids.current"), Limit: s.uint(d, "pids.max")}

	// io.stat: "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0".
	for _, line := range strings.Split(s.text(d, "io.stat"), "\n") {
		f := strings.Fields(line)
		for _, kv := range f[min(1, len(f)):] {
			k, v, _ := strings.Cut(kv, "=")
			op := map[string]string{"rbytes": "Read", "wbytes": "Write", "rios": "Read", "wios": "Write"}[k]
			e, ok := blkioEntry(f[0], op, v)
			if !ok || op == "" {
				continue
			}
			if strings.HasSuffix(k, "bytes") {
				st.Blkio.IOServiceBytes = append(st.Blkio.IOServiceBytes, e)
			} else {
				st.Blkio.IOServiced = append(st.Blkio.IOServiced, e)
			}
		}
	}

	for _, size := range hugepageSizes(d, "current") {
		if st.Hugetlb == nil {
			st.Hugetlb = map[string]HugetlbStats{}
		}
		st.Hugetlb[size] = HugetlbStats{
			Usage:   s.uint(d, "hugetlb."+size+".current"),
			Failcnt: s.keyed(d, "hugetlb."+size+".events")["max"],
		}
	}
	return st, s.err
}
