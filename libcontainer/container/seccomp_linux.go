package container

import (
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/tupper-runtime/tupper/libcontainer/seccomp"
)

// connectSeccompAgent connects to linux.seccomp.listenerPath when the
// profile has notify actions; it runs before pivot_root.
func (in *initState) connectSeccompAgent() error {
	prog := in.cfg.Seccomp
	if prog == nil || !prog.Notify || prog.ListenerPath == "" {
		return nil
	}
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("linux.seccomp.listenerPath: %w", err)
	}
	if err := unix.Connect(fd, &unix.SockaddrUnix{Name: prog.ListenerPath}); err != nil {
		unix.Close(fd)
		return fmt.Errorf("linux.seccomp.listenerPath %s: connect: %w", prog.ListenerPath, err)
	}
	in.listenerFD = fd
	return nil
}

// loadSeccomp installs the filter on this thread and hands a notify
// listener to the agent.
func (in *initState) loadSeccomp() error {
	prog := in.cfg.Seccomp
	if prog == nil {
		return nil
	}
	fd, err := prog.Load()
	if err != nil {
		return fmt.Errorf("linux.seccomp: load filter: %w", err)
	}
	if fd < 0 || in.listenerFD < 0 {
		return nil
	}
	st := &specs.ContainerProcessState{
		Version:  specs.Version,
		Fds:      []string{specs.SeccompFdName},
		Pid:      in.cfg.HostPid,
		Metadata: prog.ListenerMetadata,
		State:    *in.hookState(StatusCreated),
	}
	err = seccomp.Send(in.listenerFD, fd, st)
	unix.Close(fd)
	unix.Close(in.listenerFD)
	if err != nil {
		return fmt.Errorf("linux.seccomp.listenerPath: send listener: %w", err)
	}
	return nil
}
