package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// TestExecSeccomp: the container's seccomp profile applies to an exec'd
// process, in the flags' form and in the clients' --process form, whether
// exec finds the program create kept in the container's directory or, for
// a container an older tupper created without it, compiles the profile
// again.
func TestExecSeccomp(t *testing.T) {
	c, _ := runningCtr(t, func(c *ctr) {
		c.spec.Linux.Seccomp = denyMkdir(specs.ActErrno, errnoRet(unix.EMLINK))
	})
	root := c.root
	if root == "" {
		root = stateRoot
	}
	kept := filepath.Join(root, c.id, "seccomp.bpf")
	if _, err := os.Stat(kept); err != nil {
		t.Fatalf("create kept no seccomp program for exec: %v", err)
	}
	script := "mkdir /tmp/x; echo rc=$?; test -d /tmp/x && echo MADE; true"
	check := func(t *testing.T, how string, out, stderr string, code int) {
		t.Helper()
		if code != 0 || out != "rc=1\n" || !strings.Contains(stderr, "Too many links") {
			t.Errorf("%s: mkdir under ERRNO(EMLINK): exit %d, stdout %q, stderr %q; want rc=1 and EMLINK's message", how, code, out, stderr)
		}
	}
	for _, step := range []string{"kept program", "profile compiled again"} {
		t.Run(step, func(t *testing.T) {
			if step == "profile compiled again" {
				if err := os.Remove(kept); err != nil {
					t.Fatal(err)
				}
			}
			out, stderr, code := c.exec(nil, "sh", "-c", script)
			check(t, "exec", out, stderr, code)
			proc := writeProcess(t, &specs.Process{Args: []string{"sh", "-c", script}, Cwd: "/"})
			out, stderr, code = c.exec([]string{"--process", proc})
			check(t, "exec --process", out, stderr, code)
		})
	}
}
