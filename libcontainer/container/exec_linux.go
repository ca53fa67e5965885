package container

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/tupper-runtime/tupper/libcontainer/cgroups"
	"github.com/tupper-runtime/tupper/libcontainer/nsenter"
	"github.com/tupper-runtime/tupper/libcontainer/seccomp"
	"github.com/tupper-runtime/tupper/libcontainer/state"
)

// ExecOptions are the flags of exec that are not about the process.
type ExecOptions struct {
	Process       *specs.Process
	ConsoleSocket string
	Detach        bool
	PidFile       string
	PreserveFDs   int
	SubCgroup     string // --cgroup: a sub-cgroup of the container's
	IgnorePaused  bool
}

// Exec runs a new process in the running container c: in every namespace
// of its init, in its cgroup, with the attributes of eo.Process. In the
// foreground it waits and returns the exit code (128+N for signal N),
// forwarding signals; with Detach it returns once the process runs.
func (c *Container) Exec(eo *ExecOptions) (int, error) {
	t := time.Now()
	switch st := c.Status(); st {
	case StatusRunning, StatusCreated:
	case StatusPaused:
		if !eo.IgnorePaused {
			return 1, fmt.Errorf("cannot exec in a paused container (use --ignore-paused): %w", ErrWrongState)
		}
	default:
		return 1, fmt.Errorf("cannot exec in a %s container: %w", st, ErrWrongState)
	}
	if eo.Process.Terminal && eo.ConsoleSocket == "" && eo.Detach {
		return 1, errors.New("process.terminal is set: give --console-socket to receive the terminal")
	}
	pidfd, err := c.openInit()
	if err != nil {
		return 1, err
	}
	defer unix.Close(pidfd)
	// The record is read; the lock is not needed while the process joins
	// (in a paused container it waits, frozen, until resume takes the lock)
	// or runs.
	c.Close()
	c.opts.debug("exec: status and pidfd", t)

	// The process is forked by the constructor's intermediate, which exits:
	// as subreaper this process gets it, to wait for it or, when it fails
	// to start, to reap it and say how it ended. With --detach it goes on
	// to the next subreaper above, or the host's init, once this exits, as
	// it would without.
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return 1, err
	}
	var sigs *signalRelay
	if !eo.Detach {
		sigs = subscribeSignals()
	}
	p, err := c.spawnExec(eo)
	if err != nil {
		return 1, err
	}
	if eo.PidFile != "" {
		t := time.Now()
		if err := state.WriteFileAtomic(eo.PidFile, []byte(strconv.Itoa(p.pid)), 0o644); err != nil {
			return 1, fmt.Errorf("pid-file: %w", err)
		}
		c.opts.debug("exec: pid-file", t)
	}
	if eo.Detach {
		return 0, nil
	}
	relayed, stop := sigs.all()
	code := supervise(p.pid, relayed, p.tty)
	stop()
	if p.tty != nil {
		p.tty.finish()
	}
	return code, nil
}

// execProcess is the parent's handle on an exec'd process being set up.
type execChild struct {
	pid int
	tty *relay
}

