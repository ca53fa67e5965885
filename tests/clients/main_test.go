// Package clients runs real container engines from their Debian packages
// (podman, containerd with ctr, Docker's dockerd) with tupper as their OCI
// runtime, and checks from inside their containers that each feature works.
//
// Every engine keeps its state under a temporary directory of the test's
// (never the host's default stores), uses images imported from the busybox
// rootfs the tests build (no registry is reachable), and gives its containers
// cgroups under /tupper-test/clients. The engines call tupper through a wrapper
// named tupper that appends each argv to a log, so a test can check that the
// engine really called tupper, and how.
package clients

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/tupper-runtime/tupper/tests/internal/fixture"
)

// cgroupParent holds every cgroup the engines create for their containers.
const cgroupParent = "/tupper-test/clients"

// Set once by TestMain, read-only afterwards.
var (
	tmpDir         string              // everything the tests make lives under it
	realTupper     string              // the binary under test
	tupperWrapper  string              // <tmp>/bin/tupper: logs argv, then execs realTupper
	tupperRoot     string              // tupper's --root when the engine gives none
	callLog        string              // where the wrapper writes one line per call
	rootfsDir      string              // busybox rootfs (absolute)
	rootfsTar      string              // the same rootfs as a tar, for `podman import` and `docker import`
	devicesAtStart fixture.DeviceTable // host device nodes as they were at the start
)

func TestMain(m *testing.M) {
	if os.Geteuid() != 0 {
		fmt.Println("SKIP client tests: the engines run real containers and need root")
		os.Exit(0)
	}
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	var err error
	if tmpDir, err = os.MkdirTemp("", "tupper-clients-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmpDir)
	if err := setup(); err != nil {
		fmt.Fprintln(os.Stderr, "setup:", err)
		return 1
	}
	code := m.Run()
	for _, d := range fixture.CgroupDirs(cgroupParent) {
		if err := os.Remove(d); err != nil {
			fmt.Fprintln(os.Stderr, "warning: cgroup left behind:", err)
		}
	}
	return code
}

func setup() error {
	var err error
	if err := os.Chmod(tmpDir, 0o755); err != nil {
		return err
	}
	if devicesAtStart, err = fixture.ReadDevices(); err != nil {
		return err
	}
	if realTupper, err = fixture.Binary(tmpDir); err != nil {
		return err
	}
	rootfsDir = filepath.Join(tmpDir, "rootfs")
	if err := fixture.BuildRootfs(rootfsDir); err != nil {
		return fmt.Errorf("build rootfs: %w", err)
	}
	rootfsTar = filepath.Join(tmpDir, "busybox.tar")
	if b, err := exec.Command("tar", "-C", rootfsDir, "-cf", rootfsTar, ".").CombinedOutput(); err != nil {
		return fmt.Errorf("tar rootfs: %v: %s", err, b)
	}
	callLog = filepath.Join(tmpDir, "calls.log")
	tupperWrapper = filepath.Join(tmpDir, "bin", "tupper")
	if err := os.MkdirAll(filepath.Dir(tupperWrapper), 0o755); err != nil {
		return err
	}
	// One line per call: the argv, each argument quoted by printf %q (bash:
	// dash has no %q), appended in one write so that concurrent calls from an
	// engine do not interleave. tupper's state goes to tupperRoot unless the
	// engine names a root of its own (a later --root wins): podman names
	// none, and its containers' state would otherwise go to /run/tupper.
	tupperRoot = filepath.Join(tmpDir, "tupper-root")
	script := fmt.Sprintf("#!/bin/bash\nline=$(printf '%%q ' \"$@\")\necho \"$line\" >> %s\nexec %s --root %s \"$@\"\n", callLog, realTupper, tupperRoot)
	return os.WriteFile(tupperWrapper, []byte(script), 0o755)
}

// calls returns the argv lines the wrapper logged that contain every one of
// the words, in order of the calls.
func calls(words ...string) []string {
	data, _ := os.ReadFile(callLog)
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		ok := line != ""
		for _, w := range words {
			ok = ok && strings.Contains(line, w)
		}
		if ok {
			out = append(out, line)
		}
	}
	return out
}

