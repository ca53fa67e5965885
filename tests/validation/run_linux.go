package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// runtimeUnderTest is one -runtime flag.
type runtimeUnderTest struct {
	name, path string
	// hideUnified runs the runtime without /sys/fs/cgroup/unified: crun
	// 1.8 refuses hybrid hosts.
	hideUnified bool
}

// mode says how a test is run on this host.
type mode int

const (
	// modeHidden: the protected hierarchies are unmounted in the test's
	// mount namespace, so no runtime can create anything in them.
	modeHidden mode = iota
	// modeAbsolute: every container has an absolute cgroupsPath, checked
	// at each create, so the protected hierarchies can stay visible.
	modeAbsolute
	// modeNotRun: the test cannot be run safely here.
	modeNotRun
)

// result is one test against one runtime.
type result struct {
	test    string
	status  string // PASS, FAIL, SKIP (not run), XFAIL (failed, listed in exceptions.txt)
	tap     tapSummary
	reason  string
	elapsed time.Duration
	notes   []string // what the runner had to clean up after the test
}

func (r result) line() string {
	s := fmt.Sprintf("%s %s", r.status, r.test)
	if n := r.tap.total() - r.tap.skipped - r.tap.todo; n > 0 {
		s += fmt.Sprintf(" (%d/%d)", r.tap.passed, n)
	}
	if r.reason != "" {
		s += ": " + r.reason
	}
	return s
}

// runner holds what every test run shares.
type runner struct {
	self    string // this binary: the enter helper and $RUNTIME wrapper
	suite   *suite
	cg      *cgroupHost
	logs    string
	timeout time.Duration
	before  map[string]bool // the cgroups at the roots of the hierarchies before the run
	// printFailures prints the logs of each FAIL: in the guest they go
	// with it.
	printFailures bool
}

// plan decides how test is run.
func (rn *runner) plan(test string) (mode, string) {
	// With no cgroup of the machine's to keep out of (the cgroup v2
	// guest), every test runs as it is.
	if len(rn.cg.protected) == 0 {
		return modeHidden, ""
	}
	src, err := readSources(filepath.Join(rn.suite.src, "validation", test))
	if err != nil {
		return modeNotRun, err.Error()
	}
	abs := strings.Contains(src, "cgroups.AbsCgroupPath")
	rel := strings.Contains(src, "cgroups.RelCgroupPath")
	if rn.cg.unhideable() {
		if abs && !rel {
			return modeAbsolute, ""
		}
		return modeNotRun, "not run here: without linux.cgroupsPath or with a relative one, containers would land in the machine's own cgroup"
	}
	if rel {
		ctrls := relativeTestControllers(test)
		if rn.cg.protects(ctrls) {
			return modeNotRun, fmt.Sprintf("not run here: relative cgroupsPath would land in the machine's %s cgroup", strings.Join(ctrls, ","))
		}
		return modeHidden, ""
	}
	if abs {
		for d := range rn.before {
			if filepath.Base(d) == strings.TrimPrefix(absCgroup, "/") {
				return modeNotRun, "not run here: " + d + " existed before the run"
			}
		}
		return modeAbsolute, ""
	}
	return modeHidden, ""
}

// relativeTestControllers maps linux_cgroups_relative_<x> to the v1
// controllers it checks.
func relativeTestControllers(test string) []string {
	x := strings.TrimPrefix(test, "linux_cgroups_relative_")
	switch x {
	case "cpus":
		return []string{"cpu", "cpuset"}
	case "network":
		return []string{"net_cls", "net_prio"}
	}
	return []string{x}
}

func readSources(dir string) (string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil || len(files) == 0 {
		return "", fmt.Errorf("no sources in %s", dir)
	}
	var b strings.Builder
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		b.Write(data)
	}
	return b.String(), nil
}

// run runs one validation program against rt.
func (rn *runner) run(rt runtimeUnderTest, test string) (result, error) {
	res := result{test: test}
	m, why := rn.plan(test)
	if m == modeNotRun {
		res.status, res.reason = "SKIP", why
		return res, nil
	}
	logDir := filepath.Join(rn.logs, rt.name)
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return res, err
	}
	work, err := os.MkdirTemp("", "tupper-validation-"+rt.name+"-"+test+"-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(work)
	// Only the directories runtime-tools makes should stand in the way of
	// a container whose root is not host root (linux_uid_mappings).
	if err := os.Chmod(work, 0o755); err != nil {
		return res, err
	}
	for f, src := range map[string]string{rootfsTar: rn.suite.rootfs, "runtimetest": filepath.Join(rn.suite.bin, "runtimetest")} {
		if err := linkOrCopy(src, filepath.Join(work, f)); err != nil {
			return res, err
		}
	}
	state := filepath.Join(work, "state")
	if err := os.Mkdir(state, 0o700); err != nil {
		return res, err
	}
	var hide []string
	if m == modeHidden {
		hide = rn.cg.protectedMounts()
	}
	if rt.hideUnified {
		hide = append(hide, "/sys/fs/cgroup/unified")
	}
	env := append(os.Environ(),
		envEnter+"=1",
		envJoin+"="+strings.Join(rn.cg.joinDirs(), ":"),
		envHide+"="+strings.Join(hide, ":"),
		envRuntime+"="+rt.path,
		envRoot+"="+state,
		envCalls+"="+filepath.Join(logDir, test+".calls"),
		envCreated+"="+filepath.Join(work, "created"),
		"RUNTIME="+rn.self,
		// Bundles go to os.TempDir(): keep them in the work directory.
		"TMPDIR="+work,
	)
	if m == modeAbsolute {
		env = append(env, envAbsOnly+"=1")
	}
	os.Remove(filepath.Join(logDir, test+".calls"))
	before := rn.cg.snapshot()

	start := time.Now()
	exitErr, err := rn.spawn(work, env, filepath.Join(logDir, test), filepath.Join(rn.suite.bin, test))
	res.elapsed = time.Since(start)
	if err != nil {
		return res, err
	}
	res.notes = rn.cleanup(rt, work, env, state, filepath.Join(work, "created"))
	if after := rn.cg.snapshot(); after != before {
		return res, fmt.Errorf("%s: cgroups appeared in the machine's own cgroup:\n%s", test, after)
	}
	out, err := os.ReadFile(filepath.Join(logDir, test+".tap"))
	if err != nil {
		return res, err
	}
	res.tap = parseTAP(string(out))
	res.status, res.reason = verdict(res.tap, exitErr)
	if res.status == "FAIL" && (res.tap.failed == 0 || strings.Contains(res.reason, "exit status")) {
		if why := stderrReason(filepath.Join(logDir, test+".stderr")); why != "" {
			res.reason += ": " + why
		}
	}
	return res, nil
}

