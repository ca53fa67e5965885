package container

import (
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/tupper-runtime/tupper/libcontainer/rootfs"
)

// setupConsole gives the process a terminal when process.terminal is set:
// a pty from the container's own devpts, its slave as /dev/console, the
// controlling terminal and stdio, and its master sent to the console socket
// with SCM_RIGHTS, the protocol containerd, conmon and recvtty expect.
func (in *initState) setupConsole() error {
	p := in.spec.Process
	if !p.Terminal {
		return nil
	}
	if in.consoleFD < 0 {
		return fmt.Errorf("process.terminal: no console socket to send the terminal to")
	}
	master, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("console: open /dev/ptmx: %w", err)
	}
	defer unix.Close(master)
	if err := unix.IoctlSetPointerInt(master, unix.TIOCSPTLCK, 0); err != nil {
		return fmt.Errorf("console: unlock pty: %w", err)
	}
	n, err := unix.IoctlGetInt(master, unix.TIOCGPTN)
	if err != nil {
		return fmt.Errorf("console: pty number: %w", err)
	}
	slavePath := "/dev/pts/" + strconv.Itoa(n)
	if p.ConsoleSize != nil {
		ws := &unix.Winsize{Row: uint16(p.ConsoleSize.Height), Col: uint16(p.ConsoleSize.Width)}
		if err := unix.IoctlSetWinsize(master, unix.TIOCSWINSZ, ws); err != nil {
			return fmt.Errorf("process.consoleSize: %w", err)
		}
	}
	// An exec'd process gets a terminal of its own; /dev/console stays the
	// container's.
	if _, err := os.Lstat("/dev/console"); err == nil && !in.cfg.Exec {
		if err := rootfs.BindConsole(slavePath); err != nil {
			return err
		}
	}
	slave, err := unix.Open(slavePath, unix.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		return fmt.Errorf("console: open %s: %w", slavePath, err)
	}
	if err := unix.Sendmsg(in.consoleFD, []byte(slavePath), unix.UnixRights(master), nil, 0); err != nil {
		return fmt.Errorf("console: send terminal to console socket: %w", err)
	}
	unix.Close(in.consoleFD)
	in.consoleFD = -1
	if _, err := unix.Setsid(); err != nil {
		return fmt.Errorf("console: setsid: %w", err)
	}
	if err := unix.IoctlSetInt(slave, unix.TIOCSCTTY, 0); err != nil {
		return fmt.Errorf("console: set controlling terminal: %w", err)
	}
	for fd := 0; fd < 3; fd++ {
		if err := unix.Dup3(slave, fd, 0); err != nil {
			return fmt.Errorf("console: dup terminal to fd %d: %w", fd, err)
		}
	}
	if slave > 2 {
		unix.Close(slave)
	}
	return nil
}
