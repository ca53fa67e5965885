package container

import (
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Scheduling policies of sched_setattr(2) (include/uapi/linux/sched.h).
// SCHED_ISO has a number reserved but no implementation in mainline Linux;
// it is passed on, and the kernel answers.
var schedPolicies = map[specs.LinuxSchedulerPolicy]uint32{
	specs.SchedOther:    0,
	specs.SchedFIFO:     1,
	specs.SchedRR:       2,
	specs.SchedBatch:    3,
	specs.SchedISO:      4,
	specs.SchedIdle:     5,
	specs.SchedDeadline: 6,
}

var schedFlags = map[specs.LinuxSchedulerFlag]uint64{
	specs.SchedFlagResetOnFork:  unix.SCHED_FLAG_RESET_ON_FORK,
	specs.SchedFlagReclaim:      unix.SCHED_FLAG_RECLAIM,
	specs.SchedFlagDLOverrun:    unix.SCHED_FLAG_DL_OVERRUN,
	specs.SchedFlagKeepPolicy:   unix.SCHED_FLAG_KEEP_POLICY,
	specs.SchedFlagKeepParams:   unix.SCHED_FLAG_KEEP_PARAMS,
	specs.SchedFlagUtilClampMin: unix.SCHED_FLAG_UTIL_CLAMP_MIN,
	specs.SchedFlagUtilClampMax: unix.SCHED_FLAG_UTIL_CLAMP_MAX,
}

// parseScheduler turns process.scheduler into the sched_setattr argument.
// It rejects what the kernel would reject with a bare EINVAL, naming the
// field instead; fields left out are 0, as config.md says they must be.
func parseScheduler(s *specs.Scheduler) (*unix.SchedAttr, error) {
	policy, ok := schedPolicies[s.Policy]
	if !ok {
		return nil, fmt.Errorf("process.scheduler.policy %q: unknown policy", s.Policy)
	}
	attr := &unix.SchedAttr{
		Policy: policy, Nice: s.Nice, Priority: uint32(s.Priority),
		Runtime: s.Runtime, Deadline: s.Deadline, Period: s.Period,
	}
	for i, f := range s.Flags {
		bit, ok := schedFlags[f]
		if !ok {
			return nil, fmt.Errorf("process.scheduler.flags[%d] %q: unknown flag", i, f)
		}
		attr.Flags |= bit
	}
	if s.Nice < -20 || s.Nice > 19 {
		return nil, fmt.Errorf("process.scheduler.nice %d: out of range -20 to 19", s.Nice)
	}
	realtime := s.Policy == specs.SchedFIFO || s.Policy == specs.SchedRR
	switch {
	case realtime && (s.Priority < 1 || s.Priority > 99):
		return nil, fmt.Errorf("process.scheduler.priority %d: %s needs 1 to 99", s.Priority, s.Policy)
	case !realtime && s.Priority != 0:
		return nil, fmt.Errorf("process.scheduler.priority %d: only SCHED_FIFO and SCHED_RR take a priority", s.Priority)
	}
	if s.Policy != specs.SchedDeadline {
		if s.Runtime != 0 || s.Deadline != 0 || s.Period != 0 {
			return nil, fmt.Errorf("process.scheduler: runtime, deadline and period are for SCHED_DEADLINE only, not %s", s.Policy)
		}
		return attr, nil
	}
	// sched(7): "sched_runtime <= sched_deadline <= sched_period", where a
	// period of 0 means the deadline.
	period := s.Period
	if period == 0 {
		period = s.Deadline
	}
	if s.Runtime == 0 || s.Runtime > s.Deadline || s.Deadline > period {
		return nil, fmt.Errorf("process.scheduler: SCHED_DEADLINE needs 0 < runtime <= deadline <= period, got %d, %d, %d", s.Runtime, s.Deadline, s.Period)
	}
	return attr, nil
}

// setScheduler applies attr, parsed from s, to the calling thread.
func setScheduler(s *specs.Scheduler, attr *unix.SchedAttr) error {
	err := unix.SchedSetAttr(0, attr, 0)
	switch {
	case err == nil:
		return nil
	case err == unix.EINVAL && s.Policy == specs.SchedISO:
		return fmt.Errorf("process.scheduler: sched_setattr %s: %w (this kernel has no SCHED_ISO)", s.Policy, err)
	case err == unix.EPERM && (s.Policy == specs.SchedFIFO || s.Policy == specs.SchedRR):
		// With CONFIG_RT_GROUP_SCHED, a cgroup without realtime runtime
		// refuses realtime tasks even to root.
		return fmt.Errorf("process.scheduler: sched_setattr %s: %w (does the cgroup have linux.resources.cpu.realtimeRuntime?)", s.Policy, err)
	}
	return fmt.Errorf("process.scheduler: sched_setattr %s: %w", s.Policy, err)
}
