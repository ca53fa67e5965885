package container

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// prepareProcess applies the process attributes that the init itself can
// carry into execve and that are best reported by create: rlimits, the oom
// score, umask and the working directory.
func (in *initState) prepareProcess() error {
	if in.procDir >= 0 {
		if err := checkNoMountNSAttrs(in.spec.Process); err != nil {
			return err
		}
	}
	// Checked here, so a bad attribute or a missing LSM fails create.
	if err := checkProcessAttrs(in.spec); err != nil {
		return err
	}
	p := in.spec.Process
	for i, rl := range p.Rlimits {
		res, ok := rlimitResource[rl.Type]
		if !ok {
			return fmt.Errorf("process.rlimits[%d].type %q: unknown rlimit", i, rl.Type)
		}
		lim := unix.Rlimit{Cur: rl.Soft, Max: rl.Hard}
		if err := unix.Prlimit(0, res, &lim, nil); err != nil {
			return fmt.Errorf("process.rlimits[%d]: setrlimit %s: %w", i, rl.Type, err)
		}
	}
	if p.OOMScoreAdj != nil {
		// self, not getpid(): in a /proc of another pid namespace our
		// number names some other process.
		v := strconv.Itoa(*p.OOMScoreAdj)
		if err := writeProc(in.procDir, "self/oom_score_adj", v); err != nil {
			return fmt.Errorf("process.oomScoreAdj: %w", err)
		}
	}
	mask := 0o022
	if p.User.Umask != nil {
		mask = int(*p.User.Umask)
	}
	unix.Umask(mask)
	cwd := p.Cwd
	if cwd == "" {
		cwd = "/"
	}
	// create makes a missing cwd, as runc does; exec does not.
	if !in.cfg.Exec {
		if err := os.MkdirAll(cwd, 0o755); err != nil {
			return fmt.Errorf("process.cwd: %w", err)
		}
	}
	if err := unix.Chdir(cwd); err != nil {
		return fmt.Errorf("process.cwd: chdir %s: %w", cwd, err)
	}
	// CVE-2024-21626: a cwd reached through a leaked host fd shows up as
	// "(unreachable)/..." and would hand the container the host's tree.
	if wd, err := unix.Getwd(); err != nil || !strings.HasPrefix(wd, "/") {
		return fmt.Errorf("process.cwd %s: resolves outside the container (%q)", cwd, wd)
	}
	return nil
}

// checkNoMountNSAttrs refuses the LSM labels for a process that chrooted
// into a container without a mount namespace. A label is written to the
// process's proc attributes, and checked for through /proc and /sys, none
// of which is mounted in such a container's root: the checks would say the
// host lacks the LSM, which may be untrue, and a label must not be dropped
// silently.
func checkNoMountNSAttrs(p *specs.Process) error {
	const why = "not supported in a container without a mount namespace (its root has no /proc)"
	if p.ApparmorProfile != "" {
		return fmt.Errorf("process.apparmorProfile %q: %s", p.ApparmorProfile, why)
	}
	if p.SelinuxLabel != "" {
		return fmt.Errorf("process.selinuxLabel %q: %s", p.SelinuxLabel, why)
	}
	return nil
}

// startProcess runs after start released the init: startContainer hooks,
// then the process's identity and privileges, then execve. It returns only
// on failure.
func (in *initState) startProcess() error {
	spec := in.spec
	if spec.Hooks != nil {
		// Run in the container's namespaces, the hook sees the process as
		// pid it can use there, as runc gives it.
		st := in.hookState(StatusCreated)
		st.Pid = os.Getpid()
		if err := runHooks(spec.Hooks.StartContainer, "startContainer", st); err != nil {
			return err
		}
	}
	return in.execProcess()
}

// execProcess gives the process its attributes, identity and privileges and
// executes it; it returns only on failure.
func (in *initState) execProcess() error {
	p := in.spec.Process
	env := p.Env
	path, err := lookPath(p.Args[0], pathOf(env))
	if err != nil {
		return err
	}
	// Nothing but stdio and the preserved fds may reach the process. Marked
	// close-on-exec now, before a seccomp filter that may not know
	// close_range (runc's old profiles) is loaded.
	if err := unix.CloseRange(uint(3+in.cfg.PreserveFDs), ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err != nil {
		return fmt.Errorf("close fds: %w", err)
	}
	if err := applyProcessAttrs(p); err != nil {
		return err
	}
	if err := applyPersonality(in.spec.Linux); err != nil {
		return err
	}
	// Without no_new_privs, installing a filter needs CAP_SYS_ADMIN, so it
	// goes in before the capabilities are dropped; with it, as late as
	// possible, so the filter sees as few of the init's own syscalls.
	if !p.NoNewPrivileges {
		if err := in.loadSeccomp(); err != nil {
			return err
		}
	}
	if err := setIdentity(p); err != nil {
		return err
	}
	if p.NoNewPrivileges {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return fmt.Errorf("process.noNewPrivileges: %w", err)
		}
		if err := in.loadSeccomp(); err != nil {
			return err
		}
	}
	err = unix.Exec(path, p.Args, env)
	return fmt.Errorf("exec: %q: %w", p.Args[0], err)
}

func pathOf(env []string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(env[i], "PATH="); ok {
			return v
		}
	}
	return defaultPath
}

// lookPath finds file in the container the way exec.LookPath does on the
// host, with the words dockerd and podman turn into exit codes 127 and 126.
func lookPath(file, pathEnv string) (string, error) {
	if strings.Contains(file, "/") {
		if err := checkExecutable(file); err != nil {
			return "", fmt.Errorf("exec: %q: %w", file, err)
		}
		return file, nil
	}
	var denied error
	for _, dir := range strings.Split(pathEnv, ":") {
		if dir == "" {
			dir = "."
		}
		p := dir + "/" + file
		err := checkExecutable(p)
		if err == nil {
			return p, nil
		}
		if errors.Is(err, unix.EACCES) && denied == nil {
			denied = err
		}
	}
	if denied != nil {
		return "", fmt.Errorf("exec: %q: %w", file, denied)
	}
	return "", fmt.Errorf("exec: %q: executable file not found in $PATH", file)
}

func checkExecutable(path string) error {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return fmt.Errorf("stat %s: %w", path, err)
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR || st.Mode&0o111 == 0 {
		return unix.EACCES
	}
	return nil
}

var rlimitResource = map[string]int{
	"RLIMIT_AS": unix.RLIMIT_AS, "RLIMIT_CORE": unix.RLIMIT_CORE, "RLIMIT_CPU": unix.RLIMIT_CPU,
	"RLIMIT_DATA": unix.RLIMIT_DATA, "RLIMIT_FSIZE": unix.RLIMIT_FSIZE, "RLIMIT_LOCKS": unix.RLIMIT_LOCKS,
	"RLIMIT_MEMLOCK": unix.RLIMIT_MEMLOCK, "RLIMIT_MSGQUEUE": unix.RLIMIT_MSGQUEUE,
	"RLIMIT_NICE": unix.RLIMIT_NICE, "RLIMIT_NOFILE": unix.RLIMIT_NOFILE, "RLIMIT_NPROC": unix.RLIMIT_NPROC,
	"RLIMIT_RSS": unix.RLIMIT_RSS, "RLIMIT_RTPRIO": unix.RLIMIT_RTPRIO, "RLIMIT_RTTIME": unix.RLIMIT_RTTIME,
	"RLIMIT_SIGPENDING": unix.RLIMIT_SIGPENDING, "RLIMIT_STACK": unix.RLIMIT_STACK,
}
