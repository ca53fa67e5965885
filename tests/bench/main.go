// Command bench times N sequential `run` of /bin/true from one busybox rootfs
// with tupper, Debian's runc and crun, alternating A B C A B C so that drift of
// the machine hits every runtime alike, and prints the median and p90
// milliseconds per container and tupper's ratios. It needs root.
//
// crun 1.8 refuses hybrid cgroup hosts, so on such a host its commands run in
// a private mount namespace without /sys/fs/cgroup/unified; the wrapper's own
// cost is measured the same way around /bin/true and subtracted.
//
// Then it times N sequential `exec` of /bin/true into one running container
// per runtime, alternating the same way (-exec=false skips it).
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/tupper-runtime/tupper/tests/internal/fixture"
)

// cgroupParent holds every cgroup the benchmark creates.
const cgroupParent = "/tupper-bench"

// crunWrapper hides the cgroup2 mount from crun in a private mount namespace;
// the umount never reaches the host's namespace. A throwaway tmpfs takes its
// place: the directory under it belongs to the host's /sys/fs/cgroup tmpfs,
// and crun would leave its cgroup directories there, hidden by the host's
// cgroup2 mount.
var crunWrapper = []string{"unshare", "-m", "--propagation", "private",
	"sh", "-c", `umount /sys/fs/cgroup/unified && mount -t tmpfs -o size=1m tmpfs /sys/fs/cgroup/unified && exec "$0" "$@"`}

type runtime struct {
	name    string
	argv    []string // command prefix, before --root
	bundle  string
	root    string
	samples []time.Duration
}

func main() {
	tupper := flag.String("tupper", "bin/tupper", "tupper binary")
	baseline := flag.String("baseline", "", "another tupper binary (an earlier build) to time alongside, as \"baseline\"; empty to skip")
	runc := flag.String("runc", "/usr/sbin/runc", "runc binary; empty to skip")
	crun := flag.String("crun", "/usr/bin/crun", "crun binary; empty to skip")
	n := flag.Int("n", 50, "containers per runtime")
	execToo := flag.Bool("exec", true, "also time exec into a running container")
	flag.Parse()
	if err := run(*tupper, *baseline, *runc, *crun, *n, *execToo); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(tupper, baseline, runc, crun string, n int, execToo bool) error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("needs root")
	}
	tmp, err := os.MkdirTemp("", "tupper-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	// Only the empty parents: each run's own cgroups are removed as it ends,
	// and a concurrent benchmark's are not ours to kill.
	defer func() {
		for _, d := range fixture.CgroupDirs(cgroupParent) {
			os.Remove(d)
		}
	}()
	rootfs := filepath.Join(tmp, "rootfs")
	if err := fixture.BuildRootfs(rootfs); err != nil {
		return fmt.Errorf("build rootfs: %w", err)
	}
	abs, err := filepath.Abs(tupper)
	if err != nil {
		return err
	}
	rts := []*runtime{{name: "tupper", argv: []string{abs}}}
	if ok(baseline) {
		b, err := filepath.Abs(baseline)
		if err != nil {
			return err
		}
		rts = append(rts, &runtime{name: "baseline", argv: []string{b}})
	}
	if ok(runc) {
		rts = append(rts, &runtime{name: "runc", argv: []string{runc}})
	}
	var wrapper *runtime
	if ok(crun) {
		c := &runtime{name: "crun", argv: []string{crun}}
		if hybrid() {
			c.argv = append(append([]string{}, crunWrapper...), crun)
			wrapper = &runtime{name: "wrapper", argv: append(append([]string{}, crunWrapper...), "/bin/true")}
		}
		rts = append(rts, c)
	}
	for _, rt := range rts {
		rt.bundle, rt.root = filepath.Join(tmp, "bundle-"+rt.name), filepath.Join(tmp, "root-"+rt.name)
	}
	// Iteration -1 warms caches and is not counted.
	for i := -1; i < n; i++ {
		for _, rt := range rts {
			d, err := rt.runOnce(rootfs, i)
			if err != nil {
				return err
			}
			if i >= 0 {
				rt.samples = append(rt.samples, d)
			}
		}
		if wrapper != nil {
			d, err := timeCmd(wrapper.argv)
			if err != nil {
				return fmt.Errorf("crun wrapper: %w", err)
			}
			if i >= 0 {
				wrapper.samples = append(wrapper.samples, d)
			}
		}
	}
	report(os.Stdout, rts, wrapper, n, "run")
	if !execToo {
		return nil
	}
	return benchExec(rootfs, rts, wrapper, n)
}

