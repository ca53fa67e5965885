package container

import (
	"errors"
	"fmt"

	"github.com/tupper-runtime/tupper/libcontainer/cgroups"
)

// ErrNotPaused is returned by Resume when the container is not paused.
var ErrNotPaused = errors.New("container not paused")

// Pause freezes every process of a running container: the v1 freezer or
// cgroup v2's cgroup.freeze. Nothing is recorded: Status sees the frozen
// cgroup and reports "paused" until Resume.
func (c *Container) Pause() error {
	switch st := c.Status(); st {
	case StatusRunning:
	case StatusPaused:
		return fmt.Errorf("container already paused: %w", ErrWrongState)
	default:
		return ErrNotRunning
	}
	return c.freeze(true)
}

// Resume thaws a paused container.
func (c *Container) Resume() error {
	if c.Status() != StatusPaused {
		return ErrNotPaused
	}
	return c.freeze(false)
}

func (c *Container) freeze(frozen bool) error {
	mgr, err := c.mustCgroup()
	if err != nil {
		return err
	}
	what := "thaw"
	if frozen {
		what = "freeze"
	}
	if err := mgr.Freeze(frozen); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// mustCgroup is c.cgroup() for commands that cannot work without one.
func (c *Container) mustCgroup() (cgroups.Manager, error) {
	if len(c.rec.CgroupPaths) == 0 {
		return nil, errors.New("the container has no cgroup")
	}
	mgr, err := cgroups.Load(c.rec.CgroupPaths)
	if err != nil {
		return nil, err
	}
	return mgr, nil
}