// spawnExec starts `tupper init` in exec mode. The nsenter constructor
// enters the cgroup, joins every namespace of the container's init (the
// user namespace first) and forks, so the pid and time namespaces apply.
func (c *Container) spawnExec(eo *ExecOptions) (*execChild, error) {
	t := time.Now()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("exec socketpair: %w", err)
	}
	parent := os.NewFile(uintptr(fds[0]), "exec-parent")
	child := os.NewFile(uintptr(fds[1]), "exec-child")
	defer parent.Close()

	cf := newChildFiles(eo.PreserveFDs)
	defer cf.close()
	req := &nsenter.Request{SyncFD: cf.addEnv(envSyncFD, child), Fork: true}
	console, err := cf.console(eo.ConsoleSocket, eo.Process.Terminal)
	if err != nil {
		return nil, err
	}
	attr := &syscall.SysProcAttr{}
	if mgr := c.execCgroup(eo.SubCgroup); mgr != nil {
		if err := cf.cgroup(mgr, req, attr); err != nil {
			return nil, err
		}
	}
	req.Joins = c.joins()
	rootFD := -1
	if _, ok := c.rec.Namespaces[string(specs.MountNamespace)]; !ok {
		root, err := c.execRoot()
		if err != nil {
			return nil, err
		}
		rootFD = cf.addEnv(envRootFD, root)
	}
	prog, err := c.execSeccomp()
	if err != nil {
		return nil, err
	}
	fast, err := fastExec(eo.Process, prog, eo.PreserveFDs)
	if err != nil {
		return nil, err
	}
	if fast != nil && rootFD >= 0 {
		fast.RootFD = rootFD
	}
	if fast != nil && !c.rec.NoNewKeyring {
		fast.Keyring = sessionKeyring(c.rec.ID)
	}
	req.FastExec = fast != nil
	cf.env = append(cf.env, nsenter.EnvName+"="+req.Encode())
	exe, err := cf.exe()
	if err != nil {
		return nil, err
	}
	// Which of the two paths sets the process up: tests and users tell
	// them apart by this line.
	setUp := "the Go init"
	if fast != nil {
		setUp = "the C fast path"
	}
	c.opts.debug("exec: prepare (cgroup, seccomp, process, sealed binary) for "+setUp, t)
	t = time.Now()
	intermediate, err := startChild(exe, []string{"tupper", "init"}, cf.env, [3]*os.File{os.Stdin, os.Stdout, os.Stderr}, cf.extra, attr)
	// Only the child may hold its end now: EOF on ours is the signal that
	// the process was executed.
	cf.close()
	if err != nil {
		return nil, fmt.Errorf("start exec process: %w", err)
	}
	c.opts.debug("exec: clone and execve", t)
	t = time.Now()
	var sendErr error
	if fast != nil {
		// Sent now, before the child asks for it: the process reads it as
		// soon as the constructor has forked it, without waiting for the
		// pid to come here first. A child that died instead reports why
		// below.
		_, sendErr = parent.Write(fast.Encode())
	}
	ch := newChannel(parent)
	// The intermediate reports the process's pid. A plain process, which
	// has all it needs already, may report that it is ready, or why it
	// failed, before that: the two write to the same socket.
	x := &execChild{}
	ready := false
	for x.pid == 0 && err == nil {
		var m *message
		if m, err = ch.recv(); err != nil {
			break
		}
		switch {
		case m.Type == msgPid && m.Pid > 0:
			x.pid = m.Pid
		case m.Type == msgReady && fast != nil && !ready:
			ready = true
		default:
			err = fmt.Errorf("unexpected message from exec process: %q", m.Type)
		}
	}
	// The intermediate exits once it reported.
	_, _ = intermediate.wait()
	c.opts.debug("exec: cgroup, namespaces and fork (the child's constructor)", t)
	t = time.Now()
	fail := func(err error) (*execChild, error) {
		if x.pid > 0 {
			err = reapFailed(ch, x.pid, err)
		}
		return nil, err
	}
	if err != nil {
		if peerGone(err) {
			// The constructor reports its own failures; this one went
			// without a word.
			err = exitError("exec process (joining the container)", intermediate)
		}
		return fail(err)
	}
	if fast != nil {
		if sendErr != nil {
			return fail(fmt.Errorf("send process: %w", sendErr))
		}
	} else {
		cfg := &initConfig{
			ID: c.rec.ID, Exec: true, HostPid: x.pid, PreserveFDs: eo.PreserveFDs, NoNewKeyring: c.rec.NoNewKeyring,
			Bundle: c.rec.Bundle, Spec: &specs.Spec{Process: eo.Process}, Seccomp: prog,
		}
		if err := ch.sendConfig(cfg); err != nil {
			return fail(err)
		}
	}
	if !ready {
		if _, err := ch.expect(msgReady); err != nil {
			return fail(err)
		}
	}
	c.opts.debug("exec: process set up", t)
	t = time.Now()
	if console != nil {
		if x.tty, err = startRelay(console); err != nil {
			return fail(err)
		}
	}
	// EOF now means execve succeeded (the socket is close-on-exec); a
	// message is the reason it failed.
	if _, err := ch.recv(); !errors.Is(err, errInitGone) {
		if err == nil {
			err = errors.New("unexpected message from exec process")
		}
		return nil, err
	}
	c.opts.debug("exec: execve of the process", t)
	return x, nil
}

// reapFailed reaps the exec'd process, which failed before it reported
// ready, and returns why it failed. One that closed its end of the socket
// without a word has exited (before ready it executes nothing, and the
// socket is close-on-exec): its exit status is all there is to tell, such
// as a Go runtime killed by SIGSEGV at start. After a send that found the
// socket closed, what the process wrote before it went is read first. One
// that is still there is killed. pid is this process's child: the
// intermediate has exited, and this process is the subreaper.
func reapFailed(ch *channel, pid int, err error) error {
	err = ch.peerError(err)
	gone := peerGone(err)
	if !gone {
		_ = unix.Kill(pid, unix.SIGKILL)
	}
	p := &childProcess{pid: pid}
	if gone {
		return exitError("exec's init", p)
	}
	_, _ = p.wait()
	return err
}

