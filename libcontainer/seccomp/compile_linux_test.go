package seccomp

import (
	"runtime"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

func errno(n uint) *uint { return &n }

func TestCompileErrors(t *testing.T) {
	allow := specs.LinuxSeccompAction(specs.ActAllow)
	for _, tt := range []struct {
		name string
		s    specs.LinuxSeccomp
		want string
	}{
		{"default action", specs.LinuxSeccomp{DefaultAction: "SCMP_ACT_FOO"},
			`linux.seccomp.defaultAction "SCMP_ACT_FOO": unknown action`},
		{"no default action", specs.LinuxSeccomp{},
			`linux.seccomp.defaultAction "": unknown action`},
		{"notify as default", specs.LinuxSeccomp{DefaultAction: specs.ActNotify, ListenerPath: "/x"},
			`linux.seccomp.defaultAction "SCMP_ACT_NOTIFY": cannot be the default action`},
		{"default errno on allow", specs.LinuxSeccomp{DefaultAction: allow, DefaultErrnoRet: errno(1)},
			"linux.seccomp.defaultErrnoRet: only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take an errno"},
		{"default errno too big", specs.LinuxSeccomp{DefaultAction: specs.ActErrno, DefaultErrnoRet: errno(4096)},
			"linux.seccomp.defaultErrnoRet: 4096: out of range"},
		{"architecture", specs.LinuxSeccomp{DefaultAction: allow, Architectures: []specs.Arch{specs.ArchX86_64, "SCMP_ARCH_VAX"}},
			`linux.seccomp.architectures[1] "SCMP_ARCH_VAX": unknown architecture`},
		{"flag", specs.LinuxSeccomp{DefaultAction: allow, Flags: []specs.LinuxSeccompFlag{specs.LinuxSeccompFlagLog, "SECCOMP_FILTER_FLAG_FOO"}},
			`linux.seccomp.flags[1] "SECCOMP_FILTER_FLAG_FOO": unknown flag`},
		{"syscall action", specs.LinuxSeccomp{DefaultAction: allow, Syscalls: []specs.LinuxSyscall{
			{Names: []string{"getpid"}, Action: specs.ActErrno},
			{Names: []string{"getppid"}, Action: specs.ActLog},
			{Names: []string{"uname"}, Action: "SCMP_ACT_FOO"},
		}}, `linux.seccomp.syscalls[2].action "SCMP_ACT_FOO": unknown action`},
		{"syscall errnoRet on kill", specs.LinuxSeccomp{DefaultAction: allow, Syscalls: []specs.LinuxSyscall{
			{Names: []string{"getpid"}, Action: specs.ActKill, ErrnoRet: errno(1)},
		}}, "linux.seccomp.syscalls[0].errnoRet: only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take an errno"},
		{"operator", specs.LinuxSeccomp{DefaultAction: allow, Syscalls: []specs.LinuxSyscall{
			{Names: []string{"personality"}, Action: specs.ActErrno, Args: []specs.LinuxSeccompArg{
				{Index: 0, Value: 1, Op: specs.OpEqualTo}, {Index: 1, Value: 1, Op: "SCMP_CMP_LIKE"},
			}},
		}}, `linux.seccomp.syscalls[0].args[1].op "SCMP_CMP_LIKE": unknown operator`},
		{"argument index", specs.LinuxSeccomp{DefaultAction: allow, Syscalls: []specs.LinuxSyscall{
			{Names: []string{"personality"}, Action: specs.ActErrno, Args: []specs.LinuxSeccompArg{{Index: 6, Op: specs.OpEqualTo}}},
		}}, "linux.seccomp.syscalls[0].args[0].index 6: a syscall has arguments 0 to 5"},
		{"no names", specs.LinuxSeccomp{DefaultAction: allow, Syscalls: []specs.LinuxSyscall{{Action: specs.ActErrno}}},
			"linux.seccomp.syscalls[0].names: empty"},
		{"notify without listener", specs.LinuxSeccomp{DefaultAction: allow, Syscalls: []specs.LinuxSyscall{
			{Names: []string{"mkdir"}, Action: specs.ActNotify},
		}}, "linux.seccomp.listenerPath: required by SCMP_ACT_NOTIFY"},
		{"notify sendmsg", specs.LinuxSeccomp{DefaultAction: allow, ListenerPath: "/x", Syscalls: []specs.LinuxSyscall{
			{Names: []string{"mkdir", "sendmsg"}, Action: specs.ActNotify},
		}}, `linux.seccomp.syscalls[0].names[1] "sendmsg": SCMP_ACT_NOTIFY would deadlock`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Compile(&tt.s, "")
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("Compile = %v, %v; want error %q", p, err, tt.want)
			}
		})
	}
}

