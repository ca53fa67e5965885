// Command validation runs the OCI runtime-tools v0.9.0 validation suite
// (github.com/opencontainers/runtime-tools/validation/*) against tupper, and
// against other runtimes for comparison, and prints one line per test:
//
//	PASS default (45/45)
//	FAIL linux_ns_path (3/5): <first failing assertion>
//	XFAIL hooks: ... [listed: test: ...]
//	SKIP linux_cgroups_relative_memory: not run here: ...
//
// then the totals, "N passed, M failed, K skipped", on the last line; a
// failure listed in exceptions.txt (XFAIL) counts as skipped. It
// needs root. Each program runs from a fresh directory holding the suite's
// rootfs-amd64.tar.gz and runtimetest, with $RUNTIME pointing at this
// binary, which passes each call on to the runtime under test with a
// --root of the test's own (see wrap_linux.go), with a timeout.
//
// On cgroup v1 and hybrid hosts the programs run in /tupper-validation, a
// cgroup the runner makes in every hierarchy where it runs in the root
// cgroup, since containers without an absolute linux.cgroupsPath land under
// the runtime's own cgroup. See cgroup_linux.go for the hierarchies that
// belong to the machine, and docs/conformance.md for the results.
//
// With -guest it runs the suite inside the pure cgroup v2 QEMU guest of
// tests/vm instead, with exceptions-v2.txt: see guest.go.
package main

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	switch {
	case os.Getenv(envEnter) != "":
		if err := enterMain(); err != nil {
			fmt.Fprintln(os.Stderr, "tupper-validation:", err)
			os.Exit(126)
		}
	case os.Getenv(envRuntime) != "":
		os.Exit(wrapMain())
	default:
		code, err := runnerMain()
		if err != nil {
			fmt.Fprintln(os.Stderr, "validation:", err)
			os.Exit(2)
		}
		os.Exit(code)
	}
}

// runtimeFlags collects -runtime NAME=PATH[,hide-unified].
type runtimeFlags []runtimeUnderTest

func (f *runtimeFlags) String() string { return fmt.Sprint(*f) }

