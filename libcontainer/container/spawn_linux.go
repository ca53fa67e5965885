package container

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/tupper-runtime/tupper/libcontainer/cgroups"
	"github.com/tupper-runtime/tupper/libcontainer/nsenter"
	"github.com/tupper-runtime/tupper/libcontainer/rootfs"
	"github.com/tupper-runtime/tupper/libcontainer/seccomp"
	"github.com/tupper-runtime/tupper/libcontainer/state"
)

// Environment variables that hand the init its file descriptors.
const (
	envSyncFD    = "_TUPPER_SYNC_FD"
	envFIFOFD    = "_TUPPER_FIFO_FD"
	envConsoleFD = "_TUPPER_CONSOLE_FD"
	envRootFD    = "_TUPPER_ROOT_FD" // exec: the root to chroot into
)

// initProcess is the parent's handle on the init while create runs.
type initProcess struct {
	cloned time.Time // just before the clone, for --debug
	child  *childProcess
	pid    int
	parent *os.File
	ch     *channel
	mgr    cgroups.Manager
	forked bool // the nsenter constructor forked: child is only the intermediate
	// userMaps: the constructor creates the user namespace and asks for
	// its maps (see namespacePlan), which are written as maps says.
	userMaps bool
	maps     *mapPlan
	cfg      *initConfig
	// fastProcess is what the C init reads after its plan, instead of
	// cfg (fastInitProcess).
	fastProcess []byte
}

// nsKind maps a runtime-spec namespace type to its /proc/PID/ns name.
func nsKind(t specs.LinuxNamespaceType) string {
	switch t {
	case specs.PIDNamespace:
		return "pid"
	case specs.NetworkNamespace:
		return "net"
	case specs.MountNamespace:
		return "mnt"
	case specs.IPCNamespace:
		return "ipc"
	case specs.UTSNamespace:
		return "uts"
	case specs.UserNamespace:
		return "user"
	case specs.CgroupNamespace:
		return "cgroup"
	case specs.TimeNamespace:
		return "time"
	}
	return ""
}

var cloneFlag = map[string]uintptr{
	"pid": unix.CLONE_NEWPID, "net": unix.CLONE_NEWNET, "mnt": unix.CLONE_NEWNS,
	"ipc": unix.CLONE_NEWIPC, "uts": unix.CLONE_NEWUTS, "user": unix.CLONE_NEWUSER,
	"cgroup": unix.CLONE_NEWCGROUP, "time": unix.CLONE_NEWTIME,
}

// namespacePlan splits linux.namespaces into what the clone creates and
// what the nsenter constructor does. The clone is the fast path; the
// constructor is needed to join by path, and for pid and time namespaces
// whenever it must fork (they apply to children only). A new cgroup
// namespace is left to the init, which unshares it after it has been placed
// in its cgroup, so that cgroup becomes the namespace's root.
//
// directMaps says whether this process may write the maps of a new user
// namespace itself; when it may not (rootless: newuidmap, or only its own
// id with setgroups denied), the Go runtime cannot write them at the clone,
// so the constructor creates the user namespace and asks for them.
func namespacePlan(spec *specs.Spec, req *nsenter.Request, directMaps bool) (clone uintptr) {
	if spec.Linux == nil {
		return 0
	}
	var newPidTime uintptr
	for _, ns := range spec.Linux.Namespaces {
		kind := nsKind(ns.Type)
		switch {
		case ns.Path != "":
			req.Joins = append(req.Joins, nsenter.Join{Kind: kind, Path: ns.Path})
			if kind == "pid" || kind == "time" {
				req.Fork = true
			}
		case kind == "cgroup":
		case kind == "pid" || kind == "time":
			newPidTime |= cloneFlag[kind]
			if kind == "time" {
				// clone() cannot take CLONE_NEWTIME (its bit is the exit
				// signal's), and offsets must be written before anyone enters.
				req.Fork = true
			}
		default:
			clone |= cloneFlag[kind]
		}
	}
	// The user namespace is joined last: as the runtime's root the
	// constructor may enter any namespace, including ones the container's
	// user namespace does not own (a pod's network namespace).
	sortUserLast(req.Joins)
	viaConstructor := len(req.Joins) > 0 || (!directMaps && clone&unix.CLONE_NEWUSER != 0)
	if viaConstructor && clone != 0 {
		// Joining comes first, as the runtime's root: a namespace created
		// by the clone would belong to the runtime's user namespace, out of
		// reach from a joined one, and a new user namespace would lose the
		// right to open the paths to join. So the constructor joins, then
		// creates the new ones (asking us for the maps of a new user
		// namespace), then forks when pid or time need it. Without joins,
		// the same order lets the maps of a new user namespace be written
		// by someone other than the Go runtime.
		req.Unshare, clone = clone, 0
		req.UserMaps = req.Unshare&unix.CLONE_NEWUSER != 0
		if newPidTime != 0 {
			req.Fork = true
		}
	}
	if !req.Fork {
		return clone | newPidTime
	}
	req.Unshare |= newPidTime
	for clock, o := range spec.Linux.TimeOffsets {
		req.Offsets = append(req.Offsets, nsenter.Offset{Clock: clock, Secs: o.Secs, Nanos: o.Nanosecs})
	}
	return clone
}

