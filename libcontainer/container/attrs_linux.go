package container

import (
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Process attributes that the kernel keeps across execve: the personality,
// the scheduler, the I/O priority, the CPU affinity and the LSM label of the
// next exec. All of them belong to the calling thread, which is why the init
// applies them from its locked OS thread, the one that calls execve.
//
// The init applies them after the startContainer hooks (so the hooks, which
// it forks, run without them) and before it switches user (ioPriority RT,
// scheduler priorities and negative nice values need the privileges the init
// still has then). Everything is parsed and checked first, so a bad field
// leaves nothing half applied.

// processAttrs are the attributes of process, parsed and checked, ready to
// apply. A nil field is not to be touched.
type processAttrs struct {
	sched    *unix.SchedAttr
	ioprio   *int
	affinity *cpuAffinity
	lsm      []lsmLabel
}

// checkProcessAttrs checks the fields applyProcessAttrs and applyPersonality
// will apply, and that the host has the LSMs the process asks for. It does
// nothing, so it can run at create, where its errors are best reported.
func checkProcessAttrs(spec *specs.Spec) error {
	if spec.Linux != nil {
		if _, err := parsePersonality(spec.Linux.Personality); err != nil {
			return err
		}
	}
	if spec.Process == nil {
		return nil
	}
	a, err := parseProcessAttrs(spec.Process)
	if err != nil {
		return err
	}
	for _, l := range a.lsm {
		if err := l.check(); err != nil {
			return err
		}
	}
	return nil
}

// applyProcessAttrs applies the process attributes that need no privilege
// beyond what the init has before it switches user: scheduler, ioPriority,
// execCPUAffinity and the LSM labels (apparmorProfile, selinuxLabel) for the
// exec that follows. The LSM labels come last: nothing may be forked after
// them, or the child would exec with the container's label.
func applyProcessAttrs(p *specs.Process) error {
	a, err := parseProcessAttrs(p)
	if err != nil {
		return err
	}
	for _, l := range a.lsm {
		if err := l.check(); err != nil {
			return err
		}
	}
	if a.affinity != nil {
		if err := a.affinity.apply(); err != nil {
			return err
		}
	}
	if a.sched != nil {
		if err := setScheduler(p.Scheduler, a.sched); err != nil {
			return err
		}
	}
	if a.ioprio != nil {
		if err := ioprioSet(*a.ioprio); err != nil {
			return fmt.Errorf("process.ioPriority: ioprio_set %s %d: %w", p.IOPriority.Class, p.IOPriority.Priority, err)
		}
	}
	for _, l := range a.lsm {
		if err := l.apply(); err != nil {
			return err
		}
	}
	return nil
}

func parseProcessAttrs(p *specs.Process) (*processAttrs, error) {
	var a processAttrs
	var err error
	if p.Scheduler != nil {
		if a.sched, err = parseScheduler(p.Scheduler); err != nil {
			return nil, err
		}
	}
	if p.IOPriority != nil {
		v, err := parseIOPriority(p.IOPriority)
		if err != nil {
			return nil, err
		}
		a.ioprio = &v
	}
	if p.ExecCPUAffinity != nil {
		if a.affinity, err = parseCPUAffinity(p.ExecCPUAffinity); err != nil {
			return nil, err
		}
	}
	if p.ApparmorProfile != "" {
		a.lsm = append(a.lsm, appArmorLabel(p.ApparmorProfile))
	}
	if p.SelinuxLabel != "" {
		a.lsm = append(a.lsm, seLinuxLabel(p.SelinuxLabel))
	}
	return &a, nil
}

// personalities are the domains of config-linux.md: "LINUX32 will set the
// uname system call to show a 32 bit CPU type, such as i686."
var personalities = map[specs.LinuxPersonalityDomain]uintptr{
	specs.PerLinux:   0x0000, // PER_LINUX
	specs.PerLinux32: 0x0008, // PER_LINUX32
}

// parsePersonality returns the persona to set, or -1 for none.
func parsePersonality(p *specs.LinuxPersonality) (int, error) {
	if p == nil {
		return -1, nil
	}
	persona, ok := personalities[p.Domain]
	if !ok {
		return 0, fmt.Errorf("linux.personality.domain %q: unknown domain (want LINUX or LINUX32)", p.Domain)
	}
	// "Currently no flag values are supported." -config-linux.md
	if len(p.Flags) > 0 {
		return 0, fmt.Errorf("linux.personality.flags[0] %q: unsupported flag (runtime-spec defines none)", p.Flags[0])
	}
	return int(persona), nil
}

// applyPersonality sets linux.personality for the exec that follows; the
// kernel keeps the execution domain across execve.
func applyPersonality(l *specs.Linux) error {
	if l == nil {
		return nil
	}
	persona, err := parsePersonality(l.Personality)
	if err != nil || persona < 0 {
		return err
	}
	if _, _, errno := unix.RawSyscall(unix.SYS_PERSONALITY, uintptr(persona), 0, 0); errno != 0 {
		return fmt.Errorf("linux.personality %s: personality: %w", l.Personality.Domain, errno)
	}
	return nil
}

// I/O priority classes of ioprio_set(2).
var ioprioClasses = map[specs.IOPriorityClass]int{
	specs.IOPRIO_CLASS_RT:   1,
	specs.IOPRIO_CLASS_BE:   2,
	specs.IOPRIO_CLASS_IDLE: 3,
}

const (
	ioprioClassShift = 13
	ioprioWhoProcess = 1
)

// parseIOPriority returns the value ioprio_set takes: class and level.
func parseIOPriority(p *specs.LinuxIOPriority) (int, error) {
	class, ok := ioprioClasses[p.Class]
	if !ok {
		return 0, fmt.Errorf("process.ioPriority.class %q: unknown class (want IOPRIO_CLASS_RT, IOPRIO_CLASS_BE or IOPRIO_CLASS_IDLE)", p.Class)
	}
	// "an integer ranging from 0 (highest) to 7 (lowest)" -config.md
	if p.Priority < 0 || p.Priority > 7 {
		return 0, fmt.Errorf("process.ioPriority.priority %d: out of range 0-7", p.Priority)
	}
	return class<<ioprioClassShift | p.Priority, nil
}

// ioprioSet sets the I/O priority of the calling thread; the process execve
// makes of it keeps it, and its children inherit it, which is how it reaches
// "the container's processes within the process group" (config.md).
func ioprioSet(prio int) error {
	if _, _, errno := unix.Syscall(unix.SYS_IOPRIO_SET, ioprioWhoProcess, 0, uintptr(prio)); errno != 0 {
		return errno
	}
	return nil
}
