package container

import (
	"fmt"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/tupper-runtime/tupper/libcontainer/bundle"
	"github.com/tupper-runtime/tupper/libcontainer/nsenter"
	"github.com/tupper-runtime/tupper/libcontainer/seccomp"
)

// fastExec returns the process for the nsenter constructor to execute in C
// (nsenter/fastexec.c), or nil when the process needs what only the Go init
// does: a terminal, LSM labels, scheduler, I/O priority, CPU affinity, or a
// seccomp agent. Exec is what clients run over and over (every probe is one),
// and not starting a second Go runtime saves most of its cost.
func fastExec(p *specs.Process, prog *seccomp.Program, preserveFDs int) (*nsenter.FastExec, error) {
	if hasNUL(p.Args) || hasNUL(p.Env) || strings.IndexByte(p.Cwd, 0) >= 0 {
		// C would cut the string short where Go's execve refuses it.
		return nil, nil
	}
	if p.Terminal || p.ApparmorProfile != "" || p.SelinuxLabel != "" || p.Scheduler != nil ||
		p.IOPriority != nil || p.ExecCPUAffinity != nil || len(p.User.AdditionalGids) > nsenter.MaxGroups ||
		(prog != nil && prog.Notify) {
		return nil, nil
	}
	f := &nsenter.FastExec{
		Args: p.Args, Env: p.Env, Cwd: p.Cwd, UID: p.User.UID, GID: p.User.GID,
		Groups: p.User.AdditionalGids, NoNewPrivs: p.NoNewPrivileges, Umask: p.User.Umask,
		OOMScoreAdj: p.OOMScoreAdj, PreserveFDs: preserveFDs,
	}
	if f.Cwd == "" {
		f.Cwd = "/"
	}
	if p.Capabilities != nil {
		s, err := parseCapSets(p.Capabilities)
		if err != nil {
			return nil, err
		}
		f.Caps = &[5]uint64{s.bounding, s.effective, s.permitted, s.inheritable, s.ambient}
		f.CapNames = bundle.Capabilities()
	}
	for i, rl := range p.Rlimits {
		res, ok := rlimitResource[rl.Type]
		if !ok {
			return nil, fmt.Errorf("process.rlimits[%d].type %q: unknown rlimit", i, rl.Type)
		}
		f.Rlimits = append(f.Rlimits, nsenter.Rlimit{Resource: res, Soft: rl.Soft, Hard: rl.Hard, Name: rl.Type})
	}
	if prog != nil {
		f.Seccomp, f.SeccompFlag = prog.Filter, uint32(prog.LoadFlags())
	}
	return f, nil
}

func hasNUL(ss []string) bool {
	for _, s := range ss {
		if strings.IndexByte(s, 0) >= 0 {
			return true
		}
	}
	return false
}