func sortUserLast(joins []nsenter.Join) {
	for i, j := range joins {
		if j.Kind == "user" {
			copy(joins[i:], joins[i+1:])
			joins[len(joins)-1] = j
			return
		}
	}
}

// plainNamespaces tells whether the init's namespaces are all new ones
// without a user namespace: the constructor can then make them itself,
// while the runtime creates the cgroup (see cgroupEarly), with no fork and
// no maps to wait for. Joining by path, a user namespace and a time
// namespace keep the order namespacePlan gives them.
func plainNamespaces(spec *specs.Spec) bool {
	if spec.Linux == nil {
		return true
	}
	for _, ns := range spec.Linux.Namespaces {
		if ns.Path != "" || ns.Type == specs.UserNamespace || ns.Type == specs.TimeNamespace {
			return false
		}
	}
	return true
}

// cgroupEarly readies a start whose cgroup is made in two steps (see
// cgroups.Staged): the cgroup2 part now, for CLONE_INTO_CGROUP; the v1
// hierarchies while the init starts, which the constructor waits for
// after it has made the namespaces (the C init: at its plan's OpJoin, after
// its first mounts). The namespaces move from the clone, where this process
// waits for them, to the constructor, which makes them while this process
// creates the cgroup. The pid namespace stays with the clone: the
// constructor would have to fork for it.
func (cf *childFiles) cgroupEarly(staged cgroups.Staged, req *nsenter.Request, attr *syscall.SysProcAttr) error {
	placement, err := staged.ApplyClone()
	if err != nil {
		return fmt.Errorf("create cgroup: %w", err)
	}
	if placement.CloneFD >= 0 {
		attr.UseCgroupFD = true
		attr.CgroupFD = placement.CloneFD
		cf.ours = append(cf.ours, os.NewFile(uintptr(placement.CloneFD), "cgroup"))
	}
	req.CgroupLate = true
	req.Unshare |= attr.Cloneflags &^ unix.CLONE_NEWPID
	attr.Cloneflags &= unix.CLONE_NEWPID
	return nil
}

// earlyDevices writes linux.resources.devices into a staged (v1) cgroup
// while the init starts (see handover): for a Go init before it joins the
// cgroup; for the C init right after, while it mounts, and it waits for
// them before its first device (OpDevWait). The rules go in one write
// each, the first denying every device: an init in the cgroup meanwhile
// would have its mknod refused (and bind the host's node instead), where
// before and after them it is allowed (DefaultDevices). A
// deny-all and a dozen allow rules, one write each, half a millisecond that
// the other resources' late write (see initProcess.run) no longer spends,
// as it finds the rules in place (sameExceptions). Device rules are safe
// this early, unlike pids or memory limits, which could stop the init's
// own runtime: the default rules allow mknod of any device, and /dev/null,
// which the Go runtime may open, is allowed.
func earlyDevices(staged cgroups.Staged, spec *specs.Spec) error {
	if spec.Linux == nil || spec.Linux.Resources == nil {
		return nil
	}
	if err := staged.Set(&specs.LinuxResources{Devices: spec.Linux.Resources.Devices}); err != nil {
		return fmt.Errorf("apply cgroup: %w", err)
	}
	return nil
}

