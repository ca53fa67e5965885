// Package seccomp turns linux.seccomp into a BPF program and loads it.
//
// It owns the whole of seccomp: compiling a profile with libseccomp,
// the ENOSYS stub put in front of the compiled program, the cache of
// compiled programs, loading with seccomp(2), and handing a notify
// listener to a seccomp agent. When in the lifecycle each step runs is
// the container package's business.
//
// Compilation happens in the runtime, at create, and its result is cached
// by the profile's hash, so a repeated profile costs nothing: a cache hit
// does not call libseccomp. The init only loads the finished program with
// seccomp(2); libseccomp is never used at load time.
package seccomp

// Program is a compiled filter, ready to load.
type Program struct {
	// Filter is the BPF program as struct sock_filter entries, raw.
	Filter []byte `json:"filter"`
	// Flags are SECCOMP_FILTER_FLAG_* for seccomp(SECCOMP_SET_MODE_FILTER).
	Flags uint `json:"flags,omitempty"`
	// Notify is set when an action is SCMP_ACT_NOTIFY: Load returns the
	// listener fd, which goes to ListenerPath with ListenerMetadata.
	Notify           bool   `json:"notify,omitempty"`
	ListenerPath     string `json:"listener_path,omitempty"`
	ListenerMetadata string `json:"listener_metadata,omitempty"`
}

// sockFilterSize is sizeof(struct sock_filter): the unit of Filter.
const sockFilterSize = 8

// maxInsns is BPF_MAXINSNS, the longest program the kernel accepts.
const maxInsns = 4096

// valid reports whether p's filter has a shape the kernel could accept;
// it guards the cache against a torn or foreign file.
func (p *Program) valid() bool {
	n := len(p.Filter)
	return n > 0 && n%sockFilterSize == 0 && n/sockFilterSize <= maxInsns
}
