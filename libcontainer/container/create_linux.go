package container

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/tupper-runtime/tupper/libcontainer/bundle"
	"github.com/tupper-runtime/tupper/libcontainer/cgroups"
	"github.com/tupper-runtime/tupper/libcontainer/state"
)

// CreateOptions are the flags of create (and run).
type CreateOptions struct {
	Bundle        string
	PidFile       string
	ConsoleSocket string
	NoPivot       bool
	NoNewKeyring  bool
	PreserveFDs   int
	// ForegroundTTY lets a container with process.terminal and no console
	// socket get its terminal from this process (run in the foreground),
	// which then relays it to its own stdio.
	ForegroundTTY bool
	// Stdio of the container's process; nil means tupper's own.
	Stdin, Stdout, Stderr *os.File
}

// Created is a container right after create; run waits on it.
type Created struct {
	*Container
	intermediate *childProcess // the process started by create; nil once reaped
	// staged: the cgroup is created while the init starts (startTasks).
	staged cgroups.Staged
	tasks  <-chan tasksResult // staged's v1 part, created and handed over beside the clone
	sock   chan initSocket    // startTasks's copy of the init socket, once there is one (giveSocket)
	netns  <-chan netnsResult // the new network namespace, made beside create
	// netnsStaged: the network namespace goes to the init with the
	// tasks files (startTasks owns it).
	netnsStaged bool
	console     *os.File      // our end of the console socketpair (ForegroundTTY)
	record      *state.Staged // the record, written while the init sets up (stageRecord)
}

// Create makes a new container from the bundle: it validates the config,
// starts the init in its namespaces, and returns once the init has applied
// everything but the process and waits on the exec FIFO. On any error,
// nothing is left behind.
func Create(o *Options, id string, co *CreateOptions) (_ *Created, retErr error) {
	t0 := time.Now()
	if err := bundle.ValidateID(id); err != nil {
		return nil, err
	}
	bundleDir, err := filepath.Abs(co.Bundle)
	if err != nil {
		return nil, fmt.Errorf("bundle %s: %w", co.Bundle, err)
	}
	spec, err := bundle.Load(bundleDir)
	if err != nil {
		return nil, err
	}
	rootfs := spec.Root.Path
	if !filepath.IsAbs(rootfs) {
		rootfs = filepath.Join(bundleDir, rootfs)
	}
	if rootfs, err = filepath.EvalSymlinks(rootfs); err != nil {
		return nil, fmt.Errorf("root.path: %w", err)
	}
	socketActivation(spec.Process, co)
	warnIgnored(o, spec)
	if spec.Process.Terminal && co.ConsoleSocket == "" && !co.ForegroundTTY {
		return nil, errors.New("process.terminal is set: give --console-socket to receive the terminal, or run in the foreground")
	}
	o.debug("load bundle", t0)
	var netns <-chan netnsResult
	if hasNewNamespace(spec, specs.NetworkNamespace) && plainNamespaces(spec) && !o.rootless() {
		netns = startNetNS()
		defer func() { closeNetNS(netns) }() // create failed before it had a container
	}

	dir, err := o.store().Create(id)
	if err != nil {
		return nil, err
	}
	c := &Created{Container: &Container{opts: o, dir: dir, rec: &state.Record{
		ID: id, Bundle: bundleDir, Rootfs: rootfs, Config: state.NewConfig(spec),
		NoNewKeyring: co.NoNewKeyring,
	}}}
	c.netns, netns = netns, nil // undo closes it if startInit does not get to it
	defer func() {
		if retErr != nil {
			c.undo()
		}
	}()
	var cgroupsPath string
	if spec.Linux != nil {
		cgroupsPath = spec.Linux.CgroupsPath
	}
	t := time.Now()
	mgr, err := cgroups.New(cgroupsPath, id)
	if err != nil {
		return nil, fmt.Errorf("cgroup: %w", err)
	}
	if staged, ok := mgr.(cgroups.Staged); ok && !o.rootless() && plainNamespaces(spec) {
		// Created around the init's start instead (see startInit).
		c.staged = staged
		c.rec.CgroupPaths = mgr.Paths()
		c.sock = make(chan initSocket, 1)
		c.tasks = startTasks(staged, spec, c.netns, c.sock)
		c.netnsStaged, c.netns = c.netns != nil, nil
	} else if err := mgr.Apply(0); err != nil {
		if !o.cgroupOptional(spec, err) {
			if o.rootless() {
				return nil, fmt.Errorf("linux.resources: a rootless container gets limits only in a cgroup it may create: %w", err)
			}
			return nil, fmt.Errorf("create cgroup: %w", err)
		}
		// Rootless and nothing to limit: run in the caller's cgroup, as
		// runc does. The cgroup is not destroyed: one that existed before
		// is not ours to remove.
		o.Log.Debug("rootless: running without a cgroup", "id", id, "err", err)
		mgr = nil
	} else {
		c.rec.CgroupPaths = mgr.Paths()
	}
	o.debug("create cgroup", t)
	// After the cgroup's goroutine has started, which makes the v1 part
	// while this thread goes on.
	if err := makeFIFO(dir.FIFOPath(), spec); err != nil {
		return nil, err
	}

	p, err := startInit(c, spec, mgr, co)
	if err != nil {
		return nil, err
	}
	defer p.closeParent()
	c.rec.Pid = p.pid
	if err := p.run(c, spec, co); err != nil {
		return nil, err
	}
	if c.record != nil {
		err = c.record.Commit()
		c.record = nil
	} else {
		err = c.writeRecord(p.pid, spec)
	}
	if err != nil {
		return nil, err
	}
	if co.PidFile != "" {
		// Written last, once the container really exists.
		if err := state.WriteFileAtomic(co.PidFile, []byte(strconv.Itoa(p.pid)), 0o644); err != nil {
			return nil, fmt.Errorf("pid-file: %w", err)
		}
	}
	o.debug("create", t0)
	return c, nil
}