// execRoot opens the root of a container without a mount namespace, for
// the exec'd process to chroot into: it has no mount namespace to join and
// would otherwise stay on the runtime's "/". It is the directory create
// recorded and the init chrooted into, opened here, in the mount namespace
// the init shares, where that path resolved at create.
//
// Not /proc/<init pid>/root: that is whatever root the init has now, and
// the init runs the container's program, which may chroot elsewhere. A
// chroot without a mount namespace does not hold a process with
// CAP_SYS_CHROOT (chroot into a subdirectory, then ".." walks past the old
// root), so the init's root may even be the host's "/", and every exec
// would then start there. The record is in the state directory, out of the
// container's reach, and so are the path's components above the rootfs.
func (c *Container) execRoot() (*os.File, error) {
	fd, err := unix.Open(c.rec.Rootfs, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open container root %s: %w", c.rec.Rootfs, err)
	}
	return os.NewFile(uintptr(fd), "root"), nil
}

// execSeccomp is the container's seccomp program, which applies to every
// process in it: the one create kept in the container's directory, or,
// for a container created without it (by an older tupper), its profile
// compiled again.
func (c *Container) execSeccomp() (*seccomp.Program, error) {
	data, err := os.ReadFile(c.dir.SeccompPath())
	if err == nil {
		prog, perr := seccomp.ParseProgram(data)
		if perr == nil {
			return prog, nil
		}
		err = perr
	}
	profile, perr := c.rec.Config.Seccomp()
	if perr != nil || profile == nil {
		return nil, perr
	}
	c.opts.Log.Debug("seccomp: compiling the profile again", "id", c.rec.ID, "err", err)
	return compileSeccompFor(c.opts, profile)
}

// joins lists the init's namespaces to enter, the user namespace last: as
// the runtime's root the constructor may enter any namespace, including one
// the container's user namespace does not own (a pod's network namespace).
// A runtime without CAP_SYS_ADMIN joins the user namespace first.
// Namespaces the container shares with the host are not listed: the exec'd
// process is there already.
func (c *Container) joins() []nsenter.Join {
	var out []nsenter.Join
	for _, t := range []specs.LinuxNamespaceType{
		specs.MountNamespace, specs.NetworkNamespace, specs.IPCNamespace, specs.UTSNamespace,
		specs.PIDNamespace, specs.CgroupNamespace, specs.TimeNamespace, specs.UserNamespace,
	} {
		path, ok := c.rec.Namespaces[string(t)]
		if !ok {
			continue
		}
		// A namespace the container joined by path may be the caller's
		// own; setns into the namespace one is in is harmless but for the
		// user namespace, where the kernel refuses it.
		if t == specs.UserNamespace && sameNamespace(path, "/proc/self/ns/user") {
			continue
		}
		out = append(out, nsenter.Join{Kind: nsKind(t), Path: path})
	}
	if n := len(out); n > 0 && out[n-1].Kind == "user" && !hasCap(unix.CAP_SYS_ADMIN) {
		// Rootless: setns into the others needs CAP_SYS_ADMIN, which an
		// unprivileged caller only has once in the container's user
		// namespace (it owns it).
		user := out[n-1]
		copy(out[1:], out[:n-1])
		out[0] = user
	}
	return out
}

func sameNamespace(a, b string) bool {
	var sa, sb unix.Stat_t
	return unix.Stat(a, &sa) == nil && unix.Stat(b, &sb) == nil && sa.Dev == sb.Dev && sa.Ino == sb.Ino
}

// execCgroup is the container's cgroup, or its sub-cgroup for --cgroup.
func (c *Container) execCgroup(sub string) cgroups.Manager {
	if len(c.rec.CgroupPaths) == 0 {
		return nil
	}
	paths := c.rec.CgroupPaths
	if sub != "" {
		paths = make(map[string]string, len(c.rec.CgroupPaths))
		for k, v := range c.rec.CgroupPaths {
			paths[k] = filepath.Join(v, filepath.Clean("/"+sub))
		}
	}
	mgr, err := cgroups.Load(paths)
	if err != nil {
		return nil
	}
	return mgr
}
