package container

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/tupper-runtime/tupper/libcontainer/signals"
)

// childProcess is a process this one started, and reaps, by pid: the init
// (or the constructor's intermediate) of create, and exec's intermediate.
// It is started with syscall.ForkExec and not os/exec: os.StartProcess
// forks a throwaway child to probe for pidfd support the first time it
// runs, and tupper starts a single child per command (about 0.2 ms).
type childProcess struct {
	pid    int
	waited bool
	status unix.WaitStatus
	err    error
}

// startChild executes path with stdio as fds 0 to 2 and extra as 3 on.
func startChild(path string, args, env []string, stdio [3]*os.File, extra []*os.File, sys *syscall.SysProcAttr) (*childProcess, error) {
	files := make([]uintptr, 0, 3+len(extra))
	for _, f := range stdio {
		files = append(files, f.Fd())
	}
	for _, f := range extra {
		files = append(files, f.Fd())
	}
	pid, err := syscall.ForkExec(path, args, &syscall.ProcAttr{Env: env, Files: files, Sys: sys})
	if err != nil {
		return nil, err
	}
	return &childProcess{pid: pid}, nil
}

// wait reaps the process; later calls return what the first one got.
func (p *childProcess) wait() (unix.WaitStatus, error) {
	if !p.waited {
		for {
			_, err := unix.Wait4(p.pid, &p.status, 0, nil)
			if err != unix.EINTR {
				p.err = err
				break
			}
		}
		p.waited = true
	}
	return p.status, p.err
}

// kill sends SIGKILL and reaps the process.
func (p *childProcess) kill() {
	if !p.waited {
		_ = unix.Kill(p.pid, unix.SIGKILL)
	}
	_, _ = p.wait()
}

// exitError reaps p, which closed its end of the socket without a word,
// and describes how it ended; what names it ("init process").
func exitError(what string, p *childProcess) error {
	ws, err := p.wait()
	switch {
	case err != nil:
		return fmt.Errorf("%s exited before it reported: wait: %w", what, err)
	case ws.Signaled():
		return fmt.Errorf("%s was killed by %s (%s) before it reported", what, signals.Name(ws.Signal()), ws.Signal())
	case ws.ExitStatus() != 0:
		return fmt.Errorf("%s exited with status %d before it reported", what, ws.ExitStatus())
	}
	return fmt.Errorf("%s exited with status 0 before it reported", what)
}

// peerGone reports whether err says that the other end of the socket was
// closed: an EOF, or a send or receive that found it closed.
func peerGone(err error) bool {
	return errors.Is(err, errInitGone) || errors.Is(err, unix.EPIPE) || errors.Is(err, unix.ECONNRESET)
}