// needBinaries fails the test when a client's program is missing: `make deps`
// installs them, so a missing one is a broken setup, not a reason to skip.
func needBinaries(t *testing.T, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			t.Fatalf("%s is not installed (make deps installs it): %v", n, err)
		}
	}
}

// checkHost fails the test if a host device node changed, and removes the
// cgroup path rel (under cgroupParent) with anything left in it.
func checkHost(t *testing.T, rel string) {
	t.Helper()
	for _, c := range fixture.DeviceChanges(devicesAtStart) {
		t.Error(c)
	}
	if err := fixture.RemoveCgroups(cgroupParent, rel); err != nil {
		t.Error(err)
	}
}

// bindMount is a directory of the test's that a daemon sees at target.
type bindMount struct{ source, target string }

// commandWithBinds returns a command that runs argv in a mount namespace of
// its own, in which each bind's source is first bound over its target. The
// engines write to some fixed host paths whatever their flags say (dockerd to
// /etc/docker, the runc shim to /run/containerd/s), and this keeps those
// writes in the test's directories. Unshareflags also makes / private
// (MS_REC|MS_PRIVATE) in the new namespace before the exec, so neither these
// mounts nor those the daemon makes later reach the host, and they all go away
// with the namespace's last process. The shell execs argv, so the command's
// pid is the daemon's. tmpDir must not lie under a target: the daemon and the
// clients in the host's namespace share the files under it.
func commandWithBinds(binds []bindMount, argv ...string) (*exec.Cmd, error) {
	script := "set -e\n"
	args := []string{"-c", "", "sh"}
	for i, b := range binds {
		if strings.HasPrefix(tmpDir+"/", strings.TrimSuffix(b.target, "/")+"/") {
			return nil, fmt.Errorf("bind over %s: the test directory %s lies under it and would be hidden (set TMPDIR elsewhere)", b.target, tmpDir)
		}
		script += fmt.Sprintf("mount --bind \"${%d}\" \"${%d}\"\n", 2*i+1, 2*i+2)
		args = append(args, b.source, b.target)
	}
	args[1] = script + fmt.Sprintf("shift %d\nexec \"$@\"\n", 2*len(binds))
	cmd := exec.Command("/bin/sh", append(args, argv...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
	return cmd, nil
}

// runInPty runs cmd with a new pty of rows x cols as its controlling terminal,
// stdin, stdout and stderr, as a terminal emulator would (the engines' -t
// wants a real terminal), and returns what it wrote there with \r\n turned
// into \n, and its exit code. It fails the test if cmd cannot start or is
// killed by its context.
func runInPty(t *testing.T, cmd *exec.Cmd, rows, cols uint16) (string, int) {
	t.Helper()
	master, slave, err := openPty(rows, cols)
	if err != nil {
		t.Fatal(err)
	}
	defer master.Close()
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	err = cmd.Start()
	slave.Close() // reads end with EIO once cmd, the last holder, exits
	if err != nil {
		t.Fatal(err)
	}
	read := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(master)
		read <- b
	}()
	err = cmd.Wait()
	out := strings.ReplaceAll(string(<-read), "\r\n", "\n")
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee) && ee.ExitCode() >= 0:
		return out, ee.ExitCode()
	case err != nil:
		t.Fatalf("%s: %v; output %q", strings.Join(cmd.Args, " "), err, out)
	}
	return out, 0
}

// openPty returns a new pty pair whose window is rows x cols.
func openPty(rows, cols uint16) (master, slave *os.File, err error) {
	master, err = os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, nil, err
	}
	fd := int(master.Fd())
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err == nil {
		err = unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0)
	}
	if err == nil {
		slave, err = os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	}
	if err == nil {
		err = unix.IoctlSetWinsize(int(slave.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: rows, Col: cols})
	}
	if err != nil {
		master.Close()
		if slave != nil {
			slave.Close()
		}
		return nil, nil, fmt.Errorf("open pty: %w", err)
	}
	return master, slave, nil
}
