package container

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// A write that fails on a path that exists is the answer, not a reason to
// try the next path: AppArmor answers ENOENT to a write naming a profile it
// has not loaded, and the fallback used to hide that behind a misleading
// error about the next path.
func TestLSMLabelApply(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "exec")
	missing := filepath.Join(dir, "missing")
	tests := []struct {
		name    string
		paths   []string
		wantErr string // "" for success
		written bool   // file holds the data afterwards
	}{
		{"first missing, second written", []string{missing, file}, "", true},
		{"first written", []string{file, missing}, "", true},
		{"failing write is reported, not retried", []string{"/dev/full", file}, "no space left on device", false},
		{"all missing", []string{missing, missing + "2"}, "no such file or directory", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := os.WriteFile(file, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			l := lsmLabel{field: "process.apparmorProfile", value: "p", lsm: "AppArmor", paths: tt.paths, data: "exec p"}
			l.open = func(p string) (io.WriteCloser, error) { return os.OpenFile(p, os.O_WRONLY, 0) }
			err := l.apply()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("apply() = %v, want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("apply() = %v, want an error with %q", err, tt.wantErr)
			}
			got, _ := os.ReadFile(file)
			if (string(got) == "exec p") != tt.written {
				t.Errorf("%s holds %q after apply(); written = %v wanted", file, got, tt.written)
			}
		})
	}
}

// enoentWriter fails every write as AppArmor does for a profile it has not
// loaded.
type enoentWriter struct{ path string }

func (w enoentWriter) Write([]byte) (int, error) {
	return 0, &os.PathError{Op: "write", Path: w.path, Err: syscall.ENOENT}
}

func (enoentWriter) Close() error { return nil }

// The ENOENT of a write is reported as a missing profile, for the first
// path, and the next path is not tried (it used to be, and its error hid
// this one).
func TestLSMLabelApplyUnknownProfile(t *testing.T) {
	var opened []string
	l := appArmorLabel("acme")
	l.open = func(p string) (io.WriteCloser, error) {
		opened = append(opened, p)
		return enoentWriter{"/proc/" + p}, nil
	}
	err := l.apply()
	want := `process.apparmorProfile "acme": not loaded in the kernel's AppArmor: write /proc/thread-self/attr/apparmor/exec: no such file or directory`
	if err == nil || err.Error() != want {
		t.Errorf("apply() = %v, want %s", err, want)
	}
	if len(opened) != 1 {
		t.Errorf("opened %q, want only the first path", opened)
	}
}

// CVE-2019-16884: a file mounted over the attr file takes the label, the
// write succeeds, and the process runs unconfined. Here the thread's own
// comm, a procfs file that takes any write, is bound over every path the
// label could go to, in a private mount namespace; apply must refuse, and
// the thread's name stay as it was. (Neither LSM needs to be enabled:
// apply only writes.)
func TestLSMLabelApplyMountedOver(t *testing.T) {
	for _, l := range []lsmLabel{appArmorLabel("acme"), seLinuxLabel("system_u:system_r:acme_t:s0")} {
		t.Run(l.lsm, func(t *testing.T) {
			inPrivateMounts(t, func() error {
				comm := threadDir() + "/comm"
				if err := os.WriteFile(comm, []byte("lsm-test"), 0o644); err != nil {
					return err
				}
				bound := 0
				for _, p := range l.paths {
					target := threadDir() + strings.TrimPrefix(p, "thread-self")
					if _, err := os.Stat(target); err != nil {
						continue // attr/apparmor: only when the kernel has AppArmor
					}
					if err := unix.Mount(comm, target, "", unix.MS_BIND, ""); err != nil {
						return fmt.Errorf("bind %s over %s: %w", comm, target, err)
					}
					bound++
				}
				if bound == 0 {
					return fmt.Errorf("none of %q exists under %s", l.paths, threadDir())
				}
				err := l.apply()
				b, _ := os.ReadFile(comm)
				if string(b) != "lsm-test\n" {
					return fmt.Errorf("the label went into the file mounted over the attr file: comm is %q; apply() = %v", b, err)
				}
				if !errors.Is(err, unix.EXDEV) {
					return fmt.Errorf("apply() = %v, want the refusal to cross the mount (EXDEV)", err)
				}
				return nil
			})
		})
	}
}
