package container

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// relay is `run` in the foreground with a terminal and no console socket:
// tupper receives the pty master itself and copies between it and its own
// stdio, with its terminal (when stdin is one) in raw mode and sized to it.
type relay struct {
	master   *os.File
	restore  *unix.Termios
	outDone  chan struct{}
	stdinTTY bool
}

// recvMaster reads the pty master that the init sent over sock.
func recvMaster(sock *os.File) (*os.File, error) {
	buf := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(4))
	_, oobn, _, _, err := unix.Recvmsg(int(sock.Fd()), buf, oob, 0)
	if err != nil {
		return nil, fmt.Errorf("receive terminal: %w", err)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return nil, fmt.Errorf("receive terminal: no file descriptor in the message")
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		return nil, fmt.Errorf("receive terminal: no file descriptor in the message")
	}
	return os.NewFile(uintptr(fds[0]), "pty-master"), nil
}

func startRelay(sock *os.File) (*relay, error) {
	master, err := recvMaster(sock)
	sock.Close()
	if err != nil {
		return nil, err
	}
	r := &relay{master: master, outDone: make(chan struct{})}
	in := int(os.Stdin.Fd())
	if t, err := unix.IoctlGetTermios(in, unix.TCGETS); err == nil {
		r.stdinTTY = true
		saved := *t
		r.restore = &saved
		raw := *t
		raw.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
		raw.Oflag &^= unix.OPOST
		raw.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
		raw.Cflag &^= unix.CSIZE | unix.PARENB
		raw.Cflag |= unix.CS8
		raw.Cc[unix.VMIN], raw.Cc[unix.VTIME] = 1, 0
		_ = unix.IoctlSetTermios(in, unix.TCSETS, &raw)
		r.resize()
	}
	go func() { _, _ = io.Copy(master, os.Stdin) }()
	go func() {
		// Ends with EIO once the last process holding the slave exits.
		_, _ = io.Copy(os.Stdout, master)
		close(r.outDone)
	}()
	return r, nil
}

// resize gives the pty the size of tupper's own terminal.
func (r *relay) resize() {
	if !r.stdinTTY {
		return
	}
	if ws, err := unix.IoctlGetWinsize(int(os.Stdin.Fd()), unix.TIOCGWINSZ); err == nil {
		_ = unix.IoctlSetWinsize(int(r.master.Fd()), unix.TIOCSWINSZ, ws)
	}
}

// finish waits for the output to drain and restores the terminal.
func (r *relay) finish() {
	<-r.outDone
	r.master.Close()
	if r.restore != nil {
		_ = unix.IoctlSetTermios(int(os.Stdin.Fd()), unix.TCSETS, r.restore)
	}
}
