package container

import (
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/tupper-runtime/tupper/libcontainer/rootfs"
)

// execInContainer is the init side of `tupper exec`. The nsenter
// constructor has already put this process in the container's cgroup and
// namespaces (and forked, so the pid namespace applies); what is left is
// the process itself. It reports ready, then executes the process: the sync
// socket is close-on-exec, so `tupper exec` sees EOF once the process runs,
// or an error message if execve failed.
func (in *initState) execInContainer() error {
	if in.rootFD >= 0 {
		if err := in.chrootExec(); err != nil {
			return err
		}
	}
	// The caller's /dev/null must not reach the container (see ReopenDevNull).
	if err := rootfs.ReopenDevNull(); err != nil {
		return fmt.Errorf("reopen /dev/null: %w", err)
	}
	if err := in.setupConsole(); err != nil {
		return err
	}
	// The container's session keyring, as its init joined it: not the
	// caller's, whose keys the container must not reach.
	if !in.cfg.NoNewKeyring {
		if err := joinSessionKeyring(in.cfg.ID); err != nil {
			return err
		}
	}
	if err := in.prepareProcess(); err != nil {
		return err
	}
	if err := in.ch.send(&message{Type: msgReady}); err != nil {
		return err
	}
	return in.execProcess()
}

// chrootExec puts the process in the root of a container that has no
// mount namespace, which the constructor had none to join for: the
// directory the init chrooted into, opened by `tupper exec` (see
// Container.execRoot). The runtime's /proc is kept first, as the init
// keeps it (keepProc): the container's root has none mounted.
func (in *initState) chrootExec() error {
	if err := in.keepProc(); err != nil {
		return err
	}
	defer unix.Close(in.rootFD)
	if err := unix.Fchdir(in.rootFD); err != nil {
		return fmt.Errorf("chdir to the container's root: %w", err)
	}
	if err := unix.Chroot("."); err != nil {
		return fmt.Errorf("chroot to the container's root: %w", err)
	}
	// process.cwd is then chdir'ed to inside it, by prepareProcess.
	if err := unix.Chdir("/"); err != nil {
		return fmt.Errorf("chdir to /: %w", err)
	}
	return nil
}
