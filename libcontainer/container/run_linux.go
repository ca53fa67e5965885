package container

import (
	"errors"
	"os"
	"os/signal"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tupper-runtime/tupper/libcontainer/state"
)

// Run creates and starts a container. With detach it returns at once;
// otherwise it supervises the container like an init would: it becomes a
// child subreaper (the init may be a grandchild when nsenter forked),
// forwards every catchable signal to the container's init, reaps, and
// returns the exit code (128+N when the process was killed by signal N).
// Unless keep, the container is deleted after it exits.
func Run(o *Options, id string, co *CreateOptions, detach, keep bool) (int, error) {
	var sigs *signalRelay
	if !detach {
		if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
			return 1, err
		}
		sigs = subscribeSignals()
	}
	co.ForegroundTTY = !detach
	c, err := Create(o, id, co)
	if err != nil {
		return 1, err
	}
	var tty *relay
	if c.console != nil {
		if tty, err = startRelay(c.console); err != nil {
			c.Close()
			c.destroyAfter(o, id)
			return 1, err
		}
	}
	pid := c.rec.Pid
	// Held only to overlap its teardown with delete: not with --keep, nor
	// with poststop hooks, which run once the container is deleted and
	// may expect its mounts gone (a device to detach, a filesystem to
	// unmount). Taken before start, while the init waits on the FIFO: a
	// process as short as `true` can be gone, and its namespace with it,
	// before start returns.
	var mntNS *os.File
	if h, _ := c.rec.Config.Hooks(); !detach && !keep && (h == nil || len(h.Poststop) == 0) {
		mntNS = holdMountNS(pid)
	}
	t := time.Now()
	if err := c.Start(); err != nil {
		c.Close()
		c.destroyAfter(o, id)
		<-releaseMountNS(mntNS)
		return 1, err
	}
	if detach {
		c.Release()
		return 0, nil
	}
	o.debug("start", t)
	c.Close() // unlock: state and kill must work while we wait
	t = time.Now()
	relayed, stop := sigs.all()
	code := supervise(pid, relayed, tty)
	stop()
	if tty != nil {
		tty.finish()
	}
	o.debug("wait", t)
	released := releaseMountNS(mntNS)
	if !keep {
		t = time.Now()
		c.destroyAfter(o, id)
		o.debug("delete", t)
	}
	<-released
	return code, nil
}

// holdMountNS keeps a reference to the container's mount namespace while
// run waits. When the last process of a mount namespace exits, the kernel
// unmounts the whole tree and waits for an expedited RCU grace period
// before the exit completes: about a millisecond here, between the
// process's end and run's wait returning. Held here, that teardown happens
// when releaseMountNS closes the reference, on a thread of its own while
// delete removes the cgroup and the state. A container without a mount
// namespace of its own holds the runtime's or a joined one: harmless.
func holdMountNS(pid int) *os.File {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/ns/mnt")
	if err != nil {
		return nil // nothing gained, nothing lost
	}
	return f
}

// releaseMountNS drops holdMountNS's reference in the background; the
// channel closes once the namespace is gone, which run waits for before it
// returns, so no mount of the container outlives it.
func releaseMountNS(f *os.File) <-chan struct{} {
	done := make(chan struct{})
	if f == nil {
		close(done)
		return done
	}
	go func() {
		// The close runs the teardown on this goroutine's thread before it
		// returns; delete goes on meanwhile on another.
		f.Close()
		close(done)
	}()
	return done
}

// signalRelay collects the signals a foreground run or exec forwards to
// its process. Subscribing to a signal is a handoff with the Go runtime's
// signal thread, about 20 us of two threads' time, and to all of them a
// millisecond, which competes with starting the process when it runs
// beside it. So the signals that would end or stop tupper before their
// subscription (the Go runtime acts on those alone), and the ones users
// send, are subscribed to at once, beside the work; every other one
// (real-time signals, SIGXCPU, ...) only once the process has run for
// restDelay, and the runtime ignores it until then. There is no
// signal.Stop: the process exits after.
type signalRelay struct {
	c     chan os.Signal
	first chan struct{} // closed once the common signals are subscribed
}

