package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// -guest runs the suite inside the pure cgroup v2 guest of tests/vm: the
// runner itself (static), the guest suite (guest_build.go) and the runtimes
// go into the guest's initramfs, and the guest runs
//
//	tupper-validation -in-guest /validation -exceptions exceptions-v2.txt ...
//
// which prints the same result lines and totals as a run on the host, on the
// guest's serial console. This side streams them, checks that every test has
// exactly one result line and that the totals add up, and fails on a FAIL,
// on a missing line or when the guest does not finish.

// guestTestTimeout is the time limit of one program in the guest when
// -timeout is not given: under software emulation everything but sleeping
// costs about 50 times what it does here.
const guestTestTimeout = 3 * time.Minute

// Where the guest finds what -guest puts in it.
const (
	guestSelf     = "/usr/local/bin/tupper-validation"
	guestSuiteDir = "/validation"
	guestRuntimes = "/runtimes/"
)

// Markers of tests/vm/run-guest.sh around the script's output.
const (
	vmBegin  = "TUPPER-VM-BEGIN"
	vmResult = "TUPPER-VM-RESULT rc="
)

// guestTools are host programs the validation programs run besides the
// runtime, whose busybox versions in the guest fall short: busybox unshare
// knows neither --fork nor --cgroup (linux_ns_path, linux_ns_path_type),
// and busybox tar does not unpack the gzip'd rootfs (every test).
var guestTools = []string{"unshare", "tar"}

// guestRun is one -guest run.
type guestRun struct {
	suite    string // the guest suite, built by buildGuest
	self     string // this binary, static
	vmRunner string
	runtimes []runtimeUnderTest
	tests    []string // the tests the guest is to run (after -run)
	run      string   // -run, passed on
	timeout  time.Duration
	verbose  bool
	limit    time.Duration // of the whole guest run
}

// start boots the guest, streams its results and judges them.
func (g guestRun) start() (int, error) {
	runner := g.vmRunner
	if runner == "" {
		runner = os.Getenv("TUPPER_VM_RUNNER")
	}
	if runner == "" {
		runner = "tests/vm/run-guest.sh"
	}
	if _, err := os.Stat(runner); err != nil {
		return 2, fmt.Errorf("the guest runner (-vm-runner): %w", err)
	}
	files := []string{g.self + ":" + guestSelf, g.suite + ":" + guestSuiteDir}
	for _, tool := range guestTools {
		p, err := exec.LookPath(tool)
		if err != nil {
			return 2, fmt.Errorf("the guest needs this host's %s: %w", tool, err)
		}
		files = append(files, p+":/usr/local/bin/"+tool)
	}
	for _, rt := range g.runtimes {
		files = append(files, rt.path+":"+guestRuntimes+rt.name)
	}
	script, err := os.CreateTemp("", "tupper-validation-guest-*.sh")
	if err != nil {
		return 2, err
	}
	defer os.Remove(script.Name())
	if _, err := script.WriteString(g.script()); err != nil {
		return 2, err
	}
	if err := script.Close(); err != nil {
		return 2, err
	}

	fmt.Printf("== cgroup v2 guest (tests/vm): %s, per test %s, in all %s\n", strings.Join(names(g.runtimes), ", "), g.timeout, g.limit)
	start := time.Now()
	cmd := exec.Command(runner, append([]string{"--timeout", strconv.Itoa(int(g.limit.Seconds())), script.Name()}, files...)...)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return 2, err
	}
	if err := cmd.Start(); err != nil {
		return 2, fmt.Errorf("start %s: %w", runner, err)
	}
	console := streamConsole(stdout, os.Stdout)
	runErr := cmd.Wait()
	elapsed := time.Since(start).Round(time.Second)

	out, rc, finished := scriptOutput(console)
	if !finished {
		var ee *exec.ExitError
		code := -1
		if errors.As(runErr, &ee) {
			code = ee.ExitCode()
		}
		fmt.Printf("# cgroup v2 guest: no result after %s (run-guest.sh exit %d: 124 timed out, 125 could not build the guest); console:\n%s\n", elapsed, code, tail(console, 40))
		return 1, nil
	}
	n, problems := judgeGuest(out, g.runtimes[0].name, len(g.runtimes) > 1, g.tests)
	if rc != 0 && n["FAIL"] == 0 && len(problems) == 0 {
		problems = append(problems, fmt.Sprintf("the guest's runner exited %d", rc))
	}
	for _, p := range problems {
		fmt.Println("# cgroup v2 guest: " + p)
	}
	fmt.Printf("# cgroup v2 guest: %s, %d tests in %s (boot and build included)\n", g.runtimes[0].name, len(g.tests), elapsed)
	fmt.Println(n)
	if n["FAIL"] > 0 || len(problems) > 0 {
		return 1, nil
	}
	return 0, nil
}

