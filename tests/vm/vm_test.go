package vm_test

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/tupper-runtime/tupper/tests/vm"
)

// smokeScript checks the guest is the host the package promises: cgroup v2 only,
// controllers delegated from the root, and a child cgroup that takes limits and
// processes.
const smokeScript = `
echo "uptime: $(cut -d' ' -f1 /proc/uptime)"
echo "controllers: $(cat /sys/fs/cgroup/cgroup.controllers)"
echo "subtree: $(cat /sys/fs/cgroup/cgroup.subtree_control)"
echo "mounts: $(grep cgroup /proc/mounts | cut -d' ' -f2,3 | tr '\n' ' ')"
set -e
mkdir /sys/fs/cgroup/smoke
echo 64M >/sys/fs/cgroup/smoke/memory.max
echo 100 >/sys/fs/cgroup/smoke/pids.max
echo "memory.max: $(cat /sys/fs/cgroup/smoke/memory.max)"
echo "pids.max: $(cat /sys/fs/cgroup/smoke/pids.max)"
sh -c 'echo $$ >/sys/fs/cgroup/smoke/cgroup.procs; echo "member: $(cat /proc/self/cgroup)"'
rmdir /sys/fs/cgroup/smoke
`

func TestGuestIsCgroupV2(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to build the guest")
	}
	out, rc := vm.Run(t, smokeScript)
	t.Logf("guest output:\n%s", out)
	if rc != 0 {
		t.Fatalf("smoke script: rc %d", rc)
	}
	if m := regexp.MustCompile(`(?m)^uptime: (\S+)$`).FindStringSubmatch(out); m != nil {
		t.Logf("guest reached the test script %s s after the kernel started", m[1])
	}
	for _, tc := range []struct{ name, want string }{
		{"memory controller", `(?m)^controllers: .*\bmemory\b`},
		{"pids controller", `(?m)^controllers: .*\bpids\b`},
		{"memory delegated", `(?m)^subtree: .*\bmemory\b`},
		{"pids delegated", `(?m)^subtree: .*\bpids\b`},
		{"only cgroup2, at /sys/fs/cgroup", `(?m)^mounts: /sys/fs/cgroup cgroup2 $`},
		{"memory.max written", `(?m)^memory.max: 67108864$`},
		{"pids.max written", `(?m)^pids.max: 100$`},
		{"process moved in", `(?m)^member: 0::/smoke$`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !regexp.MustCompile(tc.want).MatchString(out) {
				t.Errorf("guest output does not match %s", tc.want)
			}
		})
	}
}

// TestGuestRunsContainer runs a container with the host's runc or crun, which
// proves what tupper's tests rely on: dynamically linked files work in the guest,
// the /bundle root file system is usable, and pivot_root works (the guest's / is not
// the initramfs).
func TestGuestRunsContainer(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to build the guest")
	}
	runtime := ""
	for _, name := range []string{"crun", "runc"} {
		if p, err := exec.LookPath(name); err == nil {
			runtime = p
			break
		}
	}
	if runtime == "" {
		t.Skip("needs runc or crun on the host")
	}
	name := runtime[strings.LastIndex(runtime, "/")+1:]
	script := `
set -e
cd /bundle
` + name + ` spec
sed -i 's/"terminal": true/"terminal": false/; s|"sh"$|"sh", "-c", "echo in container; cat /proc/self/cgroup"|' config.json
` + name + ` run smoke
`
	out, rc := vm.Run(t, script, runtime)
	t.Logf("guest output:\n%s", out)
	if rc != 0 {
		t.Fatalf("%s run: rc %d", name, rc)
	}
	for _, want := range []string{"in container\n", "0::/\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("guest output lacks %q", want)
		}
	}
}