// fillRecord completes the record with what the init's pid tells.
func (c *Created) fillRecord(pid int, spec *specs.Spec) error {
	st, err := readProcStat(pid)
	if err != nil {
		return fmt.Errorf("read init start time: %w", err)
	}
	c.rec.StartTime = st.startTime
	c.rec.Created = time.Now().UTC()
	c.rec.Namespaces = namespacePaths(pid, spec)
	return nil
}

func (c *Created) writeRecord(pid int, spec *specs.Spec) error {
	if err := c.fillRecord(pid, spec); err != nil {
		return err
	}
	return c.dir.Write(c.rec)
}

// stageRecord writes the record (state.Dir.Stage) while the init sets the
// container up, a third of a millisecond that is then off the path to its
// start; create puts it in place once the init is ready. Nothing here is
// an error yet: on one, create writes the record after, as it would.
func (c *Created) stageRecord(pid int, spec *specs.Spec) {
	if c.fillRecord(pid, spec) != nil {
		return
	}
	if r, err := c.dir.Stage(c.rec); err == nil {
		c.record = r
	}
}

// socketActivation passes sockets systemd handed to tupper (LISTEN_FDS, fds
// 3 onwards) on to the process, before the --preserve-fds ones, and tells it
// so in its environment, with LISTEN_PID=1 as it will be the pid 1 of its
// namespace; runc does the same.
func socketActivation(p *specs.Process, co *CreateOptions) {
	n, err := strconv.Atoi(os.Getenv("LISTEN_FDS"))
	if err != nil || n <= 0 {
		return
	}
	p.Env = append(p.Env, "LISTEN_FDS="+strconv.Itoa(n), "LISTEN_PID=1")
	co.PreserveFDs += n
}

// warnIgnored logs the fields tupper accepts but does not apply.
func warnIgnored(o *Options, spec *specs.Spec) {
	if spec.Linux == nil || spec.Linux.Resources == nil || spec.Linux.Resources.Memory == nil {
		return
	}
	m := spec.Linux.Resources.Memory
	if m.Kernel != nil { //nolint:staticcheck // deprecated, hence ignored
		o.Log.Warn("linux.resources.memory.kernel is deprecated and ignored")
	}
	if m.KernelTCP != nil { //nolint:staticcheck
		o.Log.Warn("linux.resources.memory.kernelTCP is deprecated and ignored")
	}
}