// netnsResult is a network namespace startNetNS made, or why it failed.
type netnsResult struct {
	fd  int
	err error
}

// startNetNS makes the container's new network namespace on a thread of
// its own while create goes on: about 0.9 ms here, which the init's
// constructor (or the clone) spent on the path to the container's start.
// The constructor joins it by fd: given at the clone (nsenter.Request.NetFD),
// or on a staged cgroup with the tasks files (startTasks). The thread that
// made it goes back to tupper's own namespace; if it cannot, it stays
// locked to the goroutine and ends with it, so no other goroutine runs in
// the container's namespace.
func startNetNS() <-chan netnsResult {
	ch := make(chan netnsResult, 1)
	go func() {
		ch <- newNetNS()
	}()
	return ch
}

func newNetNS() netnsResult {
	runtime.LockOSThread()
	own, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		runtime.UnlockOSThread()
		return netnsResult{-1, fmt.Errorf("create network namespace: open own: %w", err)}
	}
	defer unix.Close(own)
	if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return netnsResult{-1, fmt.Errorf("create network namespace: %w", err)}
	}
	fd, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		err = fmt.Errorf("create network namespace: open it: %w", err)
	}
	if unix.Setns(own, unix.CLONE_NEWNET) == nil {
		runtime.UnlockOSThread()
	}
	return netnsResult{fd, err}
}

// closeNetNS waits for startNetNS's namespace and closes it (nil: none).
func closeNetNS(ch <-chan netnsResult) {
	if ch == nil {
		return
	}
	if r := <-ch; r.err == nil {
		unix.Close(r.fd)
	}
}

// tasksResult is how the handover of a staged cgroup went: err, the
// cgroup, its device rules or the network namespace could not be made;
// sendErr, the init could not be sent them.
type tasksResult struct {
	err, sendErr error
}

// startTasks creates the v1 part of a staged cgroup, hands its tasks
// files to the init's constructor, which waits for them, with the network
// namespace startNetNS made (netns, when not nil), and writes its device
// rules (earlyDevices, before the handover or after it for the C init):
// all on a goroutine beside the rest of create, the clone and the
// constructor's namespaces. The v1
// directories are a millisecond on a hybrid host, and the namespace one
// or two while the kernel still tears down those of containers just gone.
// The send waits for the socket (sock: a descriptor of the runtime's end,
// the goroutine's to close; closed without one when create gives up
// first), which startInit gives once the C init's plan is in it, so it
// goes first; and it goes from here, not from create's thread, which
// after the clone gets a CPU back only late on a loaded 2-core host.
func startTasks(staged cgroups.Staged, spec *specs.Spec, netns <-chan netnsResult, sock <-chan initSocket) <-chan tasksResult {
	ch := make(chan tasksResult, 1)
	go func() {
		ch <- handover(staged, spec, netns, sock)
	}()
	return ch
}

func handover(staged cgroups.Staged, spec *specs.Spec, netns <-chan netnsResult, sock <-chan initSocket) tasksResult {
	s, netfd := initSocket{fd: -1}, -1
	defer func() {
		if s.fd >= 0 {
			unix.Close(s.fd)
		}
		if netfd >= 0 {
			unix.Close(netfd)
		}
	}()
	// Every path waits for what it was given, so that nothing is left
	// running once this returns.
	p, err := staged.ApplyTasks()
	if err == nil {
		defer p.Close()
	} else {
		err = fmt.Errorf("create cgroup: %w", err)
	}
	if netns != nil {
		if n := <-netns; n.err == nil {
			netfd = n.fd
		} else if err == nil {
			err = n.err
		}
	}
	var ok bool
	if s, ok = <-sock; !ok {
		s.fd = -1
	}
	if err != nil || !ok {
		return tasksResult{err: err}
	}
	if !s.devicesAfter {
		if err := earlyDevices(staged, spec); err != nil {
			return tasksResult{err: err}
		}
	}
	if err := sendTasks(s.fd, p, netfd); err != nil {
		return tasksResult{sendErr: err}
	}
	if s.devicesAfter {
		if err := earlyDevices(staged, spec); err != nil {
			return tasksResult{err: err}
		}
		if _, err := unix.SendmsgN(s.fd, []byte{1}, nil, nil, unix.MSG_NOSIGNAL); err != nil {
			return tasksResult{sendErr: err}
		}
	}
	return tasksResult{}
}

