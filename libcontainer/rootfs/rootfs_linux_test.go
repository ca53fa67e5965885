package rootfs

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// The root-only tests run Mount, Pivot and Finalize in a child process that the
// test binary starts in fresh namespaces (at least CLONE_NEWNS), so nothing is
// ever mounted in the host's mount namespace. The child is this binary again,
// told by helperEnv which scenario to run; it checks the result from inside and
// reports failures on stderr with a non-zero exit.
const (
	helperEnv   = "TUPPER_ROOTFS_TEST_SCENARIO"
	helperStage = "TUPPER_ROOTFS_TEST_STAGE" // "outer" before entering a user namespace
	helperInput = "TUPPER_ROOTFS_TEST_INPUT" // path of the JSON testInput
	helperNS    = "TUPPER_ROOTFS_TEST_HOST_MNTNS"
	// helperIdmapped lists "index=fd" pairs: idmapped trees the outer stage
	// prepared for the inner one, as the runtime does for the init.
	helperIdmapped = "TUPPER_ROOTFS_TEST_IDMAPPED"
)

// testInput is what the parent prepared for the child.
type testInput struct {
	Config  *Config
	Dir     string // the test's temporary directory on the host
	Outside string // a host directory the image's symlinks point at
}

func TestMain(m *testing.M) {
	if name := os.Getenv(helperEnv); name != "" {
		os.Exit(runHelper(name))
	}
	os.Exit(m.Run())
}

func TestContainerRootfs(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skipping: creating mount namespaces needs root")
	}
	for _, sc := range scenarios() {
		t.Run(sc.name, func(t *testing.T) {
			dir := t.TempDir()
			in := testInput{Dir: dir, Outside: t.TempDir()}
			in.Config = sc.build(t, dir, in.Outside)
			b, err := json.Marshal(in)
			if err != nil {
				t.Fatal(err)
			}
			inputPath := filepath.Join(dir, "input.json")
			if err := os.WriteFile(inputPath, b, 0o600); err != nil {
				t.Fatal(err)
			}
			var before syscall.Stat_t
			if err := syscall.Stat("/dev/null", &before); err != nil {
				t.Fatal(err)
			}
			out, err := helperCommand(sc, inputPath, "").CombinedOutput()
			if err != nil {
				t.Fatalf("helper: %v\n%s", err, out)
			}
			if testing.Verbose() && len(out) > 0 {
				t.Logf("helper output:\n%s", out)
			}
			var after syscall.Stat_t
			if err := syscall.Stat("/dev/null", &after); err != nil {
				t.Fatal(err)
			}
			if before.Mode != after.Mode || before.Uid != after.Uid || before.Gid != after.Gid {
				t.Errorf("host /dev/null changed: %+v -> %+v", before, after)
			}
			if sc.after != nil {
				sc.after(t, dir, in.Outside)
			}
		})
	}
}

// helperCommand starts this binary as the child for sc. With stage "" it
// enters sc's namespaces; a scenario with a user namespace first gets an
// "outer" stage in a plain mount namespace, where it can prepare mounts whose
// flags the user namespace then finds locked.
func helperCommand(sc scenario, inputPath, stage string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	hostNS, _ := os.Readlink("/proc/self/ns/mnt")
	if ns := os.Getenv(helperNS); ns != "" {
		hostNS = ns
	}
	cmd.Env = append(os.Environ(),
		helperEnv+"="+sc.name,
		helperInput+"="+inputPath,
		helperNS+"="+hostNS,
	)
	flags := sc.cloneflags
	attr := &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	switch {
	case sc.userns && stage == "":
		cmd.Env = append(cmd.Env, helperStage+"=outer")
		flags = syscall.CLONE_NEWNS
	case sc.userns:
		cmd.Env = append(cmd.Env, helperStage+"=inner") // replaces the inherited "outer"
		// Identity mappings: root in the user namespace, without privilege
		// over the host's (mknod is refused, locked mount flags exist).
		attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 65536}}
		attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 65536}}
		flags |= syscall.CLONE_NEWUSER
	}
	attr.Cloneflags = flags
	cmd.SysProcAttr = attr
	return cmd
}

// check collects the child's failures.
type check struct {
	failed bool
}

func (c *check) errorf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	c.failed = true
}

