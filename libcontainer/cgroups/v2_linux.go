package cgroups

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// v2Manager is a cgroup on a pure cgroup v2 host: one directory.
type v2Manager struct {
	dir        string
	mountpoint string // "" after Load: Apply then enables no controllers
	files
	// attachDevices puts the device program on the cgroup; tests replace
	// attachDeviceProgram, which needs root and a kernel with cgroup BPF.
	attachDevices func(dir string, prog []insn) error
}

func (m *v2Manager) Apply(pid int) error {
	if err := m.create(); err != nil {
		return fmt.Errorf("create cgroup: %w", err)
	}
	if pid > 0 {
		if err := m.write(m.dir, "cgroup.procs", strconv.Itoa(pid)); err != nil {
			return fmt.Errorf("join cgroup: %w", err)
		}
	}
	return nil
}

// create makes every missing level down to the container's cgroup and, in
// cgroup.subtree_control of each level above it from the root down,
// enables the controllers the level has and has not enabled yet, so that
// the container's cgroup gets them all. Enabling is best effort: a level
// with processes of its own cannot enable any ("no internal processes"
// rule), a threaded one not cpuset; Set names a controller still missing
// when a field needs it.
func (m *v2Manager) create() error {
	rel, err := filepath.Rel(m.mountpoint, m.dir)
	if m.mountpoint == "" || err != nil || strings.HasPrefix(rel, "..") {
		_, err := m.mkdirLevels(m.dir)
		return err
	}
	level := m.mountpoint
	for _, part := range strings.Split(rel, "/") {
		m.enableControllers(level)
		level = filepath.Join(level, part)
		if _, err := m.mkdirLevels(level); err != nil {
			return err
		}
	}
	return nil
}

func (m *v2Manager) enableControllers(level string) {
	// A level with processes of its own cannot give its children domain
	// controllers, and enabling the threaded ones alone would turn it
	// "domain threaded" and its new child "domain invalid", where no
	// process can be started: leave such a level alone.
	if procs, err := read(level, "cgroup.procs"); err != nil || strings.TrimSpace(procs) != "" {
		return
	}
	avail, err := read(level, "cgroup.controllers")
	if err != nil {
		return
	}
	on, _ := read(level, "cgroup.subtree_control")
	var add []string
	for _, c := range strings.Fields(avail) {
		if !hasField(on, c) {
			add = append(add, "+"+c)
		}
	}
	if len(add) == 0 || m.write(level, "cgroup.subtree_control", strings.Join(add, " ")) == nil {
		return
	}
	for _, c := range add {
		_ = m.write(level, "cgroup.subtree_control", c)
	}
}

func hasField(s, f string) bool {
	for _, x := range strings.Fields(s) {
		if x == f {
			return true
		}
	}
	return false
}

func (m *v2Manager) Placement() (*Placement, error) {
	fd, err := unix.Open(m.dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open cgroup %s: %w", m.dir, err)
	}
	return &Placement{CloneFD: fd}, nil
}

func (m *v2Manager) Paths() map[string]string { return map[string]string{"": m.dir} }

func (m *v2Manager) Pids() ([]int, error) { return pidsIn(m.dir) }

func (m *v2Manager) Freeze(frozen bool) error {
	if !exists(m.dir, "cgroup.freeze") {
		return ErrNoFreezer
	}
	want := "0"
	if frozen {
		want = "1"
	}
	if err := m.write(m.dir, "cgroup.freeze", want); err != nil {
		return err
	}
	err := waitFor(freezeTimeout, func() (bool, error) {
		v, err := eventsValue(m.dir, "frozen")
		return v == want, err
	}, nil)
	if errors.Is(err, errFreezeTimeout) {
		if frozen {
			_ = m.write(m.dir, "cgroup.freeze", "0")
		}
		return fmt.Errorf("freeze %s: not reached after %v", m.dir, freezeTimeout)
	}
	return err
}

func (m *v2Manager) Frozen() (bool, error) {
	v, err := eventsValue(m.dir, "frozen")
	if errors.Is(err, fs.ErrNotExist) {
		return false, ErrNoFreezer
	}
	return v == "1", err
}

// eventsValue reads one key of cgroup.events ("populated 1\nfrozen 0\n").
func eventsValue(dir, key string) (string, error) {
	f, err := os.Open(filepath.Join(dir, "cgroup.events"))
	if err != nil {
		return "", err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if k, v, ok := strings.Cut(s.Text(), " "); ok && k == key {
			return v, nil
		}
	}
	return "", s.Err()
}

// Kill uses cgroup.kill (Linux 5.14) for SIGKILL: the kernel kills every
// process of the tree at once, forks racing with it included.
func (m *v2Manager) Kill(sig unix.Signal) error {
	if sig == unix.SIGKILL && exists(m.dir, "cgroup.kill") {
		err := m.write(m.dir, "cgroup.kill", "1")
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	return killFrozen(m, sig)
}

func (m *v2Manager) Destroy() error {
	return removeTree(m.dir)
}
