package tests

import (
	"os"
	"strings"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
)

// TestNoMountNamespace: a container without a mount namespace of its own
// still gets root.path as its root ("root specifies the container's root
// filesystem"; runc chroots), but nothing is mounted, since that would be
// done in the host's namespace: its /proc stays an empty directory. create
// looks the command up in that root, and start reopens the exec FIFO
// through the runtime's /proc. (runtime-tools' linux_ns_itype creates such
// a container; create used to look /runtimetest up on the host.)
func TestNoMountNamespace(t *testing.T) {
	c := newCtr(t, "/bin/sh", "-c", "ls /; echo proc: $(ls -A /proc | wc -l)")
	c.dropNamespace(specs.MountNamespace)
	// Both need a mount namespace; without one they would be the host's.
	c.spec.Linux.MaskedPaths, c.spec.Linux.ReadonlyPaths = nil, nil
	out := c.mustRun()

	entries, err := os.ReadDir(rootfsDir)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, e := range entries {
		want = append(want, e.Name())
	}
	wantOut := strings.Join(want, "\n") + "\nproc: 0\n"
	if out != wantOut {
		t.Errorf("the container saw:\n%s\nwant the rootfs's entries and an empty /proc:\n%s", out, wantOut)
	}
	mounts, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(mounts), " "+rootfsDir) {
		t.Errorf("something was mounted in the rootfs, in the host's mount namespace:\n%s", mounts)
	}
}
