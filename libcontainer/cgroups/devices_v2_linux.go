package cgroups

import (
	"encoding/binary"
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// cgroup v2 has no devices.allow: device access is decided by an eBPF
// program of type BPF_PROG_TYPE_CGROUP_DEVICE attached to the cgroup. The
// kernel runs it on every open and mknod of a device node with
//
//	struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; };
//
// where access_type is (access << 16) | type. It returns 1 to allow.
//
// The program checks the rules from the last to the first and the first
// match decides, which gives the v1 meaning of an ordered allow/deny list
// (deny everything, then exceptions). An allow rule matches when it grants
// every access asked for, a deny rule when it denies any of them.

// bpf_devcg_dev_type and bpf_devcg_acc_type of linux/bpf.h.
const (
	devBlock = 1
	devChar  = 2
	accMknod = 1
	accRead  = 2
	accWrite = 4
	accAll   = accMknod | accRead | accWrite
)

// insn is one eBPF instruction (struct bpf_insn).
type insn struct {
	code     uint8
	dst, src uint8
	off      int16
	imm      int32
}

// Opcodes used below (linux/bpf_common.h, linux/bpf.h).
const (
	opLdxMemW  = 0x61 // dst = *(u32 *)(src + off)
	opAndImm   = 0x54 // dst &= imm (32 bit)
	opRshImm   = 0x74 // dst >>= imm (32 bit)
	opMovReg   = 0xbc // dst = src (32 bit)
	opMovImm64 = 0xb7 // dst = imm
	opJneImm   = 0x55 // if dst != imm goto +off
	opJeqImm   = 0x15 // if dst == imm goto +off
	opExit     = 0x95
)

// Registers: r1 holds the context; the rest are loaded from it.
const (
	rRet, rCtx, rType, rAccess, rMajor, rMinor, rTmp = 0, 1, 2, 3, 4, 5, 6
)

// deviceProgram compiles rules into the program's instructions.
func deviceProgram(rules []specs.LinuxDeviceCgroup) ([]insn, error) {
	prog := []insn{
		{code: opLdxMemW, dst: rType, src: rCtx, off: 0},
		{code: opAndImm, dst: rType, imm: 0xffff},
		{code: opLdxMemW, dst: rAccess, src: rCtx, off: 0},
		{code: opRshImm, dst: rAccess, imm: 16},
		{code: opLdxMemW, dst: rMajor, src: rCtx, off: 4},
		{code: opLdxMemW, dst: rMinor, src: rCtx, off: 8},
	}
	for i := len(rules) - 1; i >= 0; i-- {
		block, catchAll, err := ruleBlock(rules[i])
		if err != nil {
			return nil, err
		}
		prog = append(prog, block...)
		if catchAll {
			// The verifier refuses unreachable instructions: a rule
			// that matches everything ends the program.
			return prog, nil
		}
	}
	return append(prog, insn{code: opMovImm64, dst: rRet, imm: 0}, insn{code: opExit}), nil
}

// ruleBlock is the code of one rule: tests that jump past the block when
// the device or access does not match, then "return allow". catchAll
// reports a block without tests.
func ruleBlock(r specs.LinuxDeviceCgroup) (_ []insn, catchAll bool, _ error) {
	acc, err := accessBits(r.Access)
	if err != nil {
		return nil, false, err
	}
	var tests []insn // each jumps to the end of the block when it fails
	switch r.Type {
	case "", "a":
	case "c":
		tests = append(tests, insn{code: opJneImm, dst: rType, imm: devChar})
	case "b":
		tests = append(tests, insn{code: opJneImm, dst: rType, imm: devBlock})
	default:
		return nil, false, fmt.Errorf("type %q: want a, b or c", r.Type)
	}
	if r.Major != nil && *r.Major >= 0 {
		tests = append(tests, insn{code: opJneImm, dst: rMajor, imm: int32(*r.Major)})
	}
	if r.Minor != nil && *r.Minor >= 0 {
		tests = append(tests, insn{code: opJneImm, dst: rMinor, imm: int32(*r.Minor)})
	}
	if acc != accAll {
		tests = append(tests, insn{code: opMovReg, dst: rTmp, src: rAccess})
		if r.Allow {
			// Every access asked for must be granted: access & ^acc == 0.
			tests = append(tests,
				insn{code: opAndImm, dst: rTmp, imm: int32(^acc & accAll)},
				insn{code: opJneImm, dst: rTmp, imm: 0})
		} else {
			// Any access asked for that is denied: access & acc != 0.
			tests = append(tests,
				insn{code: opAndImm, dst: rTmp, imm: int32(acc)},
				insn{code: opJeqImm, dst: rTmp, imm: 0})
		}
	}
	ret := int32(0)
	if r.Allow {
		ret = 1
	}
	block := append(tests, insn{code: opMovImm64, dst: rRet, imm: ret}, insn{code: opExit})
	for i := range tests {
		if tests[i].code == opJneImm || tests[i].code == opJeqImm {
			block[i].off = int16(len(block) - i - 1)
		}
	}
	return block, len(tests) == 0, nil
}

func accessBits(access string) (uint32, error) {
	if access == "" {
		return accAll, nil
	}
	var acc uint32
	for _, c := range access {
		switch c {
		case 'r':
			acc |= accRead
		case 'w':
			acc |= accWrite
		case 'm':
			acc |= accMknod
		default:
			return 0, fmt.Errorf("access %q: want letters of rwm", access)
		}
	}
	return acc, nil
}

// encode lays the instructions out as the kernel reads them on a
// little-endian host (dst_reg is the low nibble of the second byte).
func encode(prog []insn) []byte {
	b := make([]byte, 0, 8*len(prog))
	for _, in := range prog {
		b = append(b, in.code, in.dst|in.src<<4)
		b = binary.LittleEndian.AppendUint16(b, uint16(in.off))
		b = binary.LittleEndian.AppendUint32(b, uint32(in.imm))
	}
	return b
}

// setDevices attaches the program for deviceRules(r) to the cgroup,
// replacing the one a previous Set attached.
func (m *v2Manager) setDevices(r *specs.LinuxResources) error {
	if err := checkDevices(r); err != nil {
		return err
	}
	prog, err := deviceProgram(deviceRules(r))
	if err != nil {
		return fieldError("devices", err)
	}
	if m.attachDevices == nil {
		return fieldError("devices", attachDeviceProgram(m.dir, encode(prog)))
	}
	return fieldError("devices", m.attachDevices(m.dir, prog))
}