// makeFIFO creates the exec FIFO owned by the container's root, who opens
// it for writing from inside a user namespace.
func makeFIFO(path string, spec *specs.Spec) error {
	if err := unix.Mkfifo(path, 0o600); err != nil {
		return fmt.Errorf("create exec fifo: %w", err)
	}
	uid, gid, ok := 0, 0, true
	switch {
	case hasNewNamespace(spec, specs.UserNamespace):
		uid, gid = hostID(spec.Linux.UIDMappings), hostID(spec.Linux.GIDMappings)
	case joinedUserNS(spec) != "":
		uid, gid, ok = joinedRoot(joinedUserNS(spec))
	}
	if !ok {
		// A user namespace joined through a path that does not tell its
		// maps: open to all, as runc's FIFO always is; the state
		// directory keeps it from other users' paths.
		return os.Chmod(path, 0o622)
	}
	if uid != 0 || gid != 0 {
		err := unix.Chown(path, uid, gid)
		if err == unix.EPERM {
			// Rootless, with root mapped to a subordinate id: only
			// newuidmap could give the FIFO to it. Open it to all as
			// above; the init gets it by fd, not through the state dir.
			return os.Chmod(path, 0o622)
		}
		if err != nil {
			return fmt.Errorf("chown exec fifo: %w", err)
		}
	}
	return nil
}

func joinedUserNS(spec *specs.Spec) string {
	if spec.Linux == nil {
		return ""
	}
	for _, ns := range spec.Linux.Namespaces {
		if ns.Type == specs.UserNamespace {
			return ns.Path
		}
	}
	return ""
}

// joinedRoot finds the host ids of root in the user namespace at path when
// path is /proc/PID/ns/user, from that process's maps.
func joinedRoot(path string) (uid, gid int, ok bool) {
	dir := filepath.Dir(filepath.Dir(path))
	if filepath.Base(path) != "user" || filepath.Dir(dir) != "/proc" {
		return 0, 0, false
	}
	uid, ok1 := rootInMap(filepath.Join(dir, "uid_map"))
	gid, ok2 := rootInMap(filepath.Join(dir, "gid_map"))
	return uid, gid, ok1 && ok2
}

func rootInMap(path string) (int, bool) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) == 3 && f[0] == "0" {
			id, err := strconv.Atoi(f[1])
			return id, err == nil
		}
	}
	return 0, false
}

// hostID is the host id that container id 0 maps to (0 when unmapped).
func hostID(m []specs.LinuxIDMapping) int {
	for _, e := range m {
		if e.ContainerID == 0 && e.Size > 0 {
			return int(e.HostID)
		}
	}
	return 0
}

// undo removes what a failed create made: the init, the cgroup, the state.
func (c *Created) undo() {
	if c.rec.Pid > 0 {
		_ = unix.Kill(c.rec.Pid, unix.SIGKILL)
	}
	if c.intermediate != nil {
		_, _ = c.intermediate.wait()
	}
	closeNetNS(c.netns)
	if c.sock != nil {
		close(c.sock) // no socket to send on: startTasks stops
	}
	if c.tasks != nil {
		// Wait for it to finish, lest it create what Destroy removed.
		<-c.tasks
	}
	if len(c.rec.CgroupPaths) > 0 {
		if mgr, err := cgroups.Load(c.rec.CgroupPaths); err == nil {
			if err := mgr.Destroy(); err != nil {
				c.opts.Log.Warn("undo partial create: remove cgroup", "id", c.rec.ID, "err", err)
			}
		}
	}
	if c.record != nil {
		c.record.Discard()
	}
	if err := c.dir.Remove(); err != nil {
		c.opts.Log.Warn("undo partial create: remove state", "id", c.rec.ID, "err", err)
	}
}

// Release lets the init run on without this process (create, run -d).
func (c *Created) Release() {
	c.Close()
}

// namespacePaths records where the init's namespaces can be joined.
func namespacePaths(pid int, spec *specs.Spec) map[string]string {
	if spec.Linux == nil {
		return nil
	}
	m := make(map[string]string, len(spec.Linux.Namespaces))
	for _, ns := range spec.Linux.Namespaces {
		if kind := nsKind(ns.Type); kind != "" {
			m[string(ns.Type)] = "/proc/" + strconv.Itoa(pid) + "/ns/" + kind
		}
	}
	return m
}

func (o *Options) debug(what string, since time.Time) {
	if o.Debug {
		o.Log.Debug(what, "took", time.Since(since).String())
	}
}