// initSocket is the runtime's end of the init's socket, for startTasks.
// devicesAfter: the init is the C one, which waits for a byte before its
// first device (OpDevWait), so the device rules are written after the
// handover, off the path to its join, then the byte sent.
type initSocket struct {
	fd           int
	devicesAfter bool
}

// sendTasks sends the tasks files, and netfd when not -1, as SCM_RIGHTS
// with one byte.
func sendTasks(fd int, p *cgroups.Placement, netfd int) error {
	fds := make([]int, len(p.Tasks), len(p.Tasks)+1)
	for i, f := range p.Tasks {
		fds[i] = int(f.Fd())
	}
	if netfd >= 0 {
		fds = append(fds, netfd)
	}
	return unix.Sendmsg(fd, []byte{0}, unix.UnixRights(fds...), nil, unix.MSG_NOSIGNAL)
}

// giveSocket hands the goroutine of startTasks its copy of the runtime's
// end of the socket.
func (c *Created) giveSocket(parent *os.File, devicesAfter bool) error {
	fd, err := unix.FcntlInt(parent.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("init socket: %w", err)
	}
	c.sock <- initSocket{fd: fd, devicesAfter: devicesAfter}
	close(c.sock)
	c.sock = nil
	return nil
}

// waitTasks waits for startTasks's goroutine. An init gone before the
// send (a namespace it could not make, a kill) is reported by what it
// wrote or how it ended, as fail does, not by the socket's EPIPE.
func waitTasks(c *Created, p *initProcess) error {
	r := <-c.tasks
	c.tasks = nil
	if r.err != nil {
		return r.err
	}
	if r.sendErr != nil {
		return p.fail(fmt.Errorf("join cgroup: send tasks files to init: %w", r.sendErr))
	}
	return nil
}

// sendEarly writes what of ops the socket takes without blocking, and
// returns the rest (nil when none).
func sendEarly(parent *os.File, ops []byte) ([]byte, error) {
	if len(ops) == 0 {
		return nil, nil
	}
	n, err := unix.SendmsgN(int(parent.Fd()), ops, nil, nil, unix.MSG_DONTWAIT|unix.MSG_NOSIGNAL)
	if err == unix.EAGAIN {
		n, err = 0, nil
	}
	if err != nil {
		return nil, fmt.Errorf("send set-up plan: %w", err)
	}
	if n == len(ops) {
		return nil, nil
	}
	return ops[n:], nil
}

// sendOps sends the rest of the C init's plan (fastInitOps).
func (p *initProcess) sendOps(ops []byte) error {
	if _, err := p.parent.Write(ops); err != nil {
		return p.fail(fmt.Errorf("send set-up plan: %w", err))
	}
	return nil
}

func hasNewNamespace(spec *specs.Spec, t specs.LinuxNamespaceType) bool {
	if spec.Linux == nil {
		return false
	}
	for _, ns := range spec.Linux.Namespaces {
		if ns.Type == t && ns.Path == "" {
			return true
		}
	}
	return false
}

