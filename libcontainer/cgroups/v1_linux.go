package cgroups

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"golang.org/x/sys/unix"
)

// v1Manager is a cgroup on a cgroup v1 host: one directory per hierarchy.
// On a hybrid host it also has a directory in the cgroup2 hierarchy mounted
// at /sys/fs/cgroup/unified, where processes are placed (systemd and others
// track them there) but no controller is set.
type v1Manager struct {
	paths   map[string]string // controller -> directory; co-mounted ones share it
	unified string            // hybrid only
	files
}

// dirs are the distinct directories, in a stable order: v1Dirs, then the
// cgroup2 one of a hybrid host.
func (m *v1Manager) dirs() []string {
	ds := m.v1Dirs()
	if m.unified != "" {
		ds = append(ds, m.unified)
	}
	return ds
}

// v1Dirs are the distinct directories of the v1 hierarchies, sorted.
func (m *v1Manager) v1Dirs() []string {
	var ds []string
	for _, d := range m.paths {
		if !slices.Contains(ds, d) {
			ds = append(ds, d)
		}
	}
	slices.Sort(ds)
	return ds
}

func (m *v1Manager) Apply(pid int) error {
	return m.apply(m.dirs(), pid)
}

// ApplyClone creates only the cgroup2 directory of a hybrid host, the part
// a process must be cloned into, and returns its placement (CloneFD, or -1
// without one).
func (m *v1Manager) ApplyClone() (*Placement, error) {
	var dirs []string
	if m.unified != "" {
		dirs = []string{m.unified}
	}
	return m.applyPlacement(dirs)
}

// ApplyTasks creates the v1 hierarchies' directories and opens their
// tasks files, for a process ApplyClone's placement started.
func (m *v1Manager) ApplyTasks() (*Placement, error) {
	return m.applyPlacement(m.v1Dirs())
}

// applyPlacement creates dirs and opens what enters them (see placement).
func (m *v1Manager) applyPlacement(dirs []string) (*Placement, error) {
	if err := m.apply(dirs, 0); err != nil {
		return nil, err
	}
	return m.placement(dirs)
}

func (m *v1Manager) apply(dirs []string, pid int) error {
	for _, dir := range dirs {
		created, err := m.mkdirLevels(dir)
		if err != nil {
			return fmt.Errorf("create cgroup: %w", err)
		}
		if dir == m.paths["cpuset"] {
			// A new cpuset cgroup starts with empty cpus and mems, and no
			// task can join it until they are set: copy them from the
			// parent, level by level.
			for _, d := range created {
				if err := m.copyCpuset(d); err != nil {
					return err
				}
			}
		}
		if pid > 0 {
			if err := m.write(dir, "cgroup.procs", strconv.Itoa(pid)); err != nil {
				return fmt.Errorf("join cgroup: %w", err)
			}
		}
	}
	return nil
}

func (m *v1Manager) copyCpuset(dir string) error {
	parent := filepath.Dir(dir)
	for _, name := range []string{"cpuset.cpus", "cpuset.mems"} {
		if v, err := read(dir, name); err != nil || v != "" {
			if err != nil {
				return fmt.Errorf("create cgroup: %w", err)
			}
			continue
		}
		v, err := read(parent, name)
		if err != nil {
			return fmt.Errorf("create cgroup: %w", err)
		}
		if err := m.write(dir, name, v); err != nil {
			return fmt.Errorf("create cgroup: %w", err)
		}
	}
	return nil
}

func (m *v1Manager) Paths() map[string]string {
	p := make(map[string]string, len(m.paths)+1)
	for k, v := range m.paths {
		p[k] = v
	}
	if m.unified != "" {
		p["unified"] = m.unified
	}
	return p
}

func (m *v1Manager) Placement() (*Placement, error) {
	return m.placement(m.dirs())
}

func (m *v1Manager) placement(dirs []string) (_ *Placement, retErr error) {
	p := &Placement{CloneFD: -1}
	defer func() {
		if retErr != nil {
			p.Close()
		}
	}()
	for _, dir := range dirs {
		if dir == m.unified {
			fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
			if err != nil {
				return nil, fmt.Errorf("open cgroup %s: %w", dir, err)
			}
			p.CloneFD = fd
			continue
		}
		// Not os.OpenFile, which would register the file with the
		// runtime's poller: it only passes to the init.
		path := filepath.Join(dir, "tasks")
		fd, err := openRetry(path, unix.O_WRONLY|unix.O_CLOEXEC)
		if err != nil {
			return nil, fmt.Errorf("open cgroup: %w", err)
		}
		p.Tasks = append(p.Tasks, os.NewFile(uintptr(fd), path))
	}
	return p, nil
}

// pidsDir is the hierarchy whose tree lists the processes: any hierarchy
// holds every process of the container, these are the likeliest mounted.
func (m *v1Manager) pidsDir() (string, error) {
	for _, c := range []string{"pids", "freezer", "devices", "memory", "cpu", "name=systemd"} {
		if d, ok := m.paths[c]; ok {
			return d, nil
		}
	}
	if ds := m.dirs(); len(ds) > 0 {
		return ds[0], nil
	}
	return "", errors.New("no cgroup hierarchy")
}

func (m *v1Manager) Pids() ([]int, error) {
	dir, err := m.pidsDir()
	if err != nil {
		return nil, err
	}
	return pidsIn(dir)
}

func (m *v1Manager) Freeze(frozen bool) error {
	dir, ok := m.paths["freezer"]
	if !ok {
		return ErrNoFreezer
	}
	want := "THAWED"
	if frozen {
		want = "FROZEN"
	}
	request := func() error { return m.write(dir, "freezer.state", want) }
	if err := request(); err != nil {
		return err
	}
	// The state reads FREEZING until every task stopped; a task that forks
	// at the wrong moment can leave it there until FROZEN is written again.
	state := ""
	err := waitFor(freezeTimeout, func() (bool, error) {
		var err error
		state, err = read(dir, "freezer.state")
		return state == want, err
	}, request)
	if errors.Is(err, errFreezeTimeout) {
		if frozen {
			_ = m.write(dir, "freezer.state", "THAWED")
		}
		return fmt.Errorf("freeze %s: still %s after %v", dir, state, freezeTimeout)
	}
	return err
}

func (m *v1Manager) Frozen() (bool, error) {
	dir, ok := m.paths["freezer"]
	if !ok {
		return false, ErrNoFreezer
	}
	state, err := read(dir, "freezer.state")
	return state == "FROZEN", err
}

func (m *v1Manager) Kill(sig unix.Signal) error { return killFrozen(m, sig) }

func (m *v1Manager) Destroy() error {
	var errs []error
	for _, dir := range m.dirs() {
		errs = append(errs, removeTree(dir))
	}
	return errors.Join(errs...)
}
