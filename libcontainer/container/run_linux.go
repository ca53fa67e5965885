package container

import (
	"errors"
	"os"
	"os/signal"
	"time"

	"golang.org/x/sys/unix"
)

// Run creates and starts a container. With detach it returns at once;
// otherwise it supervises the container like an init would: it becomes a
// child subreaper (the init may be a grandchild when nsenter forked),
// forwards every catchable signal to the container's init, reaps, and
// returns the exit code (128+N when the process was killed by signal N).
// Unless keep, the container is deleted after it exits.
func Run(o *Options, id string, co *CreateOptions, detach, keep bool) (int, error) {
	var sigs chan chan os.Signal
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
	t := time.Now()
	if err := c.Start(); err != nil {
		c.Close()
		c.destroyAfter(o, id)
		return 1, err
	}
	pid := c.rec.Pid
	if detach {
		c.Release()
		return 0, nil
	}
	o.debug("start", t)
	c.Close() // unlock: state and kill must work while we wait
	t = time.Now()
	code := supervise(pid, <-sigs, tty)
	if tty != nil {
		tty.finish()
	}
	o.debug("wait", t)
	if !keep {
		t = time.Now()
		c.destroyAfter(o, id)
		o.debug("delete", t)
	}
	return code, nil
}

// subscribeSignals relays every signal to the returned channel's channel.
// Subscribing costs about a millisecond (a handoff with the runtime's signal
// thread per signal), so it runs beside the caller's work; receiving the
// channel waits for it. There is no signal.Stop: the process exits after.
func subscribeSignals() chan chan os.Signal {
	ready := make(chan chan os.Signal, 1)
	go func() {
		c := make(chan os.Signal, 64)
		signal.Notify(c)
		ready <- c
	}()
	return ready
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

// destroyAfter deletes the container after run, logging what fails.
func (c *Created) destroyAfter(o *Options, id string) {
	cc, err := Load(o, id)
	if err != nil {
		if !errors.Is(err, ErrNotRunning) {
			o.Log.Warn("delete after run", "id", id, "err", err)
		}
		return
	}
	defer cc.Close()
	if err := cc.Destroy(true); err != nil {
		o.Log.Warn("delete after run", "id", id, "err", err)
	}
}
