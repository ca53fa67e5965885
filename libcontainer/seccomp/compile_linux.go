package seccomp

import (
	"errors"
	"fmt"
	"io"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

// Compile compiles s (nil gives nil), using cacheDir for compiled programs
// when it is not empty. Errors name the field of linux.seccomp at fault.
func Compile(s *specs.LinuxSeccomp, cacheDir string) (*Program, error) {
	return compileCached(s, cacheDir, compile)
}

// compile builds s with libseccomp, exports the BPF and puts the ENOSYS
// stub in front of it.
func compile(s *specs.LinuxSeccomp) (*Program, error) {
	def, err := defaultAction(s)
	if err != nil {
		return nil, err
	}
	p := &Program{ListenerPath: s.ListenerPath, ListenerMetadata: s.ListenerMetadata}
	for i, fl := range s.Flags {
		v, ok := filterFlags[fl]
		if !ok {
			return nil, fmt.Errorf("linux.seccomp.flags[%d] %q: unknown flag", i, fl)
		}
		p.Flags |= v
	}
	f, err := libseccomp.NewFilter(def)
	if err != nil {
		return nil, fmt.Errorf("linux.seccomp.defaultAction %q: %w", s.DefaultAction, err)
	}
	defer f.Release()
	// A binary tree of syscall numbers instead of a list to go through:
	// each syscall in the container is matched in a few comparisons, and
	// the kernel installs the filter faster, since it runs the filter for
	// every syscall number to cache which ones it allows. With podman's
	// default profile that took 1.7 ms of every exec and every container
	// start, and takes 0.6 ms. Without it (libseccomp before 2.5) the
	// filter is a list, as correct.
	_ = f.SetOptimize(2)
	native, err := nativeArch()
	if err != nil {
		return nil, err
	}
	filterArches := []archInfo{native}
	for i, name := range s.Architectures {
		a, ok := arches[name]
		if !ok {
			return nil, fmt.Errorf("linux.seccomp.architectures[%d] %q: unknown architecture", i, name)
		}
		if err := f.AddArch(a.scmp); err != nil {
			return nil, fmt.Errorf("linux.seccomp.architectures[%d] %q: %w", i, name, err)
		}
		filterArches = append(filterArches, a)
	}
	limits := newLimits(filterArches)
	for i := range s.Syscalls {
		if err := addRules(f, def, &s.Syscalls[i], limits, p); err != nil {
			return nil, fmt.Errorf("linux.seccomp.syscalls[%d]%w", i, err)
		}
	}
	if p.Notify && s.ListenerPath == "" {
		return nil, errors.New("linux.seccomp.listenerPath: required by SCMP_ACT_NOTIFY")
	}
	if !p.Notify {
		// The kernel refuses WAIT_KILLABLE_RECV without a listener, and
		// without one it has no meaning.
		p.Flags &^= unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
	}
	bpf, err := exportBPF(f)
	if err != nil {
		return nil, err
	}
	if needsStub(def) {
		if bpf, err = prependStub(bpf, limits.stub()); err != nil {
			return nil, fmt.Errorf("linux.seccomp: %w", err)
		}
	}
	p.Filter = bpf
	return p, nil
}

func defaultAction(s *specs.LinuxSeccomp) (libseccomp.ScmpAction, error) {
	def, ok := actions[s.DefaultAction]
	if !ok {
		return 0, fmt.Errorf("linux.seccomp.defaultAction %q: unknown action", s.DefaultAction)
	}
	// The init's own sendmsg of the listener would wait on a listener
	// nobody holds yet.
	if def == libseccomp.ActNotify {
		return 0, fmt.Errorf("linux.seccomp.defaultAction %q: cannot be the default action", s.DefaultAction)
	}
	def, err := withErrno(def, s.DefaultErrnoRet)
	if err != nil {
		return 0, fmt.Errorf("linux.seccomp.defaultErrnoRet: %w", err)
	}
	return def, nil
}

// addRules adds one linux.seccomp.syscalls entry; its errors start with
// the part of the field after syscalls[i].
func addRules(f *libseccomp.ScmpFilter, def libseccomp.ScmpAction, sc *specs.LinuxSyscall, limits *limits, p *Program) error {
	act, ok := actions[sc.Action]
	if !ok {
		return fmt.Errorf(".action %q: unknown action", sc.Action)
	}
	act, err := withErrno(act, sc.ErrnoRet)
	if err != nil {
		return fmt.Errorf(".errnoRet: %w", err)
	}
	conds, err := conditions(sc.Args)
	if err != nil {
		return err
	}
	if len(sc.Names) == 0 {
		return errors.New(".names: empty")
	}
	for j, name := range sc.Names {
		nr, err := libseccomp.GetSyscallFromName(name)
		if err != nil {
			continue // unknown to this libseccomp: skipped, as runc does
		}
		limits.add(name)
		if act == def {
			continue // libseccomp refuses a rule that repeats the default
		}
		if act == libseccomp.ActNotify {
			if name == "sendmsg" {
				// The init sends the listener to the agent with sendmsg
				// after the filter is in: it would wait forever.
				return fmt.Errorf(".names[%d] %q: SCMP_ACT_NOTIFY would deadlock the runtime's own sendmsg", j, name)
			}
			p.Notify = true
		}
		for _, c := range conds {
			if err := f.AddRuleConditional(nr, act, c); err != nil {
				return fmt.Errorf(".names[%d] %q: add rule: %w", j, name, err)
			}
		}
	}
	return nil
}

// conditions turns args into the rules to add: one rule whose conditions
// all hold, or, when an argument index repeats, one rule per condition,
// since "arg0 == 1 and arg0 == 2" never holds and profiles (Docker's
// personality entry) mean "any of". This is runc's reading too.
func conditions(args []specs.LinuxSeccompArg) ([][]libseccomp.ScmpCondition, error) {
	var all []libseccomp.ScmpCondition
	seen := map[uint]bool{}
	repeated := false
	for k, a := range args {
		op, ok := operators[a.Op]
		if !ok {
			return nil, fmt.Errorf(".args[%d].op %q: unknown operator", k, a.Op)
		}
		if a.Index > 5 {
			return nil, fmt.Errorf(".args[%d].index %d: a syscall has arguments 0 to 5", k, a.Index)
		}
		vals := []uint64{a.Value}
		if op == libseccomp.CompareMaskedEqual {
			// "value" is the mask, "valueTwo" what the masked argument must equal.
			vals = append(vals, a.ValueTwo)
		}
		c, err := libseccomp.MakeCondition(a.Index, op, vals...)
		if err != nil {
			return nil, fmt.Errorf(".args[%d]: %w", k, err)
		}
		repeated = repeated || seen[a.Index]
		seen[a.Index] = true
		all = append(all, c)
	}
	if !repeated {
		return [][]libseccomp.ScmpCondition{all}, nil
	}
	rules := make([][]libseccomp.ScmpCondition, len(all))
	for i, c := range all {
		rules[i] = []libseccomp.ScmpCondition{c}
	}
	return rules, nil
}

// exportBPF has libseccomp write the program to a memfd and reads it
// back; libseccomp 2.5 has no export to memory.
func exportBPF(f *libseccomp.ScmpFilter) ([]byte, error) {
	fd, err := unix.MemfdCreate("seccomp-bpf", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("export bpf: memfd: %w", err)
	}
	file := os.NewFile(uintptr(fd), "seccomp-bpf")
	defer file.Close()
	if err := f.ExportBPF(file); err != nil {
		return nil, fmt.Errorf("export bpf: %w", err)
	}
	if _, err := file.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("export bpf: %w", err)
	}
	b, err := io.ReadAll(file)
	if err != nil {
		return nil, fmt.Errorf("export bpf: %w", err)
	}
	if len(b) == 0 || len(b)%sockFilterSize != 0 {
		return nil, fmt.Errorf("export bpf: %d bytes is not a program", len(b))
	}
	return b, nil
}
