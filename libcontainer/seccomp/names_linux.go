package seccomp

import (
	"errors"
	"fmt"
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

// The tables below translate the spec's names; they are never written.

var actions = map[specs.LinuxSeccompAction]libseccomp.ScmpAction{
	specs.ActKill:        libseccomp.ActKillThread, // SCMP_ACT_KILL is the thread, as in libseccomp
	specs.ActKillThread:  libseccomp.ActKillThread,
	specs.ActKillProcess: libseccomp.ActKillProcess,
	specs.ActTrap:        libseccomp.ActTrap,
	specs.ActErrno:       libseccomp.ActErrno,
	specs.ActTrace:       libseccomp.ActTrace,
	specs.ActAllow:       libseccomp.ActAllow,
	specs.ActLog:         libseccomp.ActLog,
	specs.ActNotify:      libseccomp.ActNotify,
}

var operators = map[specs.LinuxSeccompOperator]libseccomp.ScmpCompareOp{
	specs.OpNotEqual:     libseccomp.CompareNotEqual,
	specs.OpLessThan:     libseccomp.CompareLess,
	specs.OpLessEqual:    libseccomp.CompareLessOrEqual,
	specs.OpEqualTo:      libseccomp.CompareEqual,
	specs.OpGreaterEqual: libseccomp.CompareGreaterEqual,
	specs.OpGreaterThan:  libseccomp.CompareGreater,
	specs.OpMaskedEqual:  libseccomp.CompareMaskedEqual,
}

// filterFlags maps linux.seccomp.flags to seccomp(2) flags. TSYNC is
// accepted and dropped: the filter goes on the one thread that execs, so
// there is nothing to synchronise, and the kernel refuses TSYNC together
// with NEW_LISTENER.
var filterFlags = map[specs.LinuxSeccompFlag]uint{
	specs.LinuxSeccompFlagLog:              unix.SECCOMP_FILTER_FLAG_LOG,
	specs.LinuxSeccompFlagSpecAllow:        unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW,
	specs.LinuxSeccompFlagWaitKillableRecv: unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
	"SECCOMP_FILTER_FLAG_TSYNC":            0,
}

// archInfo is an architecture as libseccomp names it and as the kernel
// reports it in seccomp_data.arch.
type archInfo struct {
	scmp  libseccomp.ScmpArch
	audit uint32
}

var arches = map[specs.Arch]archInfo{
	specs.ArchX86:         {libseccomp.ArchX86, unix.AUDIT_ARCH_I386},
	specs.ArchX86_64:      {libseccomp.ArchAMD64, unix.AUDIT_ARCH_X86_64},
	specs.ArchX32:         {libseccomp.ArchX32, unix.AUDIT_ARCH_X86_64}, // numbers carry x32Bit
	specs.ArchARM:         {libseccomp.ArchARM, unix.AUDIT_ARCH_ARM},
	specs.ArchAARCH64:     {libseccomp.ArchARM64, unix.AUDIT_ARCH_AARCH64},
	specs.ArchMIPS:        {libseccomp.ArchMIPS, unix.AUDIT_ARCH_MIPS},
	specs.ArchMIPS64:      {libseccomp.ArchMIPS64, unix.AUDIT_ARCH_MIPS64},
	specs.ArchMIPS64N32:   {libseccomp.ArchMIPS64N32, unix.AUDIT_ARCH_MIPS64N32},
	specs.ArchMIPSEL:      {libseccomp.ArchMIPSEL, unix.AUDIT_ARCH_MIPSEL},
	specs.ArchMIPSEL64:    {libseccomp.ArchMIPSEL64, unix.AUDIT_ARCH_MIPSEL64},
	specs.ArchMIPSEL64N32: {libseccomp.ArchMIPSEL64N32, unix.AUDIT_ARCH_MIPSEL64N32},
	specs.ArchPPC:         {libseccomp.ArchPPC, unix.AUDIT_ARCH_PPC},
	specs.ArchPPC64:       {libseccomp.ArchPPC64, unix.AUDIT_ARCH_PPC64},
	specs.ArchPPC64LE:     {libseccomp.ArchPPC64LE, unix.AUDIT_ARCH_PPC64LE},
	specs.ArchS390:        {libseccomp.ArchS390, unix.AUDIT_ARCH_S390},
	specs.ArchS390X:       {libseccomp.ArchS390X, unix.AUDIT_ARCH_S390X},
	specs.ArchPARISC:      {libseccomp.ArchPARISC, unix.AUDIT_ARCH_PARISC},
	specs.ArchPARISC64:    {libseccomp.ArchPARISC64, unix.AUDIT_ARCH_PARISC64},
	specs.ArchRISCV64:     {libseccomp.ArchRISCV64, unix.AUDIT_ARCH_RISCV64},
	specs.ArchLOONGARCH64: {libseccomp.ArchLOONGARCH64, unix.AUDIT_ARCH_LOONGARCH64},
	specs.ArchM68K:        {libseccomp.ArchM68K, unix.AUDIT_ARCH_M68K},
	specs.ArchSH:          {libseccomp.ArchSH, unix.AUDIT_ARCH_SHEL}, // libseccomp's "sh" is little-endian
	specs.ArchSHEB:        {libseccomp.ArchSHEB, unix.AUDIT_ARCH_SH},
}

// x32Bit marks an x32 syscall number; x32 shares AUDIT_ARCH_X86_64.
const x32Bit = 0x40000000

// nativeArch finds the kernel's architecture in the table.
func nativeArch() (archInfo, error) {
	n, err := libseccomp.GetNativeArch()
	if err != nil {
		return archInfo{}, fmt.Errorf("native architecture: %w", err)
	}
	for _, a := range arches {
		if a.scmp == n {
			return a, nil
		}
	}
	return archInfo{}, fmt.Errorf("native architecture %s: not supported", n)
}

// maxErrno is the kernel's MAX_ERRNO: SECCOMP_RET_ERRNO data is capped there.
const maxErrno = 4095

// withErrno gives an ERRNO or TRACE action its errnoRet, EPERM when there
// is none. "When the action doesn't support an errno, the runtime MUST
// print and error and fail." -runtime-spec config-linux.md
func withErrno(a libseccomp.ScmpAction, errnoRet *uint) (libseccomp.ScmpAction, error) {
	if a != libseccomp.ActErrno && a != libseccomp.ActTrace {
		if errnoRet != nil {
			return 0, errors.New("only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take an errno")
		}
		return a, nil
	}
	code := uint(unix.EPERM)
	if errnoRet != nil {
		code = *errnoRet
	}
	if a == libseccomp.ActErrno && code > maxErrno || code > 0xffff {
		return 0, fmt.Errorf("%d: out of range", code)
	}
	return a.SetReturnCode(int16(code)), nil
}

// Supported lists, sorted, what Compile takes, for the features document.
func Supported() (actionNames, operatorNames, archNames, flagNames []string) {
	for a := range actions {
		actionNames = append(actionNames, string(a))
	}
	for o := range operators {
		operatorNames = append(operatorNames, string(o))
	}
	for a := range arches {
		archNames = append(archNames, string(a))
	}
	for f := range filterFlags {
		flagNames = append(flagNames, string(f))
	}
	for _, l := range [][]string{actionNames, operatorNames, archNames, flagNames} {
		slices.Sort(l)
	}
	return actionNames, operatorNames, archNames, flagNames
}
