package container

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/tupper-runtime/tupper/libcontainer/cgroups"
)

// TestSendTasksInitGone: when the init of a staged cgroup is gone before
// create hands it the v1 tasks files (its constructor failed to make a
// namespace and said so, or it was killed while it waited in recvmsg),
// create reports what the init wrote or how it ended, as for every other
// send to an init that went, not the socket's "broken pipe". The tasks
// files are closed either way. Each case runs a real child holding the
// other end of the socket as fd 3, reported exited before the send.
func TestSendTasksInitGone(t *testing.T) {
	tests := []struct {
		name, script, want string
	}{
		{"said why", `printf '{"type":"error","error":"unshare namespaces 0x40000000: no space left on device"}\n' >&3; exit 1`, "unshare namespaces 0x40000000: no space left on device"},
		{"killed", "kill -KILL $$", "init process was killed by SIGKILL (killed) before it reported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parent, proc := startShell(t, tt.script)
			defer proc.kill()
			// Until the child has exited, without reaping it.
			var info unix.Siginfo
			if err := unix.Waitid(unix.P_PID, proc.pid, &info, unix.WEXITED|unix.WNOWAIT, nil); err != nil {
				t.Fatal(err)
			}
			tasks, err := os.Create(filepath.Join(t.TempDir(), "tasks"))
			if err != nil {
				t.Fatal(err)
			}
			placement := &cgroups.Placement{CloneFD: -1, Tasks: []*os.File{tasks}}
			ch := make(chan tasksResult, 1)
			ch <- tasksResult{placement: placement}
			c := &Created{tasks: ch}
			p := &initProcess{child: proc, pid: proc.pid, parent: parent, ch: newChannel(parent)}
			got := sendTasks(c, p, &specs.Spec{})
			if got == nil || got.Error() != tt.want {
				t.Errorf("sendTasks: %v, want %q", got, tt.want)
			}
			if c.tasks != nil {
				t.Error("sendTasks left c.tasks set: undo would wait on it again")
			}
			if placement.Tasks != nil {
				t.Error("sendTasks left the tasks files open")
			}
		})
	}
}

// TestSendTasksFailed: when the goroutine could not make the v1 part of
// the cgroup, sendTasks returns its error and sends nothing.
func TestSendTasksFailed(t *testing.T) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	parent, child := os.NewFile(uintptr(fds[0]), "parent"), os.NewFile(uintptr(fds[1]), "child")
	defer parent.Close()
	defer child.Close()
	cause := errors.New("create cgroup: mkdir /sys/fs/cgroup/pids/x: permission denied")
	ch := make(chan tasksResult, 1)
	ch <- tasksResult{err: cause}
	c := &Created{tasks: ch}
	p := &initProcess{parent: parent, ch: newChannel(parent)}
	if got := sendTasks(c, p, &specs.Spec{}); got != cause {
		t.Errorf("sendTasks: %v, want %v", got, cause)
	}
	if c.tasks != nil {
		t.Error("sendTasks left c.tasks set: undo would wait on it again")
	}
	if err := unix.SetNonblock(int(child.Fd()), true); err != nil {
		t.Fatal(err)
	}
	if n, err := unix.Read(int(child.Fd()), make([]byte, 1)); !errors.Is(err, unix.EAGAIN) {
		t.Errorf("the init's end read %d bytes (err %v); want nothing sent", n, err)
	}
}
