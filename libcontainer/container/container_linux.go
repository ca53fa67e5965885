// Package container is tupper's lifecycle: Create, Load, Start, Signal and
// Destroy a container, on the parent side, and Init, the code the container's
// init process runs. The parent/child protocol is in protocol.go.
//
// It owns the order of things (what happens at create, at start, at delete)
// and delegates the what: mounts to rootfs, cgroups to cgroups, the record
// to state.
package container

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/tupper-runtime/tupper/libcontainer/cgroups"
	"github.com/tupper-runtime/tupper/libcontainer/state"
)

// Status values of the runtime-spec state, plus runc's "paused".
const (
	StatusCreating = "creating"
	StatusCreated  = "created"
	StatusRunning  = "running"
	StatusStopped  = "stopped"
	StatusPaused   = "paused"
)

// ErrWrongState is returned when a command does not fit the container's status.
var ErrWrongState = errors.New("wrong container state")

// Options are the runtime-wide settings from the global flags.
type Options struct {
	Root          string
	Log           *slog.Logger
	SystemdCgroup bool
	Debug         bool
	// Rootless: the runtime may lack the privileges of host root (see
	// rootless_linux.go); a cgroup it may not create is done without.
	// With RootlessAuto (--rootless auto) it is found out by
	// DetectRootless, when first needed: it reads /proc, which only
	// create needs to, and every command would pay for.
	Rootless     bool
	RootlessAuto bool
}

// rootless is Rootless, detected the first time with RootlessAuto.
func (o *Options) rootless() bool {
	if o.RootlessAuto {
		o.Rootless, o.RootlessAuto = DetectRootless(), false
	}
	return o.Rootless
}

func (o *Options) store() state.Store { return state.Store{Root: o.Root} }

// Container is a loaded container with its directory locked.
type Container struct {
	opts *Options
	dir  *state.Dir
	rec  *state.Record
}

// Load opens and locks an existing container.
func Load(o *Options, id string) (*Container, error) {
	t := time.Now()
	dir, err := o.store().Open(id)
	if err != nil {
		return nil, err
	}
	rec, err := dir.Read()
	if err != nil {
		dir.Close()
		return nil, err
	}
	o.debug("load state", t)
	return &Container{opts: o, dir: dir, rec: rec}, nil
}

// Close releases the container's lock.
func (c *Container) Close() { c.dir.Close() }

// Status derives the status from the process and the FIFO: the init alive
// with its FIFO present is created, alive without it running, a frozen
// cgroup paused, and anything else stopped.
func (c *Container) Status() string {
	if !c.initAlive() {
		return StatusStopped
	}
	if !c.rec.Started {
		if _, err := os.Lstat(c.dir.FIFOPath()); err == nil {
			return StatusCreated
		}
	}
	if mgr := c.cgroup(); mgr != nil {
		if frozen, err := mgr.Frozen(); err == nil && frozen {
			return StatusPaused
		}
	}
	return StatusRunning
}

// initAlive tells whether the recorded init still runs (not a zombie, and
// not another process that reused its pid).
func (c *Container) initAlive() bool {
	if c.rec.Pid <= 0 {
		return false
	}
	st, err := readProcStat(c.rec.Pid)
	if err != nil {
		return false
	}
	return st.startTime == c.rec.StartTime && st.state != 'Z' && st.state != 'X'
}

// annotations are the recorded config's; a record whose config cannot be
// decoded has none, with a warning, for state and the hooks to go on.
func (c *Container) annotations() map[string]string {
	a, err := c.rec.Config.Annotations()
	if err != nil {
		c.opts.Log.Warn(err.Error(), "id", c.rec.ID)
	}
	return a
}

func (c *Container) cgroup() cgroups.Manager {
	if len(c.rec.CgroupPaths) == 0 {
		return nil
	}
	mgr, err := cgroups.Load(c.rec.CgroupPaths)
	if err != nil {
		return nil
	}
	return mgr
}

// State is the runtime-spec state document plus runc's extra fields.
type State struct {
	specs.State
	Rootfs  string    `json:"rootfs"`
	Created time.Time `json:"created"`
	Owner   string    `json:"owner"`
}

// State returns the container's state document.
func (c *Container) State() *State {
	st := &State{
		State: specs.State{
			Version: specs.Version,
			ID:      c.rec.ID,
			Status:  specs.ContainerState(c.Status()),
			Bundle:  c.rec.Bundle,
		},
		Rootfs:  c.rec.Rootfs,
		Created: c.rec.Created,
	}
	if st.Status != StatusStopped {
		st.Pid = c.rec.Pid
	}
	st.Annotations = c.annotations()
	if fi, err := os.Stat(c.dir.Path); err == nil {
		if sys, ok := fi.Sys().(*unix.Stat_t); ok {
			st.Owner = lookupUser(sys.Uid)
		}
	}
	return st
}

// List loads every container under the root, unlocked, for `list`.
func List(o *Options) ([]*State, error) {
	ids, err := o.store().List()
	if err != nil {
		return nil, err
	}
	out := make([]*State, 0, len(ids))
	for _, id := range ids {
		c, err := Load(o, id)
		if err != nil {
			if errors.Is(err, state.ErrNotExist) {
				continue // deleted while we listed
			}
			return nil, err
		}
		out = append(out, c.State())
		c.Close()
	}
	return out, nil
}

func lookupUser(uid uint32) string {
	if uid == 0 {
		return "root"
	}
	return fmt.Sprint(uid)
}
