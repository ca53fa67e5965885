package container

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// ErrNotRunning is returned when signalling a container with no live init.
var ErrNotRunning = errors.New("container not running")

// Signal sends sig to the container's init, or with all to every process
// in its cgroup. The init is reached through a pidfd opened after checking
// its start time, so a recycled pid is never signalled.
func (c *Container) Signal(sig unix.Signal, all bool) error {
	if all {
		mgr := c.cgroup()
		if mgr == nil {
			return errors.New("kill --all: the container has no cgroup")
		}
		if err := mgr.Kill(sig); err != nil {
			return fmt.Errorf("kill --all: %w", err)
		}
		return nil
	}
	pidfd, err := c.openInit()
	if err != nil {
		return err
	}
	defer unix.Close(pidfd)
	if err := unix.PidfdSendSignal(pidfd, sig, nil, 0); err != nil {
		if err == unix.ESRCH {
			return ErrNotRunning
		}
		return fmt.Errorf("signal %d: %w", sig, err)
	}
	return nil
}

// openInit returns a pidfd of the recorded init, or ErrNotRunning. The
// start time is checked after the pidfd is opened, so the fd is known to
// refer to the init and not to a process that later took its pid.
func (c *Container) openInit() (int, error) {
	if c.rec.Pid <= 0 {
		return -1, ErrNotRunning
	}
	pidfd, err := unix.PidfdOpen(c.rec.Pid, 0)
	if err != nil {
		if err == unix.ESRCH {
			return -1, ErrNotRunning
		}
		return -1, fmt.Errorf("open init process: %w", err)
	}
	if !c.initAlive() {
		unix.Close(pidfd)
		return -1, ErrNotRunning
	}
	return pidfd, nil
}
