package tests

import (
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestInitDevicesAfterRules: the devices are made once the cgroup's device
// rules are in place, not while they are written. The rules go in one
// write each, the first denying everything, so a mknod in between is
// refused and the init binds the host's node instead: /dev/null would be
// a mount of devtmpfs. A few hundred rules widen that window to
// milliseconds; the C init waits for them (OpDevWait), the Go init gets
// its config after them. Both must make their nodes with mknod.
func TestInitDevicesAfterRules(t *testing.T) {
	if pureV2() {
		t.Skip("cgroup v2 device rules are one eBPF program, loaded at once")
	}
	runs := runBoth(t, nil, func(t *testing.T, c *ctr) {
		for i := range 300 {
			major, minor := int64(240), int64(i)
			c.spec.Linux.Resources.Devices = append(c.spec.Linux.Resources.Devices,
				specs.LinuxDeviceCgroup{Allow: true, Type: "c", Major: &major, Minor: &minor, Access: "rw"})
		}
	})
	for i, p := range initPaths() {
		for _, kind := range []string{"create", "run"} {
			out := runs[i].created
			if kind == "run" {
				out = runs[i].run
			}
			for _, dev := range []string{"/dev/null", "/dev/zero", "/dev/tty"} {
				for _, line := range strings.Split(out["mountinfo"], "\n") {
					if strings.HasPrefix(line, dev+" ") {
						t.Errorf("%s, %s: %s is a bind of the host's node, made while the device rules were written: %s", p.name, kind, dev, line)
					}
				}
			}
		}
	}
}
