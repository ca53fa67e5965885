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

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

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

// programMagic starts a program in its binary form, and changes with the
// layout.
const programMagic = "tupper-seccomp-program-1\n"

// MarshalBinary is the form programs are kept in on disk (the cache, and
// the container's copy for exec): the magic, the flags (8 bytes, little
// endian), notify (1 byte), the listener path and metadata (each a 4-byte
// length and the bytes), then the filter as it is. Decoding it costs next
// to nothing, where the JSON of a large profile's filter (base64 in a
// string) took a command a few hundred microseconds.
func (p *Program) MarshalBinary() ([]byte, error) {
	var b bytes.Buffer
	b.Grow(len(programMagic) + 17 + len(p.ListenerPath) + len(p.ListenerMetadata) + len(p.Filter))
	b.WriteString(programMagic)
	b.Write(binary.LittleEndian.AppendUint64(nil, uint64(p.Flags)))
	if p.Notify {
		b.WriteByte(1)
	} else {
		b.WriteByte(0)
	}
	for _, s := range []string{p.ListenerPath, p.ListenerMetadata} {
		b.Write(binary.LittleEndian.AppendUint32(nil, uint32(len(s))))
		b.WriteString(s)
	}
	b.Write(p.Filter)
	return b.Bytes(), nil
}

var errTorn = errors.New("truncated")

// ParseProgram decodes a program from its binary form (MarshalBinary),
// refusing one whose filter has no shape the kernel could load.
func ParseProgram(data []byte) (*Program, error) {
	rest, ok := bytes.CutPrefix(data, []byte(programMagic))
	if !ok {
		return nil, errors.New("seccomp program: not one (unknown header)")
	}
	if len(rest) < 9 {
		return nil, fmt.Errorf("seccomp program: %w", errTorn)
	}
	p := &Program{Flags: uint(binary.LittleEndian.Uint64(rest)), Notify: rest[8] == 1}
	rest = rest[9:]
	for _, s := range []*string{&p.ListenerPath, &p.ListenerMetadata} {
		if len(rest) < 4 {
			return nil, fmt.Errorf("seccomp program: %w", errTorn)
		}
		n := binary.LittleEndian.Uint32(rest)
		rest = rest[4:]
		if uint64(len(rest)) < uint64(n) {
			return nil, fmt.Errorf("seccomp program: %w", errTorn)
		}
		*s, rest = string(rest[:n]), rest[n:]
	}
	p.Filter = bytes.Clone(rest)
	if !p.valid() {
		return nil, fmt.Errorf("seccomp program: a filter of %d bytes is no BPF program", len(p.Filter))
	}
	return p, nil
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
