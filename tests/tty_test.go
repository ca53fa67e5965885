package tests

import (
	"errors"
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
	sock := filepath.Join(t.TempDir(), "console.sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	got := make(chan *os.File, 1)
	go func() { got <- receiveFd(t, l) }()

	c.mustCreate("--console-socket", sock)
	var master *os.File
	select {
	case master = <-got:
	case <-time.After(cmdTimeout):
		t.Fatal("no pty master arrived on the console socket")
	}
	if master == nil {
		t.Fatal("the console socket message carried no fd")
	}
	defer master.Close()
	c.must("start", nil)

	out := make(chan string, 1)
	go func() {
		b, err := io.ReadAll(master) // ends with EIO once the last slave fd closes
		if err != nil && !errors.Is(err, syscall.EIO) {
			t.Errorf("read pty master: %v", err)
		}
		out <- string(b)
	}()
	var text string
	select {
	case text = <-out:
	case <-time.After(cmdTimeout):
		master.Close()
		t.Fatal("the pty never reached EOF")
	}
	text = strings.ReplaceAll(text, "\r\n", "\n")
	if !strings.Contains(text, "tty-ok\n/dev/") {
		t.Errorf("output through the pty: %q, want stdin and stdout a tty named /dev/...", text)
	}
	if !strings.HasSuffix(text, "\ncharacter special file\n") {
		t.Errorf("output through the pty: %q, want /dev/console a character device", text)
	}
}

// receiveFd accepts one connection and returns the fd sent with SCM_RIGHTS.
func receiveFd(t *testing.T, l *net.UnixListener) *os.File {
	conn, err := l.AcceptUnix()
	if err != nil {
		t.Errorf("accept: %v", err)
		return nil
	}
	defer conn.Close()
	buf, oob := make([]byte, 4096), make([]byte, syscall.CmsgSpace(4))
	_, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
	if err != nil {
		t.Errorf("read console socket: %v", err)
		return nil
	}
	msgs, err := syscall.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		t.Errorf("console socket control message: %d messages, %v", len(msgs), err)
		return nil
	}
	fds, err := syscall.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		t.Errorf("console socket rights: %v, %v", fds, err)
		return nil
	}
	return os.NewFile(uintptr(fds[0]), "pty-master")
}
