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

// fakeStaged is a staged cgroup whose v1 part is a temporary file, or an
// error; the rest of the Manager is never called here.
type fakeStaged struct {
	cgroups.Manager
	placement *cgroups.Placement
	err       error
	set       bool // Set was called: the device rules were written
}

func (f *fakeStaged) ApplyTasks() (*cgroups.Placement, error) { return f.placement, f.err }
func (f *fakeStaged) ApplyClone() (*cgroups.Placement, error) { return nil, errors.New("not here") }
func (f *fakeStaged) Set(*specs.LinuxResources) error         { f.set = true; return nil }

func tasksFile(t *testing.T) *cgroups.Placement {
	t.Helper()
	tasks, err := os.Create(filepath.Join(t.TempDir(), "tasks"))
	if err != nil {
		t.Fatal(err)
	}
	return &cgroups.Placement{CloneFD: -1, Tasks: []*os.File{tasks}}
}

// socketPair is the runtime's and the init's ends of a socket, closed
// when the test ends.
func socketPair(t *testing.T) (parent, child *os.File) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	parent, child = os.NewFile(uintptr(fds[0]), "parent"), os.NewFile(uintptr(fds[1]), "child")
	t.Cleanup(func() { parent.Close(); child.Close() })
	return parent, child
}

// socketFor is a copy of parent's descriptor for handover, which closes
// it.
func socketFor(t *testing.T, parent *os.File) chan initSocket {
	t.Helper()
	fd, err := unix.Dup(int(parent.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	sock := make(chan initSocket, 1)
	sock <- initSocket{fd: fd}
	close(sock)
	return sock
}

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
			placement := tasksFile(t)
			r := handover(&fakeStaged{placement: placement}, &specs.Spec{}, nil, socketFor(t, parent))
			if !errors.Is(r.sendErr, unix.EPIPE) {
				t.Fatalf("handover to a gone init: %+v, want a send failing with EPIPE", r)
			}
			if placement.Tasks != nil {
				t.Error("handover left the tasks files open")
			}
			ch := make(chan tasksResult, 1)
			ch <- r
			c := &Created{tasks: ch}
			p := &initProcess{child: proc, pid: proc.pid, parent: parent, ch: newChannel(parent)}
			got := waitTasks(c, p)
			if got == nil || got.Error() != tt.want {
				t.Errorf("waitTasks: %v, want %q", got, tt.want)
			}
			if c.tasks != nil {
				t.Error("waitTasks left c.tasks set: undo would wait on it again")
			}
		})
	}
}

// TestSendTasksFailed: when the goroutine could not make the v1 part of
// the cgroup, waitTasks returns its error and nothing is sent, though the
// network namespace made meanwhile is waited for and closed.
func TestSendTasksFailed(t *testing.T) {
	parent, child := socketPair(t)
	netfd, err := unix.Open("/proc/self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	netns := make(chan netnsResult, 1)
	netns <- netnsResult{fd: netfd}
	cause := errors.New("mkdir /sys/fs/cgroup/pids/x: permission denied")
	r := handover(&fakeStaged{err: cause}, &specs.Spec{}, netns, socketFor(t, parent))
	ch := make(chan tasksResult, 1)
	ch <- r
	c := &Created{tasks: ch}
	p := &initProcess{parent: parent, ch: newChannel(parent)}
	want := "create cgroup: " + cause.Error()
	if got := waitTasks(c, p); got == nil || got.Error() != want || !errors.Is(got, cause) {
		t.Errorf("waitTasks: %v, want %q", got, want)
	}
	if err := unix.SetNonblock(int(child.Fd()), true); err != nil {
		t.Fatal(err)
	}
	if n, err := unix.Read(int(child.Fd()), make([]byte, 1)); !errors.Is(err, unix.EAGAIN) {
		t.Errorf("the init's end read %d bytes (err %v); want nothing sent", n, err)
	}
	if _, err := unix.FcntlInt(uintptr(netfd), unix.F_GETFD, 0); !errors.Is(err, unix.EBADF) {
		t.Errorf("the network namespace fd %d is still open (err %v)", netfd, err)
	}
}

// TestHandoverGivenUp: when create gives up before there is an init (the
// socket channel is closed without a socket), the goroutine stops without
// sending and closes what it made.
func TestHandoverGivenUp(t *testing.T) {
	placement := tasksFile(t)
	sock := make(chan initSocket)
	close(sock)
	r := handover(&fakeStaged{placement: placement}, &specs.Spec{}, nil, sock)
	if r.err != nil || r.sendErr != nil {
		t.Errorf("handover after create gave up: %+v, want nothing", r)
	}
	if placement.Tasks != nil {
		t.Error("handover left the tasks files open")
	}
}

// TestHandoverDevicesAfter: for the C init, the tasks files go first and,
// once the device rules are written, one more byte (its OpDevWait).
func TestHandoverDevicesAfter(t *testing.T) {
	parent, child := socketPair(t)
	fd, err := unix.Dup(int(parent.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	sock := make(chan initSocket, 1)
	sock <- initSocket{fd: fd, devicesAfter: true}
	close(sock)
	staged := &fakeStaged{placement: tasksFile(t)}
	spec := &specs.Spec{Linux: &specs.Linux{Resources: &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}}}}}
	if r := handover(staged, spec, nil, sock); r.err != nil || r.sendErr != nil {
		t.Fatalf("handover: %+v", r)
	}
	if !staged.set {
		t.Error("the device rules were not written")
	}
	buf, oob := make([]byte, 2), make([]byte, unix.CmsgSpace(4*4))
	n, oobn, _, _, err := unix.Recvmsg(int(child.Fd()), buf[:1], oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil || n != 1 {
		t.Fatalf("first message: %d bytes, %v", n, err)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		t.Fatalf("first message's rights: %v, %v", msgs, err)
	}
	got, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(got) != 1 {
		t.Fatalf("first message carries %v (%v), want the one tasks file", got, err)
	}
	unix.Close(got[0])
	if n, err := unix.Read(int(child.Fd()), buf); err != nil || n != 1 || buf[0] != 1 {
		t.Errorf("then %d bytes %v (%v), want the one byte of the device rules", n, buf[:n], err)
	}
}
