package container

import (
	"bytes"
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// Start releases a created container's init to execute the process, and
// returns once the process runs (or with the init's reason it could not).
// "The poststart hooks MUST be called after the user-specified process is
// executed but before the start operation returns" (config.md).
func (c *Container) Start() error {
	switch st := c.Status(); st {
	case StatusCreated:
	case StatusStopped:
		return fmt.Errorf("cannot start a container that has stopped: %w", ErrWrongState)
	default:
		return fmt.Errorf("cannot start an already %s container: %w", st, ErrWrongState)
	}
	pidfd, err := unix.PidfdOpen(c.rec.Pid, 0)
	if err != nil {
		return fmt.Errorf("open init process: %w", err)
	}
	defer unix.Close(pidfd)
	// Non-blocking, so a dead init cannot leave us waiting on the FIFO.
	fd, err := unix.Open(c.dir.FIFOPath(), unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open exec fifo: %w", err)
	}
	defer unix.Close(fd)
	msg, err := readFIFO(fd, pidfd)
	if err != nil {
		return err
	}
	if err := os.Remove(c.dir.FIFOPath()); err != nil {
		c.opts.Log.Warn("remove exec fifo", "id", c.rec.ID, "err", err)
	}
	if len(msg) > 0 {
		return errors.New(string(msg))
	}
	h, err := c.rec.Config.Hooks()
	if err != nil {
		c.killAndWait()
		return fmt.Errorf("poststart hooks: %w", err)
	}
	if h != nil {
		// "If any poststart hook fails, the runtime MUST generate an
		// error, stop the container, and continue the lifecycle at step
		// 12" (runtime.md): the container is left stopped for delete.
		if err := runHooks(h.Poststart, "poststart", c.specState(StatusRunning)); err != nil {
			c.killAndWait()
			return err
		}
	}
	return nil
}

// readFIFO reads what the init writes into the FIFO until it closes it: one
// byte when it is released, then nothing (execve closed the FIFO) or the
// text of the error that stopped it.
func readFIFO(fd, pidfd int) ([]byte, error) {
	var out bytes.Buffer
	buf := make([]byte, 4096)
	gotByte := false
	for {
		n, err := unix.Read(fd, buf)
		switch {
		case n > 0:
			out.Write(buf[:n])
			gotByte = true
			continue
		case err == nil && gotByte: // EOF after the init wrote
			return out.Bytes()[1:], nil
		case err != nil && err != unix.EAGAIN && err != unix.EINTR:
			return nil, fmt.Errorf("read exec fifo: %w", err)
		}
		// Nothing yet: wait for data or for the init to die.
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}, {Fd: int32(pidfd), Events: unix.POLLIN}}
		if _, err := unix.Poll(fds, -1); err != nil && err != unix.EINTR {
			return nil, fmt.Errorf("wait for init: %w", err)
		}
		if fds[0].Revents == 0 && fds[1].Revents != 0 {
			// One more read: the init may have written just before exiting.
			if n, _ := unix.Read(fd, buf); n > 0 {
				out.Write(buf[:n])
			}
			if out.Len() > 1 {
				return out.Bytes()[1:], nil
			}
			return nil, errors.New("container init exited before executing the process")
		}
	}
}
