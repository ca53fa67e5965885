package v2

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tupper-runtime/tupper/tests/internal/fixture"
	"github.com/tupper-runtime/tupper/tests/vm"
)

// TestCgroupV2 boots one guest whose only hierarchy is cgroup v2, runs
// guestScript there and checks every CHECK line it printed.
func TestCgroupV2(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the guest is built with apt and runs containers as root")
	}
	tmp := t.TempDir()
	files, err := guestFiles(tmp)
	if err != nil {
		t.Fatal(err)
	}
	out, rc := vm.Run(t, guestScript, files...)
	got := parseChecks(out)
	defer func() {
		if t.Failed() {
			t.Logf("guest script exited %d; its output:\n%s", rc, out)
		}
	}()
	for _, g := range expectations(got) {
		t.Run(g.name, func(t *testing.T) {
			for _, c := range g.checks {
				t.Run(c.name, func(t *testing.T) { c.run(t, got) })
			}
		})
	}
	t.Run("bench", func(t *testing.T) { checkBench(t, got) })
	logPeers(t, got)
}

// guestFiles builds (or takes) the binary and writes the bundles and the
// probe; it returns them as vm.Run arguments.
func guestFiles(tmp string) ([]string, error) {
	bin, err := fixture.Binary(tmp)
	if err != nil {
		return nil, err
	}
	probe := filepath.Join(tmp, "probe.sh")
	if err := os.WriteFile(probe, []byte(probeScript), 0o755); err != nil {
		return nil, err
	}
	dir := filepath.Join(tmp, "bundles")
	if err := writeBundles(dir); err != nil {
		return nil, fmt.Errorf("write bundles: %w", err)
	}
	files := []string{bin + ":/usr/local/bin/tupper", probe + ":/probe.sh", dir + ":/bundles"}
	// The peers, when the host has them, for the side-by-side timing.
	for _, name := range []string{"crun", "runc"} {
		if p, err := exec.LookPath(name); err == nil {
			files = append(files, p+":/usr/local/bin/"+name)
		}
	}
	return files, nil
}

// parseChecks maps each key of the "CHECK key value" lines to its value
// ("" when the line has none). A later line wins.
func parseChecks(out string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "CHECK ")
		if !ok {
			continue
		}
		key, value, _ := strings.Cut(rest, " ")
		m[key] = value
	}
	return m
}

// logPeers shows what crun and runc did with the cases tupper once failed.
func logPeers(t *testing.T, got map[string]string) {
	for _, rt := range []string{"crun", "runc"} {
		for _, c := range []struct{ key, what string }{
			{"pids1", "pids.limit 1, /bin/true"},
			{"peer-default", "no cgroupsPath, run from /runner/shell"},
			{"peer-mem", "no cgroupsPath and a memory limit, run from /runner/shell"},
		} {
			if v, ok := got["peer."+c.key+"."+rt]; ok {
				t.Logf("%s, %s: %s", rt, c.what, v)
			}
		}
	}
}

// checkBench reports the timings; it fails only when tupper's runs failed,
// since a peer that does not work in the guest is not tupper's fault.
func checkBench(t *testing.T, got map[string]string) {
	type result struct{ runs, ok, ms int }
	parse := func(rt string) (result, bool) {
		v, found := got["bench."+rt]
		var r result
		if !found {
			return r, false
		}
		_, err := fmt.Sscanf(v, "runs=%d ok=%d ms=%d", &r.runs, &r.ok, &r.ms)
		return r, err == nil
	}
	tu, ok := parse("tupper")
	if !ok {
		t.Fatalf("the guest printed no CHECK bench.tupper: the script stopped before the timing")
	}
	if tu.ok != tu.runs {
		t.Errorf("tupper: %d of %d runs of /bin/true succeeded", tu.ok, tu.runs)
	}
	perRun := func(r result) float64 { return float64(r.ms) / float64(max(r.runs, 1)) }
	t.Logf("tupper: %d runs of /bin/true, %.0f ms per run (under emulation)", tu.runs, perRun(tu))
	for _, peer := range []string{"crun", "runc"} {
		r, ok := parse(peer)
		switch {
		case !ok:
			t.Logf("%s: not on this host, not timed", peer)
		case r.ok != r.runs:
			t.Logf("%s: only %d of %d runs succeeded in the guest; no ratio", peer, r.ok, r.runs)
		default:
			t.Logf("%s: %.0f ms per run; tupper/%s = %.2f", peer, perRun(r), peer, perRun(tu)/perRun(r))
		}
	}
}

// check is one expectation on the value of one CHECK key.
type check struct {
	name string
	key  string
	want func(got string) error // nil when got is right; a skip to skip
	why  string                 // what the check proves, for the failure message
}

// skip is returned by a want func that cannot judge on this guest.
type skip string

func (s skip) Error() string { return string(s) }

// run judges the check. Keys are "<case>.<what>"; a check whose key is
// missing because the container was never created (<case>.create) or
// failed (<case>.said) is skipped: the check of that step reports it.
func (c check) run(t *testing.T, got map[string]string) {
	t.Helper()
	v, ok := got[c.key]
	c0, _, _ := strings.Cut(c.key, ".")
	if create, found := got[c0+".create"]; !ok && found && create != "ok" {
		t.Skipf("not reached: creating the container failed (see %s/create)", c0)
	}
	if said := got[c0+".said"]; !ok && said != "" {
		t.Skipf("not reached: tupper or the container failed: %s", said)
	}
	if !ok {
		t.Fatalf("the guest printed no CHECK %s: an earlier step failed or the script stopped (output logged at the end)\nchecks: %s", c.key, c.why)
	}
	err := c.want(v)
	if s, isSkip := err.(skip); isSkip {
		t.Skip(string(s))
	}
	if err != nil {
		msg := fmt.Sprintf("CHECK %s = %q: %v\nchecks: %s", c.key, v, err, c.why)
		// <case>.said is what tupper and the container printed
		// besides CHECK lines: errors, a crash.
		if said := got[c0+".said"]; said != "" {
			msg += "\ntupper and the container said: " + said
		}
		t.Error(msg)
	}
}

func equals(want string) func(string) error {
	return func(got string) error {
		if got != want {
			return fmt.Errorf("want %q", want)
		}
		return nil
	}
}

func contains(want string) func(string) error {
	return func(got string) error {
		if !strings.Contains(got, want) {
			return fmt.Errorf("want it to contain %q", want)
		}
		return nil
	}
}

// counterAtLeast wants "name N" among the words of got, with N >= min: a
// line of memory.events or pids.events.
func counterAtLeast(name string, min int) func(string) error {
	return func(got string) error {
		f := strings.Fields(got)
		i := slices.Index(f, name)
		if i < 0 || i+1 >= len(f) {
			return fmt.Errorf("no %q counter", name)
		}
		n, err := strconv.Atoi(f[i+1])
		if err != nil {
			return fmt.Errorf("counter %q: %w", name, err)
		}
		if n < min {
			return fmt.Errorf("%s is %d, want at least %d", name, n, min)
		}
		return nil
	}
}

// subsetOf wants every word of got in allowed.
func subsetOf(allowed ...string) func(string) error {
	return func(got string) error {
		var extra []string
		for _, w := range strings.Fields(got) {
			if !slices.Contains(allowed, w) {
				extra = append(extra, w)
			}
		}
		if len(extra) > 0 {
			return fmt.Errorf("left behind: %s (only the parents %s may remain)", strings.Join(extra, " "), strings.Join(allowed, " "))
		}
		return nil
	}
}
