package nsenter

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// runFastExec runs the C fast path (fastexec.c) for real: this test binary
// carries the constructor, so it is re-executed with a Request that forks
// and hands f to tupper_fast_exec. It returns the JSON lines the child and
// the constructor's intermediate wrote on the sync socket.
func runFastExec(t *testing.T, f *FastExec, extra ...*os.File) []string {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	parent, child := os.NewFile(uintptr(fds[0]), "parent"), os.NewFile(uintptr(fds[1]), "child")
	defer parent.Close()
	files := append([]*os.File{child}, extra...) // the sync socket is fd 3
	req := &Request{SyncFD: 3, Fork: true, FastExec: true}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = []string{EnvName + "=" + req.Encode()}
	cmd.ExtraFiles = files
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Reaped on every return, a t.Fatal's too; our end closed first, so a
	// child still waiting for its process reads EOF and ends.
	defer func() {
		parent.Close()
		_ = cmd.Wait()
	}()
	child.Close()
	if _, err := parent.Write(f.Encode()); err != nil {
		t.Fatal(err)
	}
	var lines []string
	for s := bufio.NewScanner(parent); s.Scan(); {
		lines = append(lines, s.Text())
	}
	return lines
}

// TestFastExecCwdOutsideRoot: the fast path refuses a cwd outside the
// process's root, which getcwd reads back as "(unreachable)/..."
// (CVE-2024-21626 class). The root is /proc, through RootFD as for a
// container without a mount namespace; "/<pid>/cwd" in it is this test's
// cwd, outside that root, and "/self" is inside it. Nothing is executed:
// /proc holds no program, so the control case ends at the PATH lookup.
func TestFastExecCwdOutsideRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the fast path chroots into RootFD")
	}
	root, err := os.Open("/proc")
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	outside := fmt.Sprintf("/%d/cwd", os.Getpid())
	for _, tc := range []struct {
		cwd, want string
	}{
		{outside, `process.cwd ` + outside + `: resolves outside the container (\"(unreachable)`},
		{"/self", `exec: \"no-such-program\": executable file not found in $PATH`},
	} {
		t.Run(tc.cwd, func(t *testing.T) {
			// fd 3 is the sync socket, fd 4 the root.
			f := &FastExec{Args: []string{"no-such-program"}, Cwd: tc.cwd, RootFD: 4}
			lines := runFastExec(t, f, root)
			got := strings.Join(lines, "\n")
			if !strings.Contains(got, `{"type":"error","error":"`+tc.want) {
				t.Errorf("fast exec with cwd %s: the child reported\n%s\nwant the error %s", tc.cwd, got, tc.want)
			}
		})
	}
}
