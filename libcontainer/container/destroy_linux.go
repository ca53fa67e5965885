package container

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// Destroy deletes the container: its processes (only with force when it
// runs), its cgroup and its state; then the poststop hooks run. The mounts
// live in the container's mount namespace and go with its last process.
func (c *Container) Destroy(force bool) error {
	switch st := c.Status(); st {
	case StatusStopped:
	case StatusCreated:
		c.killAndWait()
	default:
		if !force {
			return fmt.Errorf("cannot delete container %s that is not stopped: %s (use --force): %w", c.rec.ID, st, ErrWrongState)
		}
		c.killAndWait()
	}
	if mgr := c.cgroup(); mgr != nil {
		// A process outside the init's pid namespace may still be there.
		if pids, err := mgr.Pids(); err == nil && len(pids) > 0 {
			_ = mgr.Kill(unix.SIGKILL)
		}
		if err := mgr.Destroy(); err != nil {
			return fmt.Errorf("remove cgroup: %w", err)
		}
	}
	if err := c.dir.Remove(); err != nil {
		return fmt.Errorf("remove state: %w", err)
	}
	hooks, err := c.rec.Config.Hooks()
	if err != nil {
		// The container is gone; its hooks cannot be known.
		c.opts.Log.Warn("poststop hooks: "+err.Error(), "id", c.rec.ID)
	}
	if hooks != nil {
		runPoststop(hooks.Poststop, c.specState(StatusStopped), func(err error) {
			c.opts.Log.Warn(err.Error(), "id", c.rec.ID)
		})
	}
	return nil
}

// killAndWait kills the init (and, when frozen, thaws so it can die) and
// waits until it has exited, so the cgroup can be removed.
func (c *Container) killAndWait() {
	pidfd, err := c.openInit()
	if err != nil {
		return
	}
	defer unix.Close(pidfd)
	if mgr := c.cgroup(); mgr != nil {
		_ = mgr.Kill(unix.SIGKILL)
		if frozen, _ := mgr.Frozen(); frozen {
			_ = mgr.Freeze(false)
		}
	}
	_ = unix.PidfdSendSignal(pidfd, unix.SIGKILL, nil, 0)
	// The pidfd becomes readable when the process exits.
	fds := []unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		n, err := unix.Poll(fds, int(time.Until(deadline).Milliseconds()))
		if n > 0 || (err != nil && err != unix.EINTR) {
			return
		}
	}
	c.opts.Log.Warn("init did not exit after SIGKILL", "id", c.rec.ID, "pid", c.rec.Pid)
}
