package container

import (
	"fmt"
	"os"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/tupper-runtime/tupper/libcontainer/cgroups"
	"github.com/tupper-runtime/tupper/libcontainer/nsenter"
)

// childFiles gathers what `tupper init` (for create or exec) is started
// with: its extra fds (3, 4, ...: first the preserved ones, then ours), the
// environment naming ours, and the files this process closes once the child
// started.
type childFiles struct {
	extra []*os.File
	env   []string
	ours  []*os.File
}

func newChildFiles(preserveFDs int) *childFiles {
	// An init's work is one locked thread's: with a single P its Go
	// runtime starts fewer threads, which its final execve must also wait
	// to see die. It clears its environment before anything else runs.
	cf := &childFiles{extra: make([]*os.File, 0, preserveFDs+8), env: []string{"GOMAXPROCS=1"}}
	for i := 0; i < preserveFDs; i++ {
		cf.extra = append(cf.extra, os.NewFile(uintptr(3+i), "preserved-fd"))
	}
	return cf
}

// add passes f and returns its fd number in the child; f is closed here
// by close.
func (cf *childFiles) add(f *os.File) int {
	cf.extra = append(cf.extra, f)
	cf.ours = append(cf.ours, f)
	return 2 + len(cf.extra)
}

// addEnv passes f and names its fd in the child's environment.
func (cf *childFiles) addEnv(name string, f *os.File) int {
	fd := cf.add(f)
	cf.env = append(cf.env, name+"="+strconv.Itoa(fd))
	return fd
}

// close closes this process's copies.
func (cf *childFiles) close() {
	for _, f := range cf.ours {
		f.Close()
	}
	cf.ours = nil
}

// console passes the console: a connection to --console-socket, or with a
// terminal and no socket one end of a socketpair whose other end is
// returned, for tupper to receive the terminal itself.
func (cf *childFiles) console(socket string, terminal bool) (*os.File, error) {
	switch {
	case socket != "":
		// A plain socket(2) and connect(2): the fd only passes to the
		// child, and package net would cost every command its
		// initialization.
		fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return nil, fmt.Errorf("connect to console socket: %w", err)
		}
		if err := unix.Connect(fd, &unix.SockaddrUnix{Name: socket}); err != nil {
			unix.Close(fd)
			return nil, fmt.Errorf("connect to console socket: %w", &os.PathError{Op: "connect", Path: socket, Err: err})
		}
		cf.addEnv(envConsoleFD, os.NewFile(uintptr(fd), "console-socket"))
	case terminal:
		pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return nil, fmt.Errorf("console socketpair: %w", err)
		}
		cf.addEnv(envConsoleFD, os.NewFile(uintptr(pair[1]), "console-init"))
		return os.NewFile(uintptr(pair[0]), "console"), nil
	}
	return nil, nil
}

// cgroup passes what puts the child in mgr's cgroup as it starts (see
// cgroups.Placement): v1 tasks files for the constructor, and the cgroup2
// directory for CLONE_INTO_CGROUP.
func (cf *childFiles) cgroup(mgr cgroups.Manager, req *nsenter.Request, attr *syscall.SysProcAttr) error {
	placement, err := mgr.Placement()
	if err != nil {
		return fmt.Errorf("cgroup: %w", err)
	}
	for _, f := range placement.Tasks {
		req.Cgroups = append(req.Cgroups, cf.add(f))
	}
	placement.Tasks = nil
	if placement.CloneFD >= 0 {
		attr.UseCgroupFD = true
		attr.CgroupFD = placement.CloneFD
		cf.ours = append(cf.ours, os.NewFile(uintptr(placement.CloneFD), "cgroup"))
	}
	return nil
}

// exe passes the sealed runtime binary (see sealedExe) and returns the
// path the child is executed as.
func (cf *childFiles) exe() (string, error) {
	f, err := sealedExe()
	if err != nil {
		return "", err
	}
	return "/proc/self/fd/" + strconv.Itoa(cf.add(f)), nil
}