func (f *runtimeFlags) Set(v string) error {
	spec, opts, _ := strings.Cut(v, ",")
	name, path, ok := strings.Cut(spec, "=")
	if !ok || name == "" || path == "" {
		return fmt.Errorf("want NAME=PATH[,hide-unified], got %q", v)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	rt := runtimeUnderTest{name: name, path: abs}
	for _, o := range strings.Split(opts, ",") {
		switch o {
		case "":
		case "hide-unified":
			rt.hideUnified = true
		default:
			return fmt.Errorf("unknown runtime option %q", o)
		}
	}
	*f = append(*f, rt)
	return nil
}

func runnerMain() (int, error) {
	var runtimes runtimeFlags
	flag.Var(&runtimes, "runtime", "NAME=PATH[,hide-unified] of a runtime to test; repeat to compare (the first decides the exit status)")
	run := flag.String("run", "", "run only the tests matching this regexp")
	timeout := flag.Duration("timeout", 60*time.Second, "time limit of one test program")
	logs := flag.String("logs", "", "directory for each test's TAP, stderr and runtime calls (default: a new one in $TMPDIR)")
	cacheDir := flag.String("cache", "", "where the validation programs are built (default: $XDG_CACHE_HOME/tupper-validation)")
	goCmd := flag.String("go", "go", "the go command")
	summary := flag.String("summary", "", "also write a markdown table of the results to this file")
	verbose := flag.Bool("v", false, "print the TAP output of failing tests")
	exceptionsName := flag.String("exceptions", "exceptions.txt", "the list of expected failures: exceptions.txt (hybrid hosts) or exceptions-v2.txt (the cgroup v2 guest)")
	guest := flag.Bool("guest", false, "run the suite inside the pure cgroup v2 guest of tests/vm (QEMU) instead of on this host, with exceptions-v2.txt")
	guestTimeout := flag.Duration("guest-timeout", 20*time.Minute, "with -guest: time limit of the whole guest run")
	vmRunner := flag.String("vm-runner", "", "with -guest: tests/vm/run-guest.sh (default: $TUPPER_VM_RUNNER, else tests/vm/run-guest.sh from the working directory)")
	inGuest := flag.String("in-guest", "", "run inside the guest (-guest starts it so), with the suite prebuilt in this directory; the logs of failing tests are printed, since they go with the guest")
	flag.Parse()
	timeoutSet := false
	flag.Visit(func(f *flag.Flag) { timeoutSet = timeoutSet || f.Name == "timeout" })
	if len(runtimes) == 0 {
		if err := runtimes.Set("tupper=bin/tupper"); err != nil {
			return 2, err
		}
	}
	if os.Geteuid() != 0 {
		return 2, errors.New("needs root")
	}
	var filter *regexp.Regexp
	if *run != "" {
		var err error
		if filter, err = regexp.Compile(*run); err != nil {
			return 2, err
		}
	}
	if *guest {
		*exceptionsName = "exceptions-v2.txt"
	}
	exText, ok := exceptionLists[*exceptionsName]
	if !ok {
		return 2, fmt.Errorf("-exceptions: no list %q", *exceptionsName)
	}
	ex, err := parseExceptions(*exceptionsName, exText)
	if err != nil {
		return 2, err
	}
	if *cacheDir == "" {
		dir, err := os.UserCacheDir()
		if err != nil {
			return 2, err
		}
		*cacheDir = filepath.Join(dir, "tupper-validation")
	}
	if *logs == "" && !*guest {
		var err error
		if *logs, err = os.MkdirTemp("", "tupper-validation-logs-"); err != nil {
			return 2, err
		}
	}
	self, err := os.Executable()
	if err != nil {
		return 2, err
	}

	// One run at a time: runs share /tupper-validation and the build. A
	// guest run shares only the build, and waits for it.
	if err := os.MkdirAll(filepath.Dir(filepath.Clean(*cacheDir)), 0o755); err != nil {
		return 2, err
	}
	lock, err := os.OpenFile(filepath.Clean(*cacheDir)+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return 2, err
	}
	defer lock.Close()
	how := syscall.LOCK_EX | syscall.LOCK_NB
	if *guest {
		how = syscall.LOCK_EX
	}
	if err := syscall.Flock(int(lock.Fd()), how); err != nil {
		return 2, fmt.Errorf("another validation run holds %s: %w", lock.Name(), err)
	}

	var s *suite
	guestSuite := ""
	if *inGuest != "" {
		if s, err = loadSuite(*inGuest); err != nil {
			return 2, err
		}
	} else {
		buildStart := time.Now()
		if s, err = build(*goCmd, *cacheDir); err != nil {
			return 2, err
		}
		if *guest {
			if guestSuite, err = buildGuest(*goCmd, *cacheDir, s); err != nil {
				return 2, err
			}
		}
		fmt.Printf("# runtime-tools validation programs ready in %s (%s)\n", *cacheDir, time.Since(buildStart).Round(time.Second))
	}
	for name := range ex {
		if !slices.Contains(s.tests, name) {
			return 2, fmt.Errorf("%s: no test %q in %s", *exceptionsName, name, runtimeTools)
		}
	}
	var tests []string
	for _, t := range s.tests {
		if filter == nil || filter.MatchString(t) {
			tests = append(tests, t)
		}
	}
	if *guest {
		syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
		g := guestRun{
			suite: guestSuite, self: self, vmRunner: *vmRunner, runtimes: runtimes,
			tests: tests, run: *run, timeout: guestTestTimeout, verbose: *verbose, limit: *guestTimeout,
		}
		if timeoutSet {
			g.timeout = *timeout
		}
		return g.start()
	}
	rn := &runner{self: self, suite: s, logs: *logs, timeout: *timeout, printFailures: *inGuest != ""}
	// What exists before is never removed; if /cgrouptest is among it, it
	// is someone else's, and the absolute-path tests are not run.
	rn.before = rootNames()
	rn.cg, err = setupCgroups()
	defer func() {
		if rn.cg != nil {
			if err := rn.cg.teardown(); err != nil {
				fmt.Fprintln(os.Stderr, "validation: remove cgroups:", err)
			}
		}
	}()
	if err != nil {
		return 2, fmt.Errorf("make cgroups: %w", err)
	}
	for _, h := range rn.cg.protected {
		fmt.Printf("# %s: the runner is in %s, the machine's: tests without an absolute cgroupsPath run with it hidden\n", h.mount, h.own)
	}

	var stop atomic.Bool
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-sigs
		fmt.Fprintln(os.Stderr, "validation: interrupted, stopping after this test")
		stop.Store(true)
	}()

	table := map[string]map[string]result{}
	start := time.Now()
	var totals []string
	first := counts{}
	var slowest []result // of the first runtime
	for i, rt := range runtimes {
		if len(runtimes) > 1 {
			fmt.Printf("== %s (%s)\n", rt.name, rt.path)
		}
		rtStart := time.Now()
		table[rt.name] = map[string]result{}
		n := counts{}
		for _, t := range tests {
			if stop.Load() {
				break
			}
			res, err := rn.run(rt, t)
			if err != nil {
				return 2, fmt.Errorf("%s %s: %w", rt.name, t, err)
			}
			applyException(&res, ex, *exceptionsName)
			table[rt.name][t] = res
			fmt.Println(res.line())
			for _, note := range res.notes {
				fmt.Println("    " + note)
			}
			if (*verbose && res.status == "XFAIL") || ((*verbose || rn.printFailures) && res.status == "FAIL") {
				printIndented(filepath.Join(rn.logs, rt.name, t+".tap"))
				printIndented(filepath.Join(rn.logs, rt.name, t+".stderr"))
			}
			if rn.printFailures && res.status == "FAIL" {
				printIndented(filepath.Join(rn.logs, rt.name, t+".calls"))
			}
			n[res.status]++
			if i == 0 {
				slowest = append(slowest, res)
			}
		}
		totals = append(totals, fmt.Sprintf("%s: %s (%s)", rt.name, n, time.Since(rtStart).Round(time.Second)))
		if i == 0 {
			first = n
		}
	}
	if *summary != "" {
		if err := os.WriteFile(*summary, []byte(markdown(runtimes, tests, table)), 0o644); err != nil {
			return 2, err
		}
	}
	fmt.Printf("# logs: %s; %d tests, %s\n", rn.logs, len(tests), time.Since(start).Round(time.Second))
	if len(runtimes) > 1 {
		for _, t := range totals {
			fmt.Println("# " + t)
		}
	}
	if len(slowest) > 0 {
		fmt.Println("# slowest: " + slowestTests(slowest, 5))
	}
	if first["XFAIL"] > 0 || first["SKIP"] > 0 {
		fmt.Printf("# skipped: %d listed in tests/validation/%s and failed as listed (XFAIL), %d not run (SKIP)\n", first["XFAIL"], *exceptionsName, first["SKIP"])
	}
	fmt.Println(first)
	if first["FAIL"] > 0 || stop.Load() {
		return 1, nil
	}
	return 0, nil
}