// script is the guest's test script.
func (g guestRun) script() string {
	args := []string{guestSelf, "-in-guest", guestSuiteDir, "-exceptions", "exceptions-v2.txt",
		"-timeout", g.timeout.String()}
	if g.run != "" {
		args = append(args, "-run", g.run)
	}
	if g.verbose {
		args = append(args, "-v")
	}
	for _, rt := range g.runtimes {
		// No hide-unified: the guest has no hybrid hierarchy to hide.
		args = append(args, "-runtime", rt.name+"="+guestRuntimes+rt.name)
	}
	for i, a := range args {
		args[i] = shellQuote(a)
	}
	return "# Written by tests/validation (-guest).\nexec " + strings.Join(args, " ") + "\n"
}

func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=/.,:") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// streamConsole copies the guest's console to w as it comes, from the
// begin marker to the result line (the kernel's boot messages before it
// are not shown), and returns all of it.
func streamConsole(r io.Reader, w io.Writer) string {
	var all strings.Builder
	shown := false
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		all.WriteString(line + "\n")
		switch {
		case strings.HasPrefix(line, vmBegin):
			shown = true
		case strings.HasPrefix(line, vmResult):
			shown = false
		case shown:
			fmt.Fprintln(w, line)
		}
	}
	// What is left unread (a line over 1 MiB) must not block run-guest.sh.
	io.Copy(&all, r)
	return all.String()
}

// scriptOutput returns the guest script's output, between the first begin
// marker and the last result line, and the rc on that line.
func scriptOutput(console string) (out string, rc int, ok bool) {
	lines := strings.Split(console, "\n")
	end := -1
	for i := len(lines) - 1; i >= 0; i-- {
		if v, found := strings.CutPrefix(lines[i], vmResult); found {
			if n, err := strconv.Atoi(v); err == nil {
				end, rc = i, n
				break
			}
		}
	}
	if end < 0 {
		return "", 0, false
	}
	begin := 0
	for i := 0; i < end; i++ {
		if strings.HasPrefix(lines[i], vmBegin) {
			begin = i + 1
			break
		}
	}
	return strings.Join(lines[begin:end], "\n"), rc, true
}

var (
	resultLine = regexp.MustCompile(`^(PASS|FAIL|XFAIL|SKIP) ([a-z0-9_]+)(?: \([0-9]+/[0-9]+\))?(?::|$)`)
	totalsLine = regexp.MustCompile(`^([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped$`)
)

// judgeGuest counts the result lines of runtime first in the guest's output
// (under its "== first" header when several runtimes ran) and lists what is
// wrong with them: a test of tests without a line or with two, a line for
// another test, no totals line or totals that do not add up.
func judgeGuest(out, first string, headers bool, tests []string) (counts, []string) {
	n := counts{}
	seen := map[string]int{}
	var problems []string
	mine := !headers
	var totals []string
	for _, line := range strings.Split(out, "\n") {
		if h, ok := strings.CutPrefix(line, "== "); ok && headers {
			name, _, _ := strings.Cut(h, " ")
			mine = name == first
			continue
		}
		if m := totalsLine.FindStringSubmatch(line); m != nil {
			totals = m
			continue
		}
		m := resultLine.FindStringSubmatch(line)
		if m == nil || !mine {
			continue
		}
		if !slices.Contains(tests, m[2]) {
			problems = append(problems, "a result for a test it was not to run: "+line)
			continue
		}
		seen[m[2]]++
		n[m[1]]++
	}
	if len(seen) == 0 && totals == nil {
		return n, append(problems, "no result lines at all")
	}
	for _, t := range tests {
		switch seen[t] {
		case 0:
			problems = append(problems, "no result line for "+t)
		case 1:
		default:
			problems = append(problems, fmt.Sprintf("%d result lines for %s", seen[t], t))
		}
	}
	switch {
	case totals == nil:
		problems = append(problems, "no totals line (N passed, M failed, K skipped)")
	case totals[0] != n.String():
		problems = append(problems, fmt.Sprintf("its totals %q do not match its result lines (%s)", totals[0], n))
	}
	return n, problems
}

func names(rts []runtimeUnderTest) []string {
	var ns []string
	for _, rt := range rts {
		ns = append(ns, rt.name)
	}
	return ns
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