// commonSignals are subscribed to first: those the Go runtime ends the
// program on (HUP, INT, TERM; QUIT, ABRT, SYS, STKFLT with a stack dump)
// or stops it on (TSTP, TTIN, TTOU), and the user signals, SIGCONT and
// SIGWINCH (a terminal's resize).
var commonSignals = []os.Signal{
	unix.SIGHUP, unix.SIGINT, unix.SIGTERM, unix.SIGQUIT, unix.SIGABRT, unix.SIGSYS, unix.SIGSTKFLT,
	unix.SIGTSTP, unix.SIGTTIN, unix.SIGTTOU, unix.SIGUSR1, unix.SIGUSR2, unix.SIGCONT, unix.SIGWINCH,
}

// subscribeSignals starts subscribing to the common signals.
func subscribeSignals() *signalRelay {
	r := &signalRelay{c: make(chan os.Signal, 64), first: make(chan struct{})}
	go func() {
		signal.Notify(r.c, commonSignals...)
		close(r.first)
	}()
	return r
}

// restDelay is how long the process runs before the signals beyond the
// common ones are subscribed to: most short-lived processes (a probe, a
// hook, `run ID true`) are gone by then, and their run spends none of the
// millisecond of CPU the subscription costs, which on a small host takes
// it from the process and from delete.
const restDelay = 2 * time.Millisecond

// all waits for the common signals' subscription, subscribes to every
// other signal once the process has run for restDelay, and returns the
// channel they all come to and a stop for that subscription.
func (r *signalRelay) all() (chan os.Signal, func()) {
	<-r.first
	t := time.AfterFunc(restDelay, func() { signal.Notify(r.c) })
	return r.c, func() { t.Stop() }
}

// supervise forwards signals to pid until it exits and returns its code.
func supervise(pid int, sigs chan os.Signal, tty *relay) int {
	exited := make(chan int, 1)
	go func() {
		for {
			var ws unix.WaitStatus
			wpid, err := unix.Wait4(-1, &ws, 0, nil)
			if err == unix.EINTR {
				continue
			}
			if err != nil {
				exited <- 255
				return
			}
			if wpid != pid {
				continue // an orphan reparented to us
			}
			switch {
			case ws.Exited():
				exited <- ws.ExitStatus()
			case ws.Signaled():
				exited <- 128 + int(ws.Signal())
			default:
				continue
			}
			return
		}
	}()
	for {
		select {
		case code := <-exited:
			return code
		case s := <-sigs:
			sig, ok := s.(unix.Signal)
			// SIGURG is the Go runtime's own preemption signal.
			if !ok || sig == unix.SIGCHLD || sig == unix.SIGURG {
				continue
			}
			if sig == unix.SIGWINCH && tty != nil {
				tty.resize() // the kernel tells the container's foreground group
				continue
			}
			_ = unix.Kill(pid, sig)
		}
	}
}

// destroyAfter deletes the container after run, logging what fails. The
// record is the one create made, kept in memory: nothing run waits through
// changes what delete needs (the cgroup, the hooks), and decoding it again
// costs more than the rest of delete's reads. The directory is locked
// again, and must still name create's init: a container deleted meanwhile,
// and maybe another created with its id, is not run's to delete.
func (c *Created) destroyAfter(o *Options, id string) {
	dir, err := o.store().Open(id)
	if err != nil {
		if !errors.Is(err, state.ErrNotExist) {
			o.Log.Warn("delete after run", "id", id, "err", err)
		}
		return
	}
	if pid, start, err := dir.Owner(); err != nil || pid != c.rec.Pid || start != c.rec.StartTime {
		dir.Close()
		o.Log.Warn("delete after run: the container was deleted, and its id taken again, meanwhile", "id", id)
		return
	}
	cc := &Container{opts: o, dir: dir, rec: c.rec}
	defer cc.Close()
	if err := cc.Destroy(true); err != nil {
		o.Log.Warn("delete after run", "id", id, "err", err)
	}
}
