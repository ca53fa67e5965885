package container

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
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
		return enoentWriter{p}, nil
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