// startInit starts `tupper init` in its namespaces. Its fds: 0-2 the
// container's stdio, 3..3+N-1 the preserved fds, then the sync socket,
// the exec FIFO (O_PATH) and, with --console-socket, the console socket.
func startInit(c *Created, spec *specs.Spec, mgr cgroups.Manager, co *CreateOptions) (_ *initProcess, retErr error) {
	t := time.Now()
	// Before anything is started: a missing newuidmap fails here.
	maps, err := planMaps(spec)
	if err != nil {
		return nil, err
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("init socketpair: %w", err)
	}
	parent := os.NewFile(uintptr(fds[0]), "init-parent")
	child := os.NewFile(uintptr(fds[1]), "init-child")
	defer func() {
		if retErr != nil {
			parent.Close()
		}
	}()
	fifoFD, err := unix.Open(c.dir.FIFOPath(), unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open exec fifo: %w", err)
	}
	cf := newChildFiles(co.PreserveFDs)
	defer cf.close()
	req := &nsenter.Request{SyncFD: cf.addEnv(envSyncFD, child)}
	childFIFO := cf.addEnv(envFIFOFD, os.NewFile(uintptr(fifoFD), "exec.fifo"))
	// With a terminal and no socket (run in the foreground), the terminal
	// comes back to us.
	if c.console, err = cf.console(co.ConsoleSocket, spec.Process.Terminal); err != nil {
		return nil, err
	}
	attr := &syscall.SysProcAttr{Cloneflags: namespacePlan(spec, req, maps.direct())}
	if c.netns != nil || c.netnsStaged {
		attr.Cloneflags &^= unix.CLONE_NEWNET
		if req.Unshare&unix.CLONE_NEWNET != 0 {
			return nil, errors.New("network namespace planned twice") // plainNamespaces rules this out
		}
	}
	if c.netns != nil {
		// Without a staged cgroup, the clone waits for it; with one it
		// goes with the tasks files (startTasks).
		r := <-c.netns
		c.netns = nil
		if r.err != nil {
			return nil, r.err
		}
		req.NetFD = cf.add(os.NewFile(uintptr(r.fd), "netns"))
	}
	switch {
	case c.staged != nil:
		if err := cf.cgroupEarly(c.staged, req, attr); err != nil {
			return nil, err
		}
	case mgr != nil: // nil: rootless, without a cgroup (see Create)
		if err := cf.cgroup(mgr, req, attr); err != nil {
			return nil, err
		}
	}
	rc := &rootfs.Config{Spec: spec, Rootfs: c.rec.Rootfs, Bundle: c.rec.Bundle, NoPivot: co.NoPivot}
	fast, whyNot := fastInit(spec, rc)
	req.FastInit = fast
	var ops []byte
	if fast {
		// Made here, not beside the clone: a goroutine would wait for a
		// free P while this one is in the clone and the namespace and
		// cgroup goroutines are busy, and the init for its plan.
		if ops, err = fastInitOps(rc, childFIFO, c.staged != nil); err != nil {
			return nil, err
		}
	}
	if !req.Empty() {
		cf.env = append(cf.env, nsenter.EnvName+"="+req.Encode())
	}
	userNS := hasNewNamespace(spec, specs.UserNamespace)
	if attr.Cloneflags&unix.CLONE_NEWUSER != 0 {
		attr.UidMappings = idMaps(spec.Linux.UIDMappings)
		attr.GidMappings = idMaps(spec.Linux.GIDMappings)
		attr.GidMappingsEnableSetgroups = true
		// Become root of the new namespace before tupper is executed again:
		// an execve as an unmapped or non-root uid would drop every
		// capability the init needs to set the container up.
		if mapsZero(spec.Linux.UIDMappings) && mapsZero(spec.Linux.GIDMappings) {
			attr.Credential = &syscall.Credential{Uid: 0, Gid: 0, NoSetGroups: true}
		}
	}
	// Idmapped mounts an init in a user namespace cannot make are made
	// here and handed over (see rootfs.PrepareIdmapped).
	idmapped, err := rootfs.PrepareIdmapped(spec, c.rec.Bundle)
	if err != nil {
		return nil, err
	}
	var idmappedFDs map[int]int
	for i, f := range idmapped {
		if idmappedFDs == nil {
			idmappedFDs = make(map[int]int, len(idmapped))
		}
		idmappedFDs[i] = cf.add(f)
	}
	exe, err := cf.exe()
	if err != nil {
		return nil, err
	}
	stdio := [3]*os.File{orDefault(co.Stdin, os.Stdin), orDefault(co.Stdout, os.Stdout), orDefault(co.Stderr, os.Stderr)}
	// The plan waits in the socket's buffer for the init: its
	// constructor reads it as soon as it runs, whenever this thread gets
	// a CPU back from the clone. What the buffer does not take now (it
	// cannot block: nobody reads yet) goes after the clone, and the
	// tasks files after it.
	if ops, err = sendEarly(parent, ops); err != nil {
		return nil, err
	}
	if c.sock != nil && ops == nil {
		if err := c.giveSocket(parent, fast); err != nil {
			return nil, err
		}
	}
	p0 := time.Now()
	proc, err := startChild(exe, []string{"tupper", "init"}, cf.env, stdio, cf.extra, attr)
	// Only the child may hold its end of the socket now: a write to an
	// init that died then fails (EPIPE) instead of waiting for it.
	cf.close()
	if err != nil {
		return nil, fmt.Errorf("start init process: %w", err)
	}
	p := &initProcess{cloned: p0, child: proc, pid: proc.pid, parent: parent, ch: newChannel(parent), mgr: mgr, forked: req.Fork, userMaps: req.UserMaps, maps: maps}
	if ops != nil {
		// First: the C init reads its plan, and mounts what it can while
		// the cgroup is made (see fastInitOps).
		if err := p.sendOps(ops); err != nil {
			proc.kill()
			return nil, err
		}
	}
	if c.sock != nil {
		if err := c.giveSocket(parent, fast); err != nil {
			proc.kill()
			return nil, err
		}
	}
	prog, err := compileSeccomp(c, spec)
	if err != nil {
		proc.kill()
		return nil, err
	}
	if c.tasks != nil {
		// Before the process is sent: the tasks files go first.
		if err := waitTasks(c, p); err != nil {
			proc.kill()
			return nil, err
		}
	}
	p.cfg = &initConfig{
		Seccomp: prog,
		ID:      c.rec.ID, Spec: spec, Bundle: c.rec.Bundle, Rootfs: c.rec.Rootfs,
		NoPivot: co.NoPivot, NoNewKeyring: co.NoNewKeyring, PreserveFDs: co.PreserveFDs,
		UserNS: userNS, Idmapped: idmappedFDs,
	}
	if fast {
		keyring := ""
		if !co.NoNewKeyring {
			keyring = sessionKeyring(c.rec.ID)
		}
		if p.fastProcess, err = fastInitProcess(spec, prog, co.PreserveFDs, keyring); err != nil {
			proc.kill()
			return nil, err
		}
	} else {
		c.opts.Log.Debug("init: set up in Go: " + whyNot)
	}
	c.opts.debug("start init", t)
	return p, nil
}

