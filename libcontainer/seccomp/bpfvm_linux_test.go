package seccomp

import (
	"encoding/binary"
	"fmt"

	"golang.org/x/sys/unix"
)

// seccompData is struct seccomp_data, what a filter sees of a syscall.
type seccompData struct {
	nr   int32
	arch uint32
	args [6]uint64
}

func (d seccompData) bytes() []byte {
	b := make([]byte, 64)
	binary.NativeEndian.PutUint32(b[0:], uint32(d.nr))
	binary.NativeEndian.PutUint32(b[4:], d.arch)
	for i, a := range d.args {
		binary.NativeEndian.PutUint64(b[16+8*i:], a)
	}
	return b
}

// runBPF interprets a classic BPF program the way the kernel runs a
// seccomp filter, so tests can check what a compiled profile answers
// without loading it.
func runBPF(prog []byte, d seccompData) (uint32, error) {
	data := d.bytes()
	n := len(prog) / sockFilterSize
	var a, x uint32
	var mem [16]uint32
	for pc := 0; pc < n; pc++ {
		in := prog[pc*sockFilterSize:]
		code := binary.NativeEndian.Uint16(in)
		jt, jf := int(in[2]), int(in[3])
		k := binary.NativeEndian.Uint32(in[4:])
		src := k
		if code&unix.BPF_X != 0 {
			src = x
		}
		switch code & 0x07 {
		case unix.BPF_LD:
			switch code & 0xe0 {
			case unix.BPF_ABS:
				if code&0x18 != unix.BPF_W || k%4 != 0 || int(k)+4 > len(data) {
					return 0, fmt.Errorf("pc %d: bad load %#x k=%d", pc, code, k)
				}
				a = binary.NativeEndian.Uint32(data[k:])
			case unix.BPF_IMM:
				a = k
			case unix.BPF_MEM:
				a = mem[k%16]
			case unix.BPF_LEN:
				a = uint32(len(data))
			default:
				return 0, fmt.Errorf("pc %d: bad ld %#x", pc, code)
			}
		case unix.BPF_LDX:
			switch code & 0xe0 {
			case unix.BPF_IMM:
				x = k
			case unix.BPF_MEM:
				x = mem[k%16]
			case unix.BPF_LEN:
				x = uint32(len(data))
			default:
				return 0, fmt.Errorf("pc %d: bad ldx %#x", pc, code)
			}
		case unix.BPF_ST:
			mem[k%16] = a
		case unix.BPF_STX:
			mem[k%16] = x
		case unix.BPF_ALU:
			switch code & 0xf0 {
			case unix.BPF_ADD:
				a += src
			case unix.BPF_SUB:
				a -= src
			case unix.BPF_MUL:
				a *= src
			case unix.BPF_DIV:
				if src == 0 {
					return 0, nil
				}
				a /= src
			case unix.BPF_MOD:
				if src == 0 {
					return 0, nil
				}
				a %= src
			case unix.BPF_OR:
				a |= src
			case unix.BPF_AND:
				a &= src
			case unix.BPF_XOR:
				a ^= src
			case unix.BPF_LSH:
				a <<= src
			case unix.BPF_RSH:
				a >>= src
			case unix.BPF_NEG:
				a = -a
			default:
				return 0, fmt.Errorf("pc %d: bad alu %#x", pc, code)
			}
		case unix.BPF_JMP:
			var cond bool
			switch code & 0xf0 {
			case unix.BPF_JA:
				pc += int(k)
				continue
			case unix.BPF_JEQ:
				cond = a == src
			case unix.BPF_JGT:
				cond = a > src
			case unix.BPF_JGE:
				cond = a >= src
			case unix.BPF_JSET:
				cond = a&src != 0
			default:
				return 0, fmt.Errorf("pc %d: bad jmp %#x", pc, code)
			}
			if cond {
				pc += jt
			} else {
				pc += jf
			}
		case unix.BPF_RET:
			if code&0x18 == unix.BPF_A {
				return a, nil
			}
			return k, nil
		case unix.BPF_MISC:
			if code&0xf8 == unix.BPF_TXA {
				a = x
			} else {
				x = a
			}
		}
	}
	return 0, fmt.Errorf("fell off the end of a %d-instruction program", n)
}