func TestCompileNil(t *testing.T) {
	p, err := Compile(nil, t.TempDir())
	if p != nil || err != nil {
		t.Fatalf("Compile(nil) = %v, %v; want nil, nil", p, err)
	}
}

func TestCompileFlags(t *testing.T) {
	notify := []specs.LinuxSyscall{{Names: []string{"mkdir"}, Action: specs.ActNotify}}
	for _, tt := range []struct {
		name     string
		flags    []specs.LinuxSeccompFlag
		syscalls []specs.LinuxSyscall
		want     uint
	}{
		{"none", nil, nil, 0},
		{"log and spec allow", []specs.LinuxSeccompFlag{specs.LinuxSeccompFlagLog, specs.LinuxSeccompFlagSpecAllow}, nil,
			unix.SECCOMP_FILTER_FLAG_LOG | unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW},
		{"tsync accepted", []specs.LinuxSeccompFlag{"SECCOMP_FILTER_FLAG_TSYNC"}, nil, 0},
		{"wait killable without listener", []specs.LinuxSeccompFlag{specs.LinuxSeccompFlagWaitKillableRecv}, nil, 0},
		{"wait killable with listener", []specs.LinuxSeccompFlag{specs.LinuxSeccompFlagWaitKillableRecv}, notify,
			unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Flags: tt.flags, Syscalls: tt.syscalls,
				ListenerPath: "/run/agent.sock", ListenerMetadata: "meta"}
			p, err := Compile(s, "")
			if err != nil {
				t.Fatal(err)
			}
			if p.Flags != tt.want {
				t.Errorf("Flags = %#x, want %#x", p.Flags, tt.want)
			}
			if p.Notify != (tt.syscalls != nil) {
				t.Errorf("Notify = %v", p.Notify)
			}
			if p.ListenerPath != "/run/agent.sock" || p.ListenerMetadata != "meta" {
				t.Errorf("listener = %q %q", p.ListenerPath, p.ListenerMetadata)
			}
		})
	}
}

// syscallNr is name's number on the native architecture.
func syscallNr(t *testing.T, name string) int32 {
	t.Helper()
	nr, err := libseccomp.GetSyscallFromName(name)
	if err != nil || int32(nr) < 0 {
		t.Fatalf("syscall %s: %v (%d)", name, err, int32(nr))
	}
	return int32(nr)
}

func nativeAudit(t *testing.T) uint32 {
	t.Helper()
	a, err := nativeArch()
	if err != nil {
		t.Fatal(err)
	}
	return a.audit
}

// probe is one syscall put to a compiled filter and the answer expected.
type probe struct {
	name string // syscall on the native architecture, or
	nr   int32  // a raw number when name is empty
	arch uint32 // 0: native
	args [6]uint64
	want uint32
}

func checkProbes(t *testing.T, prog []byte, probes []probe) {
	t.Helper()
	for _, pr := range probes {
		d := seccompData{nr: pr.nr, arch: pr.arch, args: pr.args}
		if pr.name != "" {
			d.nr = syscallNr(t, pr.name)
		}
		if d.arch == 0 {
			d.arch = nativeAudit(t)
		}
		got, err := runBPF(prog, d)
		if err != nil {
			t.Fatal(err)
		}
		if got != pr.want {
			t.Errorf("%s (nr %d arch %#x args %v) = %#x, want %#x", pr.name, d.nr, d.arch, pr.args, got, pr.want)
		}
	}
}

