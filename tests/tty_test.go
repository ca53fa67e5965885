package tests

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestConsoleSocket: with process.terminal, create sends the pty master over
// --console-socket (as conmon and containerd's shim expect) and the process
// runs with the pty as its stdio.
func TestConsoleSocket(t *testing.T) {
	c := newCtr(t, "sh", "-c", "test -t 0 && test -t 1 && echo tty-ok; tty; stat -c %F /dev/console")
	c.spec.Process.Terminal = true
	sock, waitMaster := ptyListener(t)

	c.mustCreate("--console-socket", sock)
	master := waitMaster()
	c.must("start", nil)

	text := readMaster(t, master)
	text = strings.ReplaceAll(text, "\r\n", "\n")
	if !strings.Contains(text, "tty-ok\n/dev/") {
		t.Errorf("output through the pty: %q, want stdin and stdout a tty named /dev/...", text)
	}
	if !strings.HasSuffix(text, "\ncharacter special file\n") {
		t.Errorf("output through the pty: %q, want /dev/console a character device", text)
	}
}

// receiveFd accepts one connection and returns the fd sent with SCM_RIGHTS.
func receiveFd(l *net.UnixListener) (*os.File, error) {
	conn, err := l.AcceptUnix()
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	buf, oob := make([]byte, 4096), make([]byte, syscall.CmsgSpace(4))
	_, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
	if err != nil {
		return nil, fmt.Errorf("read console socket: %w", err)
	}
	msgs, err := syscall.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return nil, fmt.Errorf("console socket: %d control messages (%v), want 1", len(msgs), err)
	}
	fds, err := syscall.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		return nil, fmt.Errorf("console socket: fds %v (%v), want 1", fds, err)
	}
	return os.NewFile(uintptr(fds[0]), "pty-master"), nil
}

// ptyListener listens on a new console socket and returns its path and
// a function that waits for the pty master sent there (closed at cleanup).
func ptyListener(t *testing.T) (sock string, waitMaster func() *os.File) {
	t.Helper()
	sock = filepath.Join(t.TempDir(), "console.sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	type received struct {
		f   *os.File
		err error
	}
	got := make(chan received, 1)
	go func() { f, err := receiveFd(l); got <- received{f, err} }()
	return sock, func() *os.File {
		t.Helper()
		var r received
		select {
		case r = <-got:
		case <-time.After(cmdTimeout):
			t.Fatal("no pty master arrived on the console socket")
		}
		if r.err != nil {
			t.Fatal(r.err)
		}
		t.Cleanup(func() { r.f.Close() })
		return r.f
	}
}

// readMaster reads the pty master until the last slave fd closes (EIO), as
// the terminal put it out (\r\n line ends); it fails the test after
// cmdTimeout.
func readMaster(t *testing.T, master *os.File) string {
	t.Helper()
	out := make(chan string, 1)
	go func() {
		b, err := io.ReadAll(master)
		if err != nil && !errors.Is(err, syscall.EIO) {
			t.Errorf("read pty master: %v", err)
		}
		out <- string(b)
	}()
	select {
	case s := <-out:
		return s
	case <-time.After(cmdTimeout):
		master.Close()
		t.Fatal("the pty never reached EOF")
		return ""
	}
}