func runHelper(name string) int {
	var sc scenario
	for _, s := range scenarios() {
		if s.name == name {
			sc = s
		}
	}
	c := &check{}
	if sc.name == "" {
		c.errorf("unknown scenario %q", name)
		return 1
	}
	ns, err := os.Readlink("/proc/self/ns/mnt")
	if err != nil || ns == os.Getenv(helperNS) {
		c.errorf("refusing to run: still in the host's mount namespace (%s, %v)", ns, err)
		return 1
	}
	b, err := os.ReadFile(os.Getenv(helperInput))
	if err != nil {
		c.errorf("%v", err)
		return 1
	}
	var in testInput
	if err := json.Unmarshal(b, &in); err != nil {
		c.errorf("%v", err)
		return 1
	}
	if os.Getenv(helperStage) == "outer" {
		return runOuter(sc, in, c)
	}
	cfg := in.Config
	if cfg.Idmapped, err = parseIdmappedEnv(os.Getenv(helperIdmapped)); err != nil {
		c.errorf("%v", err)
		return 1
	}
	if sc.prepare != nil {
		if err := sc.prepare(in); err != nil {
			c.errorf("prepare: %v", err)
			return 1
		}
	}
	err = Mount(cfg)
	if sc.mountErr != "" {
		if err == nil || err.Error() != sc.mountErr {
			c.errorf("Mount error = %v, want %q", err, sc.mountErr)
			return 1
		}
		return 0
	}
	if err != nil {
		c.errorf("Mount: %v", err)
		return 1
	}
	if sc.beforePivot != nil {
		sc.beforePivot(c, in)
	}
	if err := Pivot(cfg); err != nil {
		c.errorf("Pivot: %v", err)
		return 1
	}
	if err := Finalize(cfg); err != nil {
		c.errorf("Finalize: %v", err)
		return 1
	}
	sc.check(c, in)
	if c.failed {
		return 1
	}
	return 0
}

// runOuter prepares the outer mount namespace of a user-namespace scenario and
// starts the inner stage.
func runOuter(sc scenario, in testInput, c *check) int {
	if sc.prepareOuter != nil {
		if err := sc.prepareOuter(in); err != nil {
			c.errorf("prepare: %v", err)
			return 1
		}
	}
	cmd := helperCommand(sc, os.Getenv(helperInput), "inner")
	if sc.prepared {
		files, err := PrepareIdmapped(in.Config.Spec, in.Config.Bundle)
		if err != nil {
			c.errorf("PrepareIdmapped: %v", err)
			return 1
		}
		var pairs []string
		for i, f := range files {
			pairs = append(pairs, fmt.Sprintf("%d=%d", i, 3+len(cmd.ExtraFiles)))
			cmd.ExtraFiles = append(cmd.ExtraFiles, f)
			defer f.Close()
		}
		cmd.Env = append(cmd.Env, helperIdmapped+"="+strings.Join(pairs, ","))
	}
	out, err := cmd.CombinedOutput()
	os.Stderr.Write(out)
	if err != nil {
		c.errorf("inner helper: %v", err)
		return 1
	}
	return 0
}

// parseIdmappedEnv reads helperIdmapped into Config.Idmapped.
func parseIdmappedEnv(v string) (map[int]int, error) {
	if v == "" {
		return nil, nil
	}
	out := map[int]int{}
	for _, pair := range strings.Split(v, ",") {
		var i, fd int
		if _, err := fmt.Sscanf(pair, "%d=%d", &i, &fd); err != nil {
			return nil, fmt.Errorf("%s %q: %w", helperIdmapped, pair, err)
		}
		out[i] = fd
	}
	return out, nil
}

// mountEntry is one line of /proc/self/mountinfo as the tests look at it.
type mountEntry struct {
	root, options, optional, fstype, source string
}

// mountTable reads /proc/self/mountinfo keyed by mount point; the last mount
// on a point wins, as it is the visible one.
func mountTable(c *check) map[string]mountEntry {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		c.errorf("read mountinfo: %v", err)
		return nil
	}
	table := map[string]mountEntry{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		pre, post, _ := strings.Cut(line, " - ")
		f, g := strings.Fields(pre), strings.Fields(post)
		if len(f) < 6 || len(g) < 2 {
			continue
		}
		table[unescapeMountinfo(f[4])] = mountEntry{
			root:     unescapeMountinfo(f[3]),
			options:  f[5],
			optional: strings.Join(f[6:], " "),
			fstype:   g[0],
			source:   g[1],
		}
	}
	return table
}

func hasOption(options, opt string) bool {
	for o := range strings.SplitSeq(options, ",") {
		if o == opt {
			return true
		}
	}
	return false
}
