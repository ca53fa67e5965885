package nsenter

import (
	"encoding/binary"
	"strconv"
)

// FastExec is a process the constructor sets up and executes itself, after
// joining the container and forking (Request.FastExec), without starting the
// Go runtime: exec's common case. Its order of steps is the Go init's.
type FastExec struct {
	Args, Env   []string
	Cwd         string
	UID, GID    uint32
	Groups      []uint32
	Caps        *[5]uint64 // bounding, effective, permitted, inheritable, ambient; nil leaves them
	CapNames    []string   // capability names by number, for errors
	NoNewPrivs  bool
	Umask       *uint32
	OOMScoreAdj *int
	Rlimits     []Rlimit
	Seccomp     []byte // raw struct sock_filter entries
	SeccompFlag uint32
	PreserveFDs int
	// RootFD, when above 0, is a directory to chroot into first: the root
	// of a container without a mount namespace (see Container.execRoot).
	RootFD int
	// MakeCwd creates a missing Cwd, as create does (and exec does not).
	MakeCwd bool
	// Keyring, when set, is a session keyring to join first (exec's
	// process joins the container's).
	Keyring string
}

// Rlimit is one setrlimit(2) call.
type Rlimit struct {
	Resource   int
	Soft, Hard uint64
	Name       string // RLIMIT_NOFILE, for errors
}

// MaxGroups is how many additional gids the fast path takes.
const MaxGroups = 64

// Encode renders f as fastexec.c reads it: a u32 length, then records of a
// tag byte, a u32 length and the value, in native byte order; strings carry
// their NUL.
func (f *FastExec) Encode() []byte {
	var b []byte
	rec := func(tag byte, v []byte) {
		b = append(b, tag)
		b = binary.NativeEndian.AppendUint32(b, uint32(len(v)))
		b = append(b, v...)
	}
	str := func(tag byte, s string) { rec(tag, append([]byte(s), 0)) }
	for _, a := range f.Args {
		str('a', a)
	}
	for _, e := range f.Env {
		str('e', e)
	}
	if f.Cwd != "" {
		str('c', f.Cwd)
	}
	rec('u', binary.NativeEndian.AppendUint32(binary.NativeEndian.AppendUint32(nil, f.UID), f.GID))
	for _, g := range f.Groups {
		rec('g', binary.NativeEndian.AppendUint32(nil, g))
	}
	if f.Caps != nil {
		var v []byte
		for _, c := range f.Caps {
			v = binary.NativeEndian.AppendUint64(v, c)
		}
		rec('k', v)
	}
	if len(f.CapNames) > 0 {
		var v []byte
		for _, n := range f.CapNames {
			v = append(append(v, n...), 0)
		}
		rec('C', v)
	}
	if f.NoNewPrivs {
		rec('n', nil)
	}
	if f.Umask != nil {
		rec('m', binary.NativeEndian.AppendUint32(nil, *f.Umask))
	}
	if f.OOMScoreAdj != nil {
		str('o', strconv.Itoa(*f.OOMScoreAdj))
	}
	for _, r := range f.Rlimits {
		v := binary.NativeEndian.AppendUint32(nil, uint32(r.Resource))
		v = binary.NativeEndian.AppendUint64(v, r.Soft)
		v = binary.NativeEndian.AppendUint64(v, r.Hard)
		rec('r', append(append(v, r.Name...), 0))
	}
	if f.Seccomp != nil {
		rec('s', append(binary.NativeEndian.AppendUint32(nil, f.SeccompFlag), f.Seccomp...))
	}
	rec('f', binary.NativeEndian.AppendUint32(nil, uint32(f.PreserveFDs)))
	if f.Keyring != "" {
		str('K', f.Keyring)
	}
	if f.MakeCwd {
		rec('W', nil)
	}
	if f.RootFD > 0 {
		rec('R', binary.NativeEndian.AppendUint32(nil, uint32(f.RootFD)))
	}
	return append(binary.NativeEndian.AppendUint32(nil, uint32(len(b))), b...)
}
