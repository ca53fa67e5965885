package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// The validation programs give most containers no linux.cgroupsPath and some
// a relative one ("testdir/cgrouptest/container"); like runc, tupper then
// creates the container's cgroup under its own cgroup in each hierarchy. So
// the test programs run in cgroups of the runner's own: /tupper-validation
// in every hierarchy where the runner is in the root cgroup. A hierarchy
// where it is not (on this kind of machine, memory: /process_api/...) belongs
// to the machine: nothing may be created in it, so it is "protected", and
// the runner never moves a process there.
const ownParent = "/tupper-validation"

// absCgroup is the cgroupsPath of runtime-tools' absolute-path tests
// (cgroups.AbsCgroupPath); the runtimes create it at the root of each
// hierarchy.
const absCgroup = "/cgrouptest"

// hierarchy is one mounted cgroup hierarchy.
type hierarchy struct {
	mount string   // /sys/fs/cgroup/cpu
	v2    bool     // cgroup2
	ctrls []string // v1: the controllers (and name=) mounted there
	own   string   // the runner's cgroup in it, from /proc/self/cgroup
}

// v1Controllers are the names a cgroup v1 mount's super options may list
// besides mount options (rw, clone_children, ...).
var v1Controllers = []string{"blkio", "cpu", "cpuacct", "cpuset", "debug", "devices", "freezer",
	"hugetlb", "memory", "misc", "net_cls", "net_prio", "perf_event", "pids", "rdma"}

// cgroupHost is what the runner found and made.
type cgroupHost struct {
	v1        bool        // cgroup v1 controllers are mounted (v1 or hybrid)
	joined    []hierarchy // where <mount>/tupper-validation was made, for the tests to enter
	protected []hierarchy // where the runner is in someone else's cgroup
}

// probeCgroups reads the mount table and /proc/self/cgroup.
func probeCgroups() ([]hierarchy, error) {
	own, err := readOwnCgroups()
	if err != nil {
		return nil, err
	}
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var hs []hierarchy
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory"
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		f, p := strings.Fields(pre), strings.Fields(post)
		if !ok || len(f) < 5 || len(p) < 3 || (p[0] != "cgroup" && p[0] != "cgroup2") {
			continue
		}
		h := hierarchy{mount: f[4], v2: p[0] == "cgroup2"}
		if !h.v2 {
			for _, o := range strings.Split(p[2], ",") {
				if slices.Contains(v1Controllers, o) || strings.HasPrefix(o, "name=") {
					h.ctrls = append(h.ctrls, o)
				}
			}
			slices.Sort(h.ctrls)
		}
		path, found := own[strings.Join(h.ctrls, ",")]
		switch {
		case !found:
			continue
		case f[3] != "/":
			// A bind-mounted part of a hierarchy: the runner cannot tell
			// where its cgroups land, so it keeps out.
			path = "(mount root " + f[3] + ")" + path
		}
		h.own = path
		hs = append(hs, h)
	}
	return hs, sc.Err()
}

// readOwnCgroups maps the sorted controller list of each line of
// /proc/self/cgroup ("4:memory:/process_api/x") to its path; "" is cgroup2.
func readOwnCgroups() (map[string]string, error) {
	data, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return nil, err
	}
	own := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		ctrls := strings.Split(parts[1], ",")
		slices.Sort(ctrls)
		own[strings.Join(ctrls, ",")] = parts[2]
	}
	return own, nil
}

// setupCgroups makes /tupper-validation in every hierarchy the runner may
// use. On a cgroup2-only host the runner stays where it is: a cgroup2
// cgroup with processes cannot enable controllers for its children, so the
// containers must be created from the root.
func setupCgroups() (*cgroupHost, error) {
	hs, err := probeCgroups()
	if err != nil {
		return nil, fmt.Errorf("probe cgroups: %w", err)
	}
	c := &cgroupHost{}
	for _, h := range hs {
		c.v1 = c.v1 || !h.v2
	}
	for _, h := range hs {
		switch {
		case h.own != "/":
			c.protected = append(c.protected, h)
		case h.v2 && !c.v1:
			// pure cgroup2: nothing to make
		default:
			dir := filepath.Join(h.mount, ownParent)
			if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
				return c, err
			}
			c.joined = append(c.joined, h)
			if slices.Contains(h.ctrls, "cpuset") {
				if err := copyCpuset(dir); err != nil {
					return c, err
				}
			}
		}
	}
	return c, nil
}

