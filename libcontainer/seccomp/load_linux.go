package seccomp

import (
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// loadFlags are the flags Load passes on; anything else in a cached
// program is ignored rather than handed to the kernel.
const loadFlags = unix.SECCOMP_FILTER_FLAG_LOG | unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW |
	unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV

// LoadFlags are the flags of p that Load passes on, without the notify
// listener's: for a loader other than Load (exec's and the C init's, in
// nsenter).
func (p *Program) LoadFlags() uint {
	return p.Flags & loadFlags
}

// Load installs p on the calling thread, which must be locked to its OS
// thread and then execve; it returns the notify listener fd, or -1. The
// kernel takes the filter only from a thread with no_new_privs set or
// CAP_SYS_ADMIN in its user namespace.
func (p *Program) Load() (int, error) {
	if !p.valid() {
		return -1, fmt.Errorf("seccomp filter of %d bytes: not a program", len(p.Filter))
	}
	// Copy into properly typed, aligned memory; the bytes are already in
	// struct sock_filter layout.
	insns := make([]unix.SockFilter, len(p.Filter)/sockFilterSize)
	copy(unsafe.Slice((*byte)(unsafe.Pointer(&insns[0])), len(p.Filter)), p.Filter)
	prog := unix.SockFprog{Len: uint16(len(insns)), Filter: &insns[0]}
	flags := p.LoadFlags()
	if p.Notify {
		flags |= unix.SECCOMP_FILTER_FLAG_NEW_LISTENER
	}
	r, _, errno := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, uintptr(flags), uintptr(unsafe.Pointer(&prog)))
	runtime.KeepAlive(insns)
	if errno != 0 {
		return -1, fmt.Errorf("seccomp(SECCOMP_SET_MODE_FILTER): %w", errno)
	}
	if !p.Notify {
		return -1, nil
	}
	return int(r), nil
}

// Send gives the notify listener fd to the seccomp agent on conn (a
// connected unix socket to ListenerPath), with the container's process
// state as runc's seccomp agent protocol has it: one message whose data
// is the JSON of st and whose SCM_RIGHTS carry the fds st.Fds names.
func Send(conn, notifyFD int, st *specs.ContainerProcessState) error {
	msg, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("encode container process state: %w", err)
	}
	// MSG_NOSIGNAL: an agent that went away is an error, not a SIGPIPE.
	n, err := unix.SendmsgN(conn, msg, unix.UnixRights(notifyFD), nil, unix.MSG_NOSIGNAL)
	if err != nil {
		return fmt.Errorf("sendmsg: %w", err)
	}
	// A stream socket may take a long state in parts; the fd went with
	// the first.
	for n < len(msg) {
		m, err := unix.SendmsgN(conn, msg[n:], nil, nil, unix.MSG_NOSIGNAL)
		if err != nil {
			return fmt.Errorf("sendmsg: %w", err)
		}
		if m == 0 {
			return errors.New("sendmsg: no progress")
		}
		n += m
	}
	return nil
}