const (
	retAllow  = unix.SECCOMP_RET_ALLOW
	retKill   = unix.SECCOMP_RET_KILL_THREAD
	retEPERM  = unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)
	retENOSYS = unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)
)

// TestCompileSemantics runs compiled profiles in a BPF interpreter.
func TestCompileSemantics(t *testing.T) {
	per := func(v uint64) [6]uint64 { return [6]uint64{v} }
	errnoDefault := specs.LinuxSeccompAction(specs.ActErrno)
	for _, tt := range []struct {
		name   string
		s      specs.LinuxSeccomp
		probes []probe
	}{
		{"every action", specs.LinuxSeccomp{DefaultAction: specs.ActAllow, ListenerPath: "/x", Syscalls: []specs.LinuxSyscall{
			{Names: []string{"getpid"}, Action: specs.ActKill},
			{Names: []string{"getppid"}, Action: specs.ActKillProcess},
			{Names: []string{"getuid"}, Action: specs.ActKillThread},
			{Names: []string{"getgid"}, Action: specs.ActTrap},
			{Names: []string{"geteuid"}, Action: specs.ActErrno, ErrnoRet: errno(uint(unix.EACCES))},
			{Names: []string{"getegid"}, Action: specs.ActErrno},
			{Names: []string{"gettid"}, Action: specs.ActTrace, ErrnoRet: errno(7)},
			{Names: []string{"uname"}, Action: specs.ActLog},
			{Names: []string{"mkdirat"}, Action: specs.ActNotify},
			{Names: []string{"sync"}, Action: specs.ActAllow}, // same as the default: nothing to add
		}}, []probe{
			{name: "getpid", want: retKill},
			{name: "getppid", want: unix.SECCOMP_RET_KILL_PROCESS},
			{name: "getuid", want: retKill},
			{name: "getgid", want: unix.SECCOMP_RET_TRAP},
			{name: "geteuid", want: unix.SECCOMP_RET_ERRNO | uint32(unix.EACCES)},
			{name: "getegid", want: retEPERM},
			{name: "gettid", want: unix.SECCOMP_RET_TRACE | 7},
			{name: "uname", want: unix.SECCOMP_RET_LOG},
			{name: "mkdirat", want: unix.SECCOMP_RET_USER_NOTIF},
			{name: "sync", want: retAllow},
			{nr: 5000, want: retAllow}, // default allow: no ENOSYS stub
		}},
		{"default errno and ENOSYS above the profile", specs.LinuxSeccomp{
			DefaultAction: errnoDefault, DefaultErrnoRet: errno(uint(unix.EACCES)),
			Syscalls: []specs.LinuxSyscall{
				{Names: []string{"getpid", "not_a_syscall_at_all"}, Action: specs.ActAllow},
				{Names: []string{"openat"}, Action: specs.ActErrno, ErrnoRet: errno(uint(unix.EACCES))}, // = default
			},
		}, []probe{
			{name: "getpid", want: retAllow},
			{name: "getppid", want: unix.SECCOMP_RET_ERRNO | uint32(unix.EACCES)}, // below the highest: default
			{name: "openat", want: unix.SECCOMP_RET_ERRNO | uint32(unix.EACCES)},
			{nr: syscallNr(t, "openat") + 1, want: retENOSYS},
			{nr: 4000, want: retENOSYS},
			{arch: unix.AUDIT_ARCH_S390X, nr: 4000, want: retKill}, // not in the filter: libseccomp's bad-arch kill
		}},
		{"default ENOSYS needs no stub", specs.LinuxSeccomp{
			DefaultAction: errnoDefault, DefaultErrnoRet: errno(uint(unix.ENOSYS)),
			Syscalls: []specs.LinuxSyscall{{Names: []string{"getpid"}, Action: specs.ActAllow}},
		}, []probe{
			{name: "getpid", want: retAllow},
			{name: "getppid", want: retENOSYS},
		}},
		{"default kill gets the stub too", specs.LinuxSeccomp{
			DefaultAction: specs.ActKillProcess,
			Syscalls:      []specs.LinuxSyscall{{Names: []string{"getpid", "close_range"}, Action: specs.ActAllow}},
		}, []probe{
			{name: "getpid", want: retAllow},
			{name: "getppid", want: unix.SECCOMP_RET_KILL_PROCESS},
			{nr: 4000, want: retENOSYS},
		}},
		{"operators", specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{
			{Names: []string{"personality"}, Action: specs.ActErrno, ErrnoRet: errno(1), Args: []specs.LinuxSeccompArg{{Index: 0, Value: 10, Op: specs.OpNotEqual}}},
			{Names: []string{"getpriority"}, Action: specs.ActErrno, ErrnoRet: errno(2), Args: []specs.LinuxSeccompArg{{Index: 1, Value: 10, Op: specs.OpLessThan}}},
			{Names: []string{"setpriority"}, Action: specs.ActErrno, ErrnoRet: errno(3), Args: []specs.LinuxSeccompArg{{Index: 2, Value: 10, Op: specs.OpLessEqual}}},
			{Names: []string{"kill"}, Action: specs.ActErrno, ErrnoRet: errno(4), Args: []specs.LinuxSeccompArg{{Index: 1, Value: 10, Op: specs.OpEqualTo}}},
			{Names: []string{"tkill"}, Action: specs.ActErrno, ErrnoRet: errno(5), Args: []specs.LinuxSeccompArg{{Index: 1, Value: 10, Op: specs.OpGreaterEqual}}},
			{Names: []string{"tgkill"}, Action: specs.ActErrno, ErrnoRet: errno(6), Args: []specs.LinuxSeccompArg{{Index: 2, Value: 10, Op: specs.OpGreaterThan}}},
			{Names: []string{"clone"}, Action: specs.ActErrno, ErrnoRet: errno(7), Args: []specs.LinuxSeccompArg{{Index: 0, Value: 0xff00, ValueTwo: 0x1100, Op: specs.OpMaskedEqual}}},
		}}, []probe{
			{name: "personality", args: per(10), want: retAllow},
			{name: "personality", args: per(11), want: 0x50001},
			{name: "personality", args: per(1 << 40), want: 0x50001}, // the upper half counts
			{name: "getpriority", args: [6]uint64{0, 9}, want: 0x50002},
			{name: "getpriority", args: [6]uint64{0, 10}, want: retAllow},
			{name: "setpriority", args: [6]uint64{0, 0, 10}, want: 0x50003},
			{name: "setpriority", args: [6]uint64{0, 0, 11}, want: retAllow},
			{name: "kill", args: [6]uint64{0, 10}, want: 0x50004},
			{name: "kill", args: [6]uint64{0, 9}, want: retAllow},
			{name: "tkill", args: [6]uint64{0, 10}, want: 0x50005},
			{name: "tkill", args: [6]uint64{0, 9}, want: retAllow},
			{name: "tgkill", args: [6]uint64{0, 0, 11}, want: 0x50006},
			{name: "tgkill", args: [6]uint64{0, 0, 10}, want: retAllow},
			{name: "clone", args: per(0x11ff), want: 0x50007},
			{name: "clone", args: per(0x1200), want: retAllow},
		}},
		{"conditions on different arguments all hold", specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{
			{Names: []string{"kill"}, Action: specs.ActErrno, Args: []specs.LinuxSeccompArg{
				{Index: 0, Value: 1, Op: specs.OpEqualTo}, {Index: 1, Value: 9, Op: specs.OpEqualTo}}},
		}}, []probe{
			{name: "kill", args: [6]uint64{1, 9}, want: retEPERM},
			{name: "kill", args: [6]uint64{1, 15}, want: retAllow},
			{name: "kill", args: [6]uint64{2, 9}, want: retAllow},
		}},
		{"conditions on one argument: any holds", specs.LinuxSeccomp{DefaultAction: errnoDefault, Syscalls: []specs.LinuxSyscall{
			{Names: []string{"personality"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{
				{Index: 0, Value: 0, Op: specs.OpEqualTo}, {Index: 0, Value: 8, Op: specs.OpEqualTo}}},
		}}, []probe{
			{name: "personality", args: per(0), want: retAllow},
			{name: "personality", args: per(8), want: retAllow},
			{name: "personality", args: per(9), want: retEPERM},
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Compile(&tt.s, "")
			if err != nil {
				t.Fatal(err)
			}
			checkProbes(t, p.Filter, tt.probes)
		})
	}
}