// spawn runs argv through the enter helper, in a new mount namespace when
// something is to be hidden, with stdout and stderr to log+".tap" and
// log+".stderr". exitErr is the program's own failure (exit status,
// timeout); err is the runner's.
func (rn *runner) spawn(dir string, env []string, log string, argv ...string) (exitErr, err error) {
	stdout, err := os.Create(log + ".tap")
	if err != nil {
		return nil, err
	}
	defer stdout.Close()
	stderr, err := os.Create(log + ".stderr")
	if err != nil {
		return nil, err
	}
	defer stderr.Close()
	ctx, cancel := context.WithTimeout(context.Background(), rn.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, rn.self, argv...)
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = dir, env, stdout, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Unshareflags: syscall.CLONE_NEWNS}
	// On timeout the whole process group goes: the program and the runtime
	// it may be waiting for.
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	runErr := cmd.Run()
	if ctx.Err() != nil {
		return fmt.Errorf("timed out after %s", rn.timeout), nil
	}
	var ee *exec.ExitError
	if errors.As(runErr, &ee) {
		return ee, nil
	}
	return nil, runErr
}

// cleanup deletes containers and cgroups a test left behind and says what
// it found.
func (rn *runner) cleanup(rt runtimeUnderTest, work string, env []string, state, created string) []string {
	var notes []string
	entries, _ := os.ReadDir(state)
	for _, e := range entries {
		// Dot entries are the runtime's own (tupper's .seccomp-cache).
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		notes = append(notes, "left container "+e.Name())
		cmd := exec.Command(rn.self, rt.path, "--root", state, "delete", "--force", e.Name())
		cmd.Dir, cmd.Env = work, env
		cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
		if out, err := cmd.CombinedOutput(); err != nil {
			notes = append(notes, fmt.Sprintf("delete --force %s: %v: %s", e.Name(), err, strings.TrimSpace(string(out))))
		}
	}
	for _, d := range rn.cg.joinDirs() {
		if procs := cgroupProcs(d); len(procs) > 0 {
			notes = append(notes, fmt.Sprintf("left processes %s in %s", strings.Join(procs, " "), d))
			killCgroupProcs(d)
		}
	}
	// One note per cgroup path, listing the hierarchies it was left in.
	var paths []string
	where := map[string][]string{}
	// The first component of each cgroupsPath and each id, for runtimes
	// that place from the root of the hierarchy.
	var names []string
	data, _ := os.ReadFile(created)
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		id, path, _ := strings.Cut(line, "\t")
		first, _, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
		for _, n := range []string{id, first} {
			if n != "" && n != "." && n != ".." && !strings.Contains(n, "/") {
				names = append(names, n)
			}
		}
	}
	for _, d := range rn.cg.leftovers(names, rn.before) {
		mount, rel := filepath.Dir(d), "/"+filepath.Base(d)
		if strings.HasSuffix(mount, ownParent) {
			mount, rel = filepath.Dir(mount), ownParent+rel
		}
		if where[rel] == nil {
			paths = append(paths, rel)
		}
		where[rel] = append(where[rel], filepath.Base(mount))
		if n := len(cgroupProcs(d)); n > 0 {
			notes = append(notes, fmt.Sprintf("%d processes left in %s", n, d))
		}
		if err := removeCgroup(d); err != nil {
			notes = append(notes, err.Error())
		}
	}
	for _, p := range paths {
		notes = append(notes, fmt.Sprintf("left cgroup %s in %s", p, strings.Join(where[p], ",")))
	}
	return notes
}

// stderrReason picks the runtime's error from a program's stderr: the line
// after runtime-tools' "failed to create the container" (or start, ...),
// else the program's own panic, else the last line that is more than "exit
// status N". runc's warnings (level=warning) are skipped.
func stderrReason(path string) string {
	data, _ := os.ReadFile(path)
	lines := slices.DeleteFunc(strings.Split(strings.TrimSpace(string(data)), "\n"), func(l string) bool {
		return strings.Contains(l, "level=warning")
	})
	for i, l := range lines {
		if strings.HasPrefix(l, "failed to ") && i+1 < len(lines) {
			return strings.TrimSpace(l + ": " + lines[i+1])
		}
	}
	for _, l := range lines {
		if strings.HasPrefix(l, "panic: ") {
			return l
		}
	}
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" && !strings.HasPrefix(l, "exit status ") {
			return l
		}
	}
	return ""
}
