package seccomp

import (
	"encoding/binary"
	"fmt"
	"sort"

	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

// Syscalls newer than a profile must fail with ENOSYS, not with the
// profile's default errno: a libc that tries clone3 or openat2 and gets
// ENOSYS falls back to the old call, one that gets EPERM gives up. A
// syscall is "newer than the profile" when its number is above the
// highest number the profile names for that architecture, the same
// approximation runc makes (syscall numbers only grow).
//
// libseccomp cannot express "nr > N", so the stub is BPF of our own put
// in front of libseccomp's program:
//
//	for each architecture A of the filter, with highest number max[A]:
//	    ld  [arch];  jeq A ? next : (next architecture)
//	    ld  [nr]
//	    (x86_64 only) jge x32Bit ? x32 check : x86_64 check
//	    jgt max[A] ? enosys : program
//	ja program              (no architecture matched)
//	enosys: ret ERRNO(ENOSYS)
//	program: libseccomp's program, unchanged
//
// Everything the stub does not answer reaches libseccomp's program,
// which checks the architecture again, so the stub only ever turns a
// default action into ENOSYS.

// seccomp_data offsets (include/uapi/linux/seccomp.h).
const (
	offNr   = 0
	offArch = 4
)

// limits records, per architecture of the filter, the highest syscall
// number the profile names.
type limits struct {
	arches []archInfo
	max    map[libseccomp.ScmpArch]uint32
}

func newLimits(arches []archInfo) *limits {
	return &limits{arches: arches, max: map[libseccomp.ScmpArch]uint32{}}
}

// add counts name on every architecture of the filter. Negative numbers
// are libseccomp's pseudo syscalls (socket on x86 is multiplexed through
// socketcall): they have no number of their own to compare.
func (l *limits) add(name string) {
	for _, a := range l.arches {
		nr, err := libseccomp.GetSyscallFromNameByArch(name, a.scmp)
		if err != nil || int32(nr) < 0 {
			continue
		}
		if cur, ok := l.max[a.scmp]; !ok || uint32(nr) > cur {
			l.max[a.scmp] = uint32(nr)
		}
	}
}

// segment is a range of syscall numbers, from its lower bound up, that
// belongs to one architecture: x86_64 and x32 share AUDIT_ARCH_X86_64 and
// split the numbers at x32Bit.
type segment struct {
	from  uint32
	max   uint32
	known bool // false: the profile names nothing here, leave it to libseccomp
}

// stub returns, per AUDIT_ARCH value, its segments, highest first.
func (l *limits) stub() map[uint32][]segment {
	out := map[uint32][]segment{}
	seen := map[libseccomp.ScmpArch]bool{}
	for _, a := range l.arches {
		if seen[a.scmp] {
			continue
		}
		seen[a.scmp] = true
		max, known := l.max[a.scmp]
		from := uint32(0)
		if a.scmp == libseccomp.ArchX32 {
			from = x32Bit
		}
		out[a.audit] = append(out[a.audit], segment{from: from, max: max, known: known})
	}
	for audit, segs := range out {
		sort.Slice(segs, func(i, j int) bool { return segs[i].from > segs[j].from })
		if audit == unix.AUDIT_ARCH_X86_64 && segs[0].from == 0 {
			// x32 numbers are not in this filter: they stay libseccomp's.
			segs = append([]segment{{from: x32Bit}}, segs...)
		}
		out[audit] = segs
	}
	return out
}

// needsStub reports whether the default action is one that ENOSYS should
// replace. Allow, log and trace let the call reach the kernel, which
// answers ENOSYS itself for a syscall it lacks; ERRNO(ENOSYS) already is.
func needsStub(def libseccomp.ScmpAction) bool {
	switch def & 0xffff {
	case libseccomp.ActAllow, libseccomp.ActLog, libseccomp.ActTrace:
		return false
	case libseccomp.ActErrno:
		return def.GetReturnCode() != int16(unix.ENOSYS)
	}
	return true
}

// insn is one struct sock_filter; jt and jf are label numbers until
// assemble resolves them.
type insn struct {
	code   uint16
	jt, jf int
	k      uint32
}

const (
	ldAbs = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
	jeq   = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
	jgt   = unix.BPF_JMP | unix.BPF_JGT | unix.BPF_K
	jge   = unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K
	ja    = unix.BPF_JMP | unix.BPF_JA
	ret   = unix.BPF_RET | unix.BPF_K
)

// Labels: a jump target is the next instruction, the instruction after
// that, the ENOSYS return, the start of libseccomp's program, or the
// start of the next architecture's block.
const (
	next = iota
	skip1
	toEnosys
	toProgram
	toNextArch
)

// prependStub puts the ENOSYS stub for segs in front of prog.
func prependStub(prog []byte, segs map[uint32][]segment) ([]byte, error) {
	audits := make([]uint32, 0, len(segs))
	for a := range segs {
		audits = append(audits, a)
	}
	sort.Slice(audits, func(i, j int) bool { return audits[i] < audits[j] })
	var blocks [][]insn
	for _, audit := range audits {
		if b := archBlock(audit, segs[audit]); b != nil {
			blocks = append(blocks, b)
		}
	}
	if len(blocks) == 0 {
		return prog, nil
	}
	stub, err := assemble(blocks)
	if err != nil {
		return nil, err
	}
	if n := (len(stub) + len(prog)) / sockFilterSize; n > maxInsns {
		return nil, fmt.Errorf("filter of %d instructions: the kernel takes at most %d", n, maxInsns)
	}
	return append(stub, prog...), nil
}

// archBlock is the stub's part for one AUDIT_ARCH value, nil when the
// profile names no syscall there.
func archBlock(audit uint32, segs []segment) []insn {
	anyKnown := false
	for _, s := range segs {
		anyKnown = anyKnown || s.known
	}
	if !anyKnown {
		return nil
	}
	b := []insn{
		{code: ldAbs, k: offArch},
		{code: jeq, k: audit, jt: next, jf: toNextArch},
		{code: ldAbs, k: offNr},
	}
	for i, s := range segs {
		if i < len(segs)-1 {
			// Not the lowest segment: its check applies from s.from up.
			b = append(b, insn{code: jge, k: s.from, jt: next, jf: skip1})
		}
		if s.known {
			b = append(b, insn{code: jgt, k: s.max, jt: toEnosys, jf: toProgram})
		} else {
			b = append(b, insn{code: ja, jt: toProgram})
		}
	}
	return b
}

// assemble lays the blocks out, then the fall-through jump to the
// program and the ENOSYS return, and resolves the labels.
func assemble(blocks [][]insn) ([]byte, error) {
	starts := make([]int, len(blocks)+1)
	for i, b := range blocks {
		starts[i+1] = starts[i] + len(b)
	}
	fallthroughAt := starts[len(blocks)]
	enosysAt, programAt := fallthroughAt+1, fallthroughAt+2
	var out []byte
	for bi, b := range blocks {
		for j, in := range b {
			pc := starts[bi] + j
			target := func(l int) int {
				switch l {
				case skip1:
					return pc + 2
				case toEnosys:
					return enosysAt
				case toProgram:
					return programAt
				case toNextArch:
					return starts[bi+1]
				}
				return pc + 1
			}
			var jt, jf, k uint32 = 0, 0, in.k
			if in.code == ja {
				k = uint32(target(in.jt) - pc - 1)
			} else if in.code&0x07 == unix.BPF_JMP {
				jt, jf = uint32(target(in.jt)-pc-1), uint32(target(in.jf)-pc-1)
				if jt > 0xff || jf > 0xff {
					return nil, fmt.Errorf("enosys stub: jump too far at %d", pc)
				}
			}
			out = appendInsn(out, in.code, uint8(jt), uint8(jf), k)
		}
	}
	out = appendInsn(out, ja, 0, 0, 1) // over the ENOSYS return
	out = appendInsn(out, ret, 0, 0, unix.SECCOMP_RET_ERRNO|uint32(unix.ENOSYS))
	return out, nil
}

// appendInsn encodes a struct sock_filter in the machine's byte order,
// the order libseccomp exported its program in.
func appendInsn(b []byte, code uint16, jt, jf uint8, k uint32) []byte {
	b = binary.NativeEndian.AppendUint16(b, code)
	b = append(b, jt, jf)
	return binary.NativeEndian.AppendUint32(b, k)
}
