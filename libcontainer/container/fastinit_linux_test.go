package container

import (
	"regexp"
	"strings"
	"testing"

	"github.com/tupper-runtime/tupper/libcontainer/bundle"
	"github.com/tupper-runtime/tupper/libcontainer/nsenter"
	"github.com/tupper-runtime/tupper/libcontainer/rootfs"
)

// TestFastInitPlanOrder: for the default config, the C init's plan keeps
// the Go init's order, and on a staged cgroup joins it (OpJoin) only after
// the mounts that need neither it nor the network namespace, makes the
// cgroup namespace right after, and waits for the device rules (OpDevWait)
// before its first device; without a staged cgroup there is neither.
func TestFastInitPlanOrder(t *testing.T) {
	for _, tc := range []struct {
		late bool
		want string // one letter per operation (nsenter.Op codes): m mounts, d devices, l /dev links, p the pivot
	}{
		{true, "HPBmmmmmJGmmVddddddlp"},
		{false, "HGPBmmmmmmmddddddlp"},
	} {
		rc := &rootfs.Config{Spec: bundle.Default(false), Rootfs: "/nonexistent", Bundle: "/nonexistent"}
		ops, err := fastInitPlan(rc, 7, tc.late)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for _, op := range ops {
			b.WriteByte(op.Code)
		}
		// The /dev links, /dev/core among them only where the kernel
		// has /proc/kcore, as one; the v1 cgroup tree (c) is a cgroup2
		// mount (m) on a v2 host.
		got := regexp.MustCompile("l+").ReplaceAllString(strings.ReplaceAll(b.String(), "c", "m"), "l")
		// Up to the pivot; the finalize steps and the FIFO follow.
		head, _, ok := strings.Cut(got, "p")
		if !ok || !strings.HasSuffix(got, string(rune(nsenter.OpFIFO))) {
			t.Fatalf("late=%v: plan %q has no pivot or does not end with the FIFO", tc.late, got)
		}
		if want, _, _ := strings.Cut(tc.want, "p"); head != want {
			t.Errorf("late=%v: plan up to the pivot %q, want %q", tc.late, head, want)
		}
	}
}
