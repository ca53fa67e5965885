// Package state owns tupper's state directory: one directory per container
// under the root (default /run/tupper), holding state.json and the exec FIFO.
//
// Every change to a container's record happens under an exclusive flock on
// its directory and is written atomically (temp file, rename), so a
// crash of the runtime at any point leaves either the old or the new record.
// The package stores facts (pid, start time, cgroup paths); the container's
// status is derived from them by the container package, never stored.
package state

import (
	"errors"
	"time"
)

// Sentinels callers test with errors.Is.
var (
	ErrNotExist = errors.New("container does not exist")
	ErrExist    = errors.New("container already exists")
)

// FileName is the record inside a container's directory.
const FileName = "state.json"

// FIFOName is the exec FIFO that start opens to release the init.
const FIFOName = "exec.fifo"

// SeccompName is the container's compiled seccomp program, written by
// create for exec to load as it is.
const SeccompName = "seccomp.bpf"

// Record is what tupper remembers about one container.
type Record struct {
	ID      string    `json:"id"`
	Bundle  string    `json:"bundle"`
	Rootfs  string    `json:"rootfs"`
	Created time.Time `json:"created"`
	// Pid is the container's init process as seen from the host, and
	// StartTime its start time in clock ticks (field 22 of /proc/PID/stat):
	// together they tell the init from a later process that reuses the pid.
	Pid       int    `json:"pid"`
	StartTime uint64 `json:"start_time"`
	// CgroupPaths maps a controller (or "" on cgroup v2) to the directory.
	CgroupPaths map[string]string `json:"cgroup_paths,omitempty"`
	// Namespaces maps a namespace kind to the path the init has it at, for
	// exec and for joining it from other containers.
	Namespaces map[string]string `json:"namespaces,omitempty"`
	// NoNewKeyring is create's --no-new-keyring: exec's processes then
	// keep the caller's session keyring too, instead of joining the
	// container's.
	NoNewKeyring bool `json:"no_new_keyring,omitempty"`
	// Started is set by start once the user process has been executed.
	Started bool `json:"started,omitempty"`
	// Config is the spec the container was created from, so that delete
	// can run poststop hooks even if the bundle changed or went away.
	Config Config `json:"config"`
}