// run drives the init through the protocol until it is ready.
func (p *initProcess) run(c *Created, spec *specs.Spec, co *CreateOptions) error {
	// Until the real init is known, undo must reap what we started.
	c.intermediate = p.child
	if p.userMaps {
		if err := p.writeUserMaps(spec); err != nil {
			return p.fail(err)
		}
	}
	if p.forked {
		m, err := p.ch.expect(msgPid)
		if err != nil {
			return p.fail(err)
		}
		_, _ = p.child.wait() // the intermediate exits right after reporting
		c.intermediate = nil
		p.pid = m.Pid
		c.rec.Pid = m.Pid
	}
	// The init entered its cgroup as it started (see cgroups.Placement).
	// The limits are written once the init has done the work it needs its
	// own threads and memory for, as runc does: a pids.max of 1 must limit
	// the container, not kill the Go runtime of its init.
	applied := false
	applyResources := func() error {
		if applied || spec.Linux == nil || p.mgr == nil {
			return nil
		}
		applied = true
		t := time.Now()
		if err := p.mgr.Set(c.opts.resources(spec.Linux.Resources)); err != nil {
			return fmt.Errorf("apply cgroup: %w", err)
		}
		c.opts.debug("apply resources", t)
		return nil
	}
	p.cfg.HostPid = p.pid
	if p.fastProcess != nil {
		if _, err := p.parent.Write(p.fastProcess); err != nil {
			return p.fail(fmt.Errorf("send process: %w", err))
		}
	} else if err := p.ch.sendConfig(p.cfg); err != nil {
		return p.fail(err)
	}
	// While the init sets the container up: create only renames it after.
	c.stageRecord(p.pid, spec)
	for {
		m, err := p.ch.recv()
		if err != nil {
			return p.fail(err)
		}
		switch m.Type {
		case msgHooks:
			if err := applyResources(); err != nil {
				return err
			}
			if err := runCreateRuntimeHooks(c, spec); err != nil {
				return err
			}
			if err := p.ch.send(&message{Type: msgHooksDone}); err != nil {
				return p.fail(err)
			}
		case msgReady:
			started := "init: exec and Go runtime start"
			if p.fastProcess != nil {
				c.opts.Log.Debug("init: set up in C")
				started = "init: exec"
			}
			if !m.Began.IsZero() {
				c.opts.Log.Debug(started, "took", m.Began.Sub(p.cloned).String())
			}
			for _, s := range m.Steps {
				c.opts.Log.Debug("init: "+s.Name, "took", s.Took.String())
			}
			return applyResources()
		default:
			return fmt.Errorf("unexpected message from init: got %q, want %q", m.Type, msgReady)
		}
	}
}