// counts are the results of one runtime by status.
type counts map[string]int

// String is the closing line: expected failures count as skipped.
func (n counts) String() string {
	return fmt.Sprintf("%d passed, %d failed, %d skipped", n["PASS"], n["FAIL"], n["SKIP"]+n["XFAIL"])
}

// slowestTests lists the n tests that took longest, with their times.
func slowestTests(rs []result, n int) string {
	rs = slices.Clone(rs)
	slices.SortStableFunc(rs, func(a, b result) int { return cmp.Compare(b.elapsed, a.elapsed) })
	var parts []string
	for _, r := range rs[:min(n, len(rs))] {
		parts = append(parts, fmt.Sprintf("%s %s", r.test, r.elapsed.Round(100*time.Millisecond)))
	}
	return strings.Join(parts, ", ")
}

// markdown is a table of every test's status per runtime.
func markdown(runtimes []runtimeUnderTest, tests []string, table map[string]map[string]result) string {
	var b strings.Builder
	b.WriteString("| test |")
	for _, rt := range runtimes {
		b.WriteString(" " + rt.name + " |")
	}
	b.WriteString("\n|---|")
	for range runtimes {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	for _, t := range tests {
		b.WriteString("| " + t + " |")
		for _, rt := range runtimes {
			res, ok := table[rt.name][t]
			cell := "—"
			if ok {
				cell = res.status
				if res.tap.total() > 0 {
					cell += fmt.Sprintf(" %d/%d", res.tap.passed, res.tap.total()-res.tap.skipped-res.tap.todo)
				}
			}
			b.WriteString(" " + cell + " |")
		}
		b.WriteString("\n")
	}
	return b.String()
}

func printIndented(path string) {
	data, err := os.ReadFile(path)
	if err != nil || len(data) == 0 {
		return
	}
	for _, l := range strings.Split(strings.TrimRight(string(data), "\n"), "\n") {
		fmt.Println("    | " + l)
	}
}