// TestCompileMultiArch checks the stub per architecture and x32's share
// of x86_64's AUDIT_ARCH value.
func TestCompileMultiArch(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("x86 numbers")
	}
	byArch := func(name string, a libseccomp.ScmpArch) int32 {
		nr, err := libseccomp.GetSyscallFromNameByArch(name, a)
		if err != nil {
			t.Fatal(err)
		}
		return int32(nr)
	}
	for _, tt := range []struct {
		name   string
		arches []specs.Arch
		probes []probe
	}{
		{"x86_64 only", []specs.Arch{specs.ArchX86_64}, []probe{
			{arch: unix.AUDIT_ARCH_X86_64, nr: byArch("getpid", libseccomp.ArchAMD64), want: retAllow},
			{arch: unix.AUDIT_ARCH_X86_64, nr: byArch("uname", libseccomp.ArchAMD64), want: retEPERM},
			{arch: unix.AUDIT_ARCH_X86_64, nr: byArch("close_range", libseccomp.ArchAMD64) + 1, want: retENOSYS},
			{arch: unix.AUDIT_ARCH_X86_64, nr: byArch("getpid", libseccomp.ArchX32), want: retKill}, // x32 is not in the filter
			{arch: unix.AUDIT_ARCH_I386, nr: byArch("getpid", libseccomp.ArchX86), want: retKill},
		}},
		{"x86_64, x86 and x32", []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32}, []probe{
			{arch: unix.AUDIT_ARCH_X86_64, nr: byArch("getpid", libseccomp.ArchAMD64), want: retAllow},
			{arch: unix.AUDIT_ARCH_X86_64, nr: byArch("close_range", libseccomp.ArchAMD64) + 1, want: retENOSYS},
			{arch: unix.AUDIT_ARCH_X86_64, nr: byArch("getpid", libseccomp.ArchX32), want: retAllow},
			{arch: unix.AUDIT_ARCH_X86_64, nr: byArch("uname", libseccomp.ArchX32), want: retEPERM},
			{arch: unix.AUDIT_ARCH_X86_64, nr: byArch("close_range", libseccomp.ArchX32) + 1, want: retENOSYS},
			{arch: unix.AUDIT_ARCH_I386, nr: byArch("getpid", libseccomp.ArchX86), want: retAllow},
			{arch: unix.AUDIT_ARCH_I386, nr: byArch("uname", libseccomp.ArchX86), want: retEPERM},
			{arch: unix.AUDIT_ARCH_I386, nr: byArch("close_range", libseccomp.ArchX86) + 1, want: retENOSYS},
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Architectures: tt.arches, Syscalls: []specs.LinuxSyscall{
				{Names: []string{"getpid", "close_range"}, Action: specs.ActAllow},
			}}
			p, err := Compile(s, "")
			if err != nil {
				t.Fatal(err)
			}
			checkProbes(t, p.Filter, tt.probes)
		})
	}
}
