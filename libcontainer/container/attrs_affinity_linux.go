package container

import (
	"fmt"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// cpuAffinity is process.execCPUAffinity, parsed.
//
// config.md: "initial is a list of CPUs a runtime parent process to be run
// on initially, before the transition to container's cgroup", "final is a
// list of CPUs the process will be run on after the transition to
// container's cgroup ... If omitted or empty, runtime SHOULD NOT change
// process' CPU affinity after the process is moved to container's cgroup".
//
// The field was made for `exec` into a running container, which tupper does
// not have; its only process is the one the init executes. The init is
// cloned straight into its cgroup, so there is no moment "before the
// transition" left in which initial could matter. tupper therefore sets, just
// before execve, final when it is given, and initial otherwise: what the
// process ends up with is what runc gives an exec'd process with the same
// fields (final, or initial when there is no final and no cpuset moves it).
type cpuAffinity struct {
	field string // "process.execCPUAffinity.final" or "...initial"
	list  string
	set   unix.CPUSet
}

func parseCPUAffinity(a *specs.CPUAffinity) (*cpuAffinity, error) {
	var chosen *cpuAffinity
	for _, f := range []struct{ name, list string }{{"initial", a.Initial}, {"final", a.Final}} {
		if f.list == "" {
			continue
		}
		field := "process.execCPUAffinity." + f.name
		set, err := parseCPUList(f.list)
		if err != nil {
			return nil, fmt.Errorf("%s %q: %w", field, f.list, err)
		}
		chosen = &cpuAffinity{field: field, list: f.list, set: set}
	}
	return chosen, nil
}

// apply sets the affinity of the calling thread, which execve keeps.
func (a *cpuAffinity) apply() error {
	if err := unix.SchedSetaffinity(0, &a.set); err != nil {
		return fmt.Errorf("%s %q: sched_setaffinity: %w", a.field, a.list, err)
	}
	return nil
}

// parseCPUList parses the kernel's cpu list format, "0-3,7": comma
// separated CPUs and inclusive ranges.
func parseCPUList(s string) (unix.CPUSet, error) {
	var set unix.CPUSet
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		lo, hi, isRange := strings.Cut(item, "-")
		first, err := parseCPU(lo)
		if err != nil {
			return set, err
		}
		last := first
		if isRange {
			if last, err = parseCPU(hi); err != nil {
				return set, err
			}
			if last < first {
				return set, fmt.Errorf("range %q runs backwards", item)
			}
		}
		for cpu := first; cpu <= last; cpu++ {
			set.Set(cpu)
		}
	}
	return set, nil
}

// maxCPUs is CPU_SETSIZE, what a unix.CPUSet (a glibc cpu_set_t) holds.
const maxCPUs = 1024

func parseCPU(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 0 || strings.HasPrefix(strings.TrimSpace(s), "+") {
		return 0, fmt.Errorf("invalid CPU %q", s)
	}
	if n >= maxCPUs {
		return 0, fmt.Errorf("CPU %d: more than %d CPUs are not supported", n, maxCPUs)
	}
	return n, nil
}