// benchExec starts one sleeping container per runtime and times n
// sequential `exec ID /bin/true` into each, alternating.
func benchExec(rootfs string, rts []*runtime, wrapper *runtime, n int) error {
	for _, rt := range rts {
		rt.samples = nil
		id := "bench-exec-" + rt.name
		s := fixture.Spec(rootfs, cgroupParent+"/"+id, "sleep", "1000")
		s.Version = "1.0.2"
		if err := fixture.WriteBundle(rt.bundle, s); err != nil {
			return err
		}
		// Not through timeCmd: the detached container would hold its
		// output pipe open, and Run would wait for it forever.
		argv := append(append([]string{}, rt.argv...), "--root", rt.root, "run", "-d", "--bundle", rt.bundle, id)
		if err := exec.Command(argv[0], argv[1:]...).Run(); err != nil {
			return fmt.Errorf("%s: start exec container %q: %w", rt.name, argv, err)
		}
		defer func(rt *runtime, id string) {
			argv := append(append([]string{}, rt.argv...), "--root", rt.root, "delete", "--force", id)
			if _, err := timeCmd(argv); err != nil {
				fmt.Fprintln(os.Stderr, "bench: cleanup:", err)
			}
			removeCgroups(cgroupParent + "/" + id)
		}(rt, id)
	}
	if wrapper != nil {
		wrapper.samples = nil
	}
	for i := -1; i < n; i++ {
		for _, rt := range rts {
			argv := append(append([]string{}, rt.argv...), "--root", rt.root, "exec", "bench-exec-"+rt.name, "/bin/true")
			d, err := timeCmd(argv)
			if err != nil {
				return fmt.Errorf("%s: %w", rt.name, err)
			}
			if i >= 0 {
				rt.samples = append(rt.samples, d)
			}
		}
		if wrapper != nil {
			d, err := timeCmd(wrapper.argv)
			if err != nil {
				return fmt.Errorf("crun wrapper: %w", err)
			}
			if i >= 0 {
				wrapper.samples = append(wrapper.samples, d)
			}
		}
	}
	fmt.Println()
	report(os.Stdout, rts, wrapper, n, "exec")
	return nil
}

func ok(bin string) bool {
	if bin == "" {
		return false
	}
	if _, err := os.Stat(bin); err != nil {
		fmt.Fprintf(os.Stderr, "bench: skipping %s: %v\n", bin, err)
		return false
	}
	return true
}

// hybrid reports whether a cgroup2 mount sits at /sys/fs/cgroup/unified.
func hybrid() bool {
	return exec.Command("mountpoint", "-q", "/sys/fs/cgroup/unified").Run() == nil
}

// runOnce writes the bundle with a fresh cgroup path and id, then times one
// foreground `run`. Writing and cleaning up are not timed.
func (rt *runtime) runOnce(rootfs string, i int) (time.Duration, error) {
	id := fmt.Sprintf("bench-%s-%d", rt.name, i+1)
	cg := cgroupParent + "/" + id
	s := fixture.Spec(rootfs, cg, "/bin/true")
	// crun 1.8 knows only 1.0.x; nothing here needs more.
	s.Version = "1.0.2"
	if err := fixture.WriteBundle(rt.bundle, s); err != nil {
		return 0, err
	}
	defer removeCgroups(cg)
	argv := append(append([]string{}, rt.argv...), "--root", rt.root, "run", "--bundle", rt.bundle, id)
	d, err := timeCmd(argv)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", rt.name, err)
	}
	return d, nil
}

func timeCmd(argv []string) (time.Duration, error) {
	var out bytes.Buffer
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	d := time.Since(start)
	if err != nil {
		return 0, fmt.Errorf("%q: %w\n%s", argv, err, out.Bytes())
	}
	return d, nil
}

func removeCgroups(path string) {
	if err := fixture.RemoveCgroups(cgroupParent, path); err != nil {
		fmt.Fprintln(os.Stderr, "bench: cleanup:", err)
	}
}
