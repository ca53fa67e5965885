package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Reproducers from a review of the C init (nsenter/fastinit.c). Each runs
// one config through both inits (initPaths) and wants the Go init's
// behaviour from both. At the commit they were written (after cbdb0f9)
// they fail on the C path; the Go path passes.

// TestInitCReviewNULInDestination: the plan's strings are NUL-separated,
// so a NUL inside mounts[].destination shifts the strings after it. The
// text after the NUL becomes the bind's source: the C init mounts a host
// directory the config never names as a source, where the Go init refuses
// the destination (mount(2) and openat2 take no NUL: "invalid argument").
func TestInitCReviewNULInDestination(t *testing.T) {
	secret := t.TempDir()
	if err := os.WriteFile(filepath.Join(secret, "s"), []byte("not-a-source\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	allowed := t.TempDir()
	for _, p := range initPaths() {
		t.Run(p.name, func(t *testing.T) {
			c := newCtr(t, "sh", "-c", "cat /x/s 2>/dev/null; true")
			c.spec.Root.Path = privateRootfs(t)
			c.spec.Mounts = append(c.spec.Mounts, specs.Mount{
				Destination: "/x\x00" + secret, Type: "bind", Source: allowed, Options: []string{"rbind"},
			})
			stderr, code, _ := createUnder(t, c, p)
			if code == 0 {
				c.must("start", nil)
				c.waitStatus(specs.StateStopped)
				out := readFile(t, c.out)
				t.Errorf("create accepted a destination with a NUL; the container saw %q (want a refusal, as the Go init gives: invalid argument)", out)
				return
			}
			if !strings.Contains(stderr, "invalid argument") {
				t.Errorf("create: exit %d: %q, want invalid argument", code, stderr)
			}
		})
	}
	checkDevices(t)
}

// TestInitCReviewTermCreated: `kill ID TERM` on a created container. The
// Go init has the Go runtime's handlers, so SIGTERM ends it (exit 2) even
// as pid 1 of its pid namespace; the C init has none, and the kernel drops
// a default-action signal to a pid namespace's init, so it stays created
// until SIGKILL (podman stop on a created container waits its timeout).
func TestInitCReviewTermCreated(t *testing.T) {
	for _, p := range initPaths() {
		t.Run(p.name, func(t *testing.T) {
			c := newCtr(t, "true")
			stderr, code, _ := createUnder(t, c, p)
			if code != 0 {
				t.Fatalf("create: exit %d: %s", code, stderr)
			}
			c.must("kill", nil, "TERM")
			var got specs.ContainerState
			if !eventually(func() bool { got = c.state().Status; return got == specs.StateStopped }) {
				t.Errorf("after kill TERM the created container is still %q, want stopped", got)
			}
		})
	}
}

// TestInitCReviewLongDevicePath: open_parent copies the path into a
// PATH_MAX buffer and the last component into NAME_MAX+1 without checking
// for truncation, so a linux.devices path with a 300-byte name makes a
// node under the first 255 bytes of it, where the Go init fails with
// "file name too long".
func TestInitCReviewLongDevicePath(t *testing.T) {
	name := strings.Repeat("c", 300)
	for _, p := range initPaths() {
		t.Run(p.name, func(t *testing.T) {
			c := newCtr(t, "sh", "-c", "ls /dev | grep -c ccc; true")
			c.spec.Root.Path = privateRootfs(t)
			c.spec.Linux.Devices = append(c.spec.Linux.Devices, specs.LinuxDevice{Path: "/dev/" + name, Type: "c", Major: 1, Minor: 3})
			stderr, code, _ := createUnder(t, c, p)
			if code == 0 {
				c.must("start", nil)
				c.waitStatus(specs.StateStopped)
				t.Errorf("create made a device for a %d-byte name (container's /dev count of ccc* entries: %q); want file name too long", len(name), readFile(t, c.out))
				return
			}
			if !strings.Contains(stderr, "file name too long") {
				t.Errorf("create: exit %d: %q, want file name too long", code, stderr)
			}
		})
	}
	checkDevices(t)
}
