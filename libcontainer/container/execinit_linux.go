package container

import (
	"fmt"

	"github.com/tupper-runtime/tupper/libcontainer/rootfs"
)

// execInContainer is the init side of `tupper exec`. The nsenter
// constructor has already put this process in the container's cgroup and
// namespaces (and forked, so the pid namespace applies); what is left is
// the process itself. It reports ready, then executes the process: the sync
// socket is close-on-exec, so `tupper exec` sees EOF once the process runs,
// or an error message if execve failed.
func (in *initState) execInContainer() error {
	// The caller's /dev/null must not reach the container (see ReopenDevNull).
	if err := rootfs.ReopenDevNull(); err != nil {
		return fmt.Errorf("reopen /dev/null: %w", err)
	}
	if err := in.setupConsole(); err != nil {
		return err
	}
	if err := in.prepareProcess(); err != nil {
		return err
	}
	if err := in.ch.send(&message{Type: msgReady}); err != nil {
		return err
	}
	return in.execProcess()
}
