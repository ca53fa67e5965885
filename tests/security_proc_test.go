package tests

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// fakeTaskDir is a host directory to bind over the init's /proc/1/task,
// with attr files for tids 1 to 64 (the init is pid 1 of a new pid
// namespace, and its Go threads take the next few numbers), so that
// /proc/thread-self/attr/... resolves into it whichever thread writes.
// AppArmor reads as enabled: attr/apparmor/current is there.
func fakeTaskDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for tid := 1; tid <= 64; tid++ {
		attr := filepath.Join(dir, fmt.Sprint(tid), "attr")
		if err := os.MkdirAll(filepath.Join(attr, "apparmor"), 0o755); err != nil {
			t.Fatal(err)
		}
		for name, content := range map[string]string{"apparmor/current": "unconfined\n", "apparmor/exec": "", "exec": ""} {
			if err := os.WriteFile(filepath.Join(attr, name), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir
}

// labelsWritten lists the fake attr files that hold something they did not
// hold at the start: a label the runtime wrote into a plain file.
func labelsWritten(t *testing.T, dir string) []string {
	t.Helper()
	var got []string
	for _, pattern := range []string{"*/attr/exec", "*/attr/apparmor/exec"} {
		files, _ := filepath.Glob(filepath.Join(dir, pattern))
		for _, f := range files {
			if b := readFile(t, f); b != "" {
				got = append(got, fmt.Sprintf("%s: %q", strings.TrimPrefix(f, dir), b))
			}
		}
	}
	return got
}

// TestSecurityLSMLabelRedirect is CVE-2019-16884 against a host without
// AppArmor or SELinux: the config binds a host directory over the init's
// /proc/1/task, which holds every file the init reads to decide that the
// LSM is enabled and every file it writes the label to; for SELinux a file
// over /proc/filesystems lists selinuxfs. A runtime that writes the label
// through a plain open reports success, and the process runs unconfined
// with the label in a host file. tupper must refuse, with openProc's
// refusal to cross a mount, and nothing may reach the host files. (What
// this does not show: that the label lands on a host where the LSM is
// real; the unit tests in libcontainer/container cover the open itself.)
func TestSecurityLSMLabelRedirect(t *testing.T) {
	tests := []struct {
		name  string
		label func(p *specs.Process)
		field string
	}{
		{"AppArmor", func(p *specs.Process) { p.ApparmorProfile = "tupper-test" }, `process.apparmorProfile "tupper-test"`},
		{"SELinux", func(p *specs.Process) { p.SelinuxLabel = "system_u:system_r:tupper_t:s0" }, `process.selinuxLabel "system_u:system_r:tupper_t:s0"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := fakeTaskDir(t)
			filesystems := filepath.Join(t.TempDir(), "filesystems")
			if err := os.WriteFile(filesystems, []byte("nodev\tproc\nnodev\tselinuxfs\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			c := newCtr(t, "true")
			c.spec.Mounts = append(c.spec.Mounts,
				specs.Mount{Destination: "/proc/1/task", Type: "bind", Source: fake, Options: []string{"rbind"}},
				specs.Mount{Destination: "/proc/filesystems", Type: "bind", Source: filesystems, Options: []string{"bind"}})
			tt.label(c.spec.Process)
			out, stderr, code := c.run()
			t.Logf("exit %d, stdout %q, stderr %q", code, out, stderr)
			if w := labelsWritten(t, fake); len(w) > 0 {
				t.Errorf("the label went into a host file mounted over /proc (CVE-2019-16884), exit %d: %s", code, strings.Join(w, ", "))
			}
			want := tt.field + ": open /proc/thread-self/attr/"
			if code == 0 || !strings.Contains(stderr, want) || !strings.Contains(stderr, "invalid cross-device link") {
				t.Errorf("run: exit %d, stderr %q; want a failure with %q ... invalid cross-device link", code, stderr, want)
			}
		})
	}
}