// copyCpuset fills a new cpuset cgroup's cpus and mems from its parent: no
// task can join it while they are empty.
func copyCpuset(dir string) error {
	for _, name := range []string{"cpuset.cpus", "cpuset.mems"} {
		v, err := os.ReadFile(filepath.Join(filepath.Dir(dir), name))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, name), v, 0); err != nil {
			return fmt.Errorf("write %s: %w", filepath.Join(dir, name), err)
		}
	}
	return nil
}

// unhideable reports whether a protected hierarchy is the only one (a
// cgroup2-only host whose runner is not in the root cgroup): hiding it
// would leave the runtimes no cgroups at all.
func (c *cgroupHost) unhideable() bool {
	for _, h := range c.protected {
		if h.v2 && !c.v1 {
			return true
		}
	}
	return false
}

// joinDirs are the directories whose cgroup.procs a test process enters.
func (c *cgroupHost) joinDirs() []string {
	var ds []string
	for _, h := range c.joined {
		ds = append(ds, filepath.Join(h.mount, ownParent))
	}
	return ds
}

// protectedMounts are the mount points a test hides from the runtime.
func (c *cgroupHost) protectedMounts() []string {
	var ms []string
	for _, h := range c.protected {
		ms = append(ms, h.mount)
	}
	return ms
}

// protects reports whether a protected hierarchy holds any of ctrls.
func (c *cgroupHost) protects(ctrls []string) bool {
	for _, h := range c.protected {
		for _, name := range h.ctrls {
			if slices.Contains(ctrls, name) {
				return true
			}
		}
	}
	return false
}

// snapshot lists every directory below the runner's cgroup in each protected
// hierarchy. It only reads: the runner checks after every test that the list
// did not change.
func (c *cgroupHost) snapshot() string {
	var b strings.Builder
	for _, h := range c.protected {
		if strings.HasPrefix(h.own, "(") {
			continue
		}
		root := filepath.Join(h.mount, h.own)
		filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() && path != root {
				b.WriteString(path + "\n")
			}
			return nil
		})
	}
	return b.String()
}

// rootNames lists the directories at the root of every hierarchy: what
// existed before the run is never the tests' to remove.
func rootNames() map[string]bool {
	hs, _ := probeCgroups()
	names := map[string]bool{}
	for _, h := range hs {
		entries, _ := os.ReadDir(h.mount)
		for _, e := range entries {
			if e.IsDir() {
				names[filepath.Join(h.mount, e.Name())] = true
			}
		}
	}
	return names
}

// leftovers lists the cgroups a test left: anything under
// /tupper-validation, and, at the root of each hierarchy, the cgroups named
// by its containers' ids and cgroupsPaths that did not exist before the
// run (crun creates even an empty or relative cgroupsPath from the root).
func (c *cgroupHost) leftovers(names []string, before map[string]bool) []string {
	var ds []string
	for _, h := range c.joined {
		base := filepath.Join(h.mount, ownParent)
		entries, _ := os.ReadDir(base)
		for _, e := range entries {
			if e.IsDir() {
				ds = append(ds, filepath.Join(base, e.Name()))
			}
		}
	}
	hs, _ := probeCgroups()
	for _, h := range hs {
		for _, n := range names {
			d := filepath.Join(h.mount, n)
			if fi, err := os.Stat(d); err == nil && fi.IsDir() && !before[d] && !slices.Contains(ds, d) {
				ds = append(ds, d)
			}
		}
	}
	return ds
}

// removeCgroup kills what is left in dir and below, then removes the
// directories, children first. Callers pass only cgroups the runner or the
// tests made.
func removeCgroup(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return err
	}
	for _, e := range entries {
		if e.IsDir() {
			if err := removeCgroup(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	var rmErr error
	// A killed process leaves its cgroup a moment after it dies: until
	// then rmdir says EBUSY.
	for range 100 {
		killCgroupProcs(dir)
		if rmErr = syscall.Rmdir(dir); rmErr == nil || errors.Is(rmErr, syscall.ENOENT) {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("remove cgroup %s: %w", dir, rmErr)
}

// cgroupProcs lists the pids in dir's cgroup.procs.
func cgroupProcs(dir string) []string {
	data, _ := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	return strings.Fields(string(data))
}

func killCgroupProcs(dir string) {
	for _, p := range cgroupProcs(dir) {
		var pid int
		if _, err := fmt.Sscan(p, &pid); err == nil && pid > 1 && pid != os.Getpid() {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// teardown removes /tupper-validation everywhere it was made.
func (c *cgroupHost) teardown() error {
	var errs []error
	for _, d := range c.joinDirs() {
		if err := removeCgroup(d); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
