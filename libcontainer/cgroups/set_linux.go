package cgroups

import (
	"fmt"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Helpers shared by the v1 and v2 Set.

// fieldError names the linux.resources field a failure belongs to:
// "linux.resources.memory.limit: write /sys/fs/.../memory.limit_in_bytes: invalid argument".
func fieldError(field string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("linux.resources.%s: %w", field, err)
}

// inOrder runs a then b, or b then a when a alone is refused. Two limits
// bound by an inequality (memory <= memory+swap, burst <= quota, realtime
// runtime <= period) can each be moved only while the other allows it, so
// which goes first depends on whether they grow or shrink. Either may be nil.
func inOrder(a, b func() error) error {
	switch {
	case a == nil && b == nil:
		return nil
	case a == nil:
		return b()
	case b == nil:
		return a()
	}
	err := a()
	if err == nil {
		return b()
	}
	if b() != nil {
		return err
	}
	return a()
}

func itoa(n int64) string   { return strconv.FormatInt(n, 10) }
func utoa(n uint64) string  { return strconv.FormatUint(n, 10) }
func isSet(p *int64) bool   { return p != nil && *p != 0 }
func isSetU(p *uint64) bool { return p != nil && *p != 0 }

// boolString is how control files take a flag.
func boolString(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// checkUsage refuses a memory limit below what the cgroup already uses:
// "checkBeforeUpdate ... if the new memory limit is lower than the current
// usage ... the runtime MUST reject the new limit" -runtime-spec config-linux.md.
func checkUsage(mem *specs.LinuxMemory, dir, usageFile string) error {
	if mem.CheckBeforeUpdate == nil || !*mem.CheckBeforeUpdate || !isSet(mem.Limit) || *mem.Limit < 0 {
		return nil
	}
	v, err := read(dir, usageFile)
	if err != nil {
		return fieldError("memory.checkBeforeUpdate", err)
	}
	usage, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return fieldError("memory.checkBeforeUpdate", fmt.Errorf("parse %s: %w", usageFile, err))
	}
	if *mem.Limit < usage {
		return fmt.Errorf("linux.resources.memory.limit: %d is below the current usage %d", *mem.Limit, usage)
	}
	return nil
}

func devNum(d specs.LinuxBlockIODevice) string {
	return itoa(d.Major) + ":" + itoa(d.Minor)
}

// throttles are the four blockIO throttle lists with their field names.
func throttles(b *specs.LinuxBlockIO) []struct {
	field string
	devs  []specs.LinuxThrottleDevice
} {
	return []struct {
		field string
		devs  []specs.LinuxThrottleDevice
	}{
		{"throttleReadBpsDevice", b.ThrottleReadBpsDevice},
		{"throttleWriteBpsDevice", b.ThrottleWriteBpsDevice},
		{"throttleReadIOPSDevice", b.ThrottleReadIOPSDevice},
		{"throttleWriteIOPSDevice", b.ThrottleWriteIOPSDevice},
	}
}

// rdmaLine is one line of rdma.max: "mlx4_0 hca_handle=2 hca_object=2000",
// or "" when neither limit is given.
func rdmaLine(dev string, r specs.LinuxRdma) string {
	line := dev
	if r.HcaHandles != nil {
		line += " hca_handle=" + strconv.FormatUint(uint64(*r.HcaHandles), 10)
	}
	if r.HcaObjects != nil {
		line += " hca_object=" + strconv.FormatUint(uint64(*r.HcaObjects), 10)
	}
	if line == dev {
		return ""
	}
	return line
}

// unifiedFile checks a linux.resources.unified key: it names one file of the
// cgroup directory, nothing else.
func unifiedFile(key string) error {
	if key == "" || key == "." || key == ".." || strings.ContainsRune(key, '/') {
		return fmt.Errorf("linux.resources.unified.%s: not a cgroup file name", key)
	}
	return nil
}

// pidsMax is pids.max for pids.limit: "-1 or 0 mean no limit".
func pidsMax(p *specs.LinuxPids) string {
	if p.Limit == nil || *p.Limit <= 0 {
		return "max"
	}
	return itoa(*p.Limit)
}
