package container

import (
	"errors"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// TestReapFailed: an exec'd process that fails before it reports ready is
// reaped, and exec says why: what the process wrote, or how it ended when
// it went without a word (a Go runtime killed by SIGSEGV at start said
// only "broken pipe"), never the state of the socket. Each case runs a
// real child holding the other end of the socket as fd 3.
func TestReapFailed(t *testing.T) {
	errProtocol := errors.New(`unexpected message from exec process: "x"`)
	tests := []struct {
		name   string
		script string
		// send: after the child exited, send to it and pass that error
		// (EPIPE), as exec's sendConfig would; else read to EOF.
		send  bool
		alive bool // the child is still running: pass errProtocol
		want  string
	}{
		{"signal", "kill -SEGV $$", false, false, "exec's init was killed by SIGSEGV (segmentation fault) before it reported"},
		{"signal after send", "kill -SEGV $$", true, false, "exec's init was killed by SIGSEGV (segmentation fault) before it reported"},
		{"status", "exit 3", false, false, "exec's init exited with status 3 before it reported"},
		{"said why", `printf '{"type":"error","error":"process.cwd: no such file or directory"}\n' >&3; exit 1`, true, false, "process.cwd: no such file or directory"},
		{"still running", "exec sleep 100", false, true, errProtocol.Error()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parent, p := startShell(t, tt.script)
			// Should reapFailed ever leave it running: a pidfd kills this
			// child only, even once someone reaped it.
			if pidfd, err := unix.PidfdOpen(p.pid, 0); err == nil {
				t.Cleanup(func() {
					_ = unix.PidfdSendSignal(pidfd, unix.SIGKILL, nil, 0)
					unix.Close(pidfd)
				})
			}
			ch := newChannel(parent)
			var cause error
			switch {
			case tt.alive:
				cause = errProtocol
			case tt.send:
				// Until the child has exited, without reaping it.
				var info unix.Siginfo
				if err := unix.Waitid(unix.P_PID, p.pid, &info, unix.WEXITED|unix.WNOWAIT, nil); err != nil {
					t.Fatal(err)
				}
				cause = ch.send(&message{Type: msgConfig})
				if !errors.Is(cause, unix.EPIPE) {
					t.Fatalf("send to an exited child: %v, want EPIPE", cause)
				}
			default:
				_, cause = ch.recv()
				if !errors.Is(cause, errInitGone) {
					t.Fatalf("recv from an exited child: %v, want EOF", cause)
				}
			}
			got := reapFailed(ch, p.pid, cause)
			if got == nil || got.Error() != tt.want {
				t.Errorf("reapFailed: %v, want %q", got, tt.want)
			}
			if err := unix.Kill(p.pid, 0); !errors.Is(err, unix.ESRCH) {
				t.Errorf("child %d after reapFailed: kill 0: %v, want ESRCH (reaped)", p.pid, err)
			}
		})
	}
}

// startShell starts sh -c script as a child holding the other end of a
// socketpair as fd 3, as an init holds its sync socket, and returns this
// process's end, closed when the test ends. Reaping the child is the
// caller's: a kill by pid once someone else reaped it could hit another
// process.
func startShell(t *testing.T, script string) (*os.File, *childProcess) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	parent, child := os.NewFile(uintptr(fds[0]), "parent"), os.NewFile(uintptr(fds[1]), "child")
	t.Cleanup(func() { parent.Close() })
	p, err := startChild("/bin/sh", []string{"sh", "-c", script}, nil, [3]*os.File{os.Stdin, os.Stdout, os.Stderr}, []*os.File{child}, nil)
	child.Close()
	if err != nil {
		t.Fatal(err)
	}
	return parent, p
}