// fail turns a broken channel into the init's own error, which it may have
// written before it went (a send that found the socket closed has not read
// it yet), or else into its exit status.
func (p *initProcess) fail(err error) error {
	if err = p.ch.peerError(err); !peerGone(err) {
		return err
	}
	if p.forked && p.child.waited {
		// The init is the intermediate's child, not this process's.
		return errInitGone
	}
	return exitError("init process", p.child)
}

// compileSeccomp compiles linux.seccomp while the init starts; compiled
// programs are cached under the state root by the profile's hash. The
// program is also kept in the container's directory, for exec: it then
// neither decodes the profile nor hashes it to find it in the cache, and
// the profile of every podman and containerd container is hundreds of
// syscall names.
func compileSeccomp(c *Created, spec *specs.Spec) (*seccomp.Program, error) {
	if spec.Linux == nil || spec.Linux.Seccomp == nil {
		return nil, nil
	}
	prog, err := compileSeccompFor(c.opts, spec.Linux.Seccomp)
	if err != nil {
		return nil, err
	}
	// Without the file exec compiles the profile again (or finds it in
	// the cache): the container does not depend on it.
	if data, err := prog.MarshalBinary(); err != nil {
		c.opts.Log.Warn("keep seccomp program for exec: "+err.Error(), "id", c.rec.ID)
	} else if err := state.WriteFileAtomic(c.dir.SeccompPath(), data, 0o600); err != nil {
		c.opts.Log.Warn("keep seccomp program for exec: "+err.Error(), "id", c.rec.ID)
	}
	return prog, nil
}

func compileSeccompFor(o *Options, s *specs.LinuxSeccomp) (*seccomp.Program, error) {
	prog, err := seccomp.Compile(s, filepath.Join(o.Root, ".seccomp-cache"))
	if err != nil {
		return nil, err // its errors name the field already
	}
	return prog, nil
}

func (p *initProcess) closeParent() { p.parent.Close() }

func idMaps(m []specs.LinuxIDMapping) []syscall.SysProcIDMap {
	out := make([]syscall.SysProcIDMap, len(m))
	for i, e := range m {
		out[i] = syscall.SysProcIDMap{ContainerID: int(e.ContainerID), HostID: int(e.HostID), Size: int(e.Size)}
	}
	return out
}

func mapsZero(m []specs.LinuxIDMapping) bool {
	for _, e := range m {
		if e.ContainerID == 0 && e.Size > 0 {
			return true
		}
	}
	return false
}

func orDefault(f, def *os.File) *os.File {
	if f != nil {
		return f
	}
	return def
}
