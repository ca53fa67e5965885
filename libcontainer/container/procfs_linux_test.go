package container

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// inPrivateMounts runs f on a thread of its own in a new mount namespace
// with private propagation, so f's mounts over /proc reach nothing else;
// the thread is never unlocked, and dies, with the namespace, when f
// returns.
func inPrivateMounts(t *testing.T, f func() error) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: mounts over /proc in a private mount namespace")
	}
	errs := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		errs <- func() error {
			if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
				return fmt.Errorf("unshare mount namespace: %w", err)
			}
			if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
				return fmt.Errorf("make / private: %w", err)
			}
			return f()
		}()
	}()
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
}

// threadDir is /proc/<pid>/task/<tid> of the calling thread, where a mount
// over /proc/thread-self/... lands.
func threadDir() string {
	return fmt.Sprintf("/proc/%d/task/%d", os.Getpid(), unix.Gettid())
}

// mountSymlink mounts a new symlink to target over path (itself a
// symlink), which only the new mount API can do.
func mountSymlink(dir, target, path string) error {
	link := filepath.Join(dir, "link")
	if err := os.Symlink(target, link); err != nil {
		return err
	}
	fd, err := unix.OpenTree(unix.AT_FDCWD, link, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_SYMLINK_NOFOLLOW)
	if err != nil {
		return fmt.Errorf("open_tree %s: %w", link, err)
	}
	defer unix.Close(fd)
	if err := unix.MoveMount(fd, "", unix.AT_FDCWD, path, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return fmt.Errorf("move_mount onto %s: %w", path, err)
	}
	return nil
}

// TestOpenProcRefuses mounts over /proc what a config or a privileged
// container could, each way a plain open would be redirected, and checks
// that openProc refuses, and that nothing was written where the plain
// open would have gone. Each case first opens a file next to the target
// through openProc, so a refusal cannot come from a /proc that is broken
// altogether.
func TestOpenProcRefuses(t *testing.T) {
	tests := []struct {
		name  string
		rel   string
		setup func(dir string) error
		want  string // in the error
		errno error  // the error wraps it, when not nil
	}{{
		// A procfs file over the target passes a check that the file
		// is on procfs: only the refusal to cross mounts stops it.
		name: "procfs file bound over the target",
		rel:  "self/oom_score_adj",
		setup: func(string) error {
			return unix.Mount(threadDir()+"/comm", fmt.Sprintf("/proc/%d/oom_score_adj", os.Getpid()), "", unix.MS_BIND, "")
		},
		want: "open /proc/self/oom_score_adj: invalid cross-device link", errno: unix.EXDEV,
	}, {
		name: "procfs file bound over an LSM attribute",
		rel:  "thread-self/attr/exec",
		setup: func(string) error {
			return unix.Mount(threadDir()+"/comm", threadDir()+"/attr/exec", "", unix.MS_BIND, "")
		},
		want: "open /proc/thread-self/attr/exec: invalid cross-device link", errno: unix.EXDEV,
	}, {
		// /proc/self then names pid 1: a write meant for the caller
		// would change another process.
		name:  "symlink mounted over /proc/self",
		rel:   "self/oom_score_adj",
		setup: func(dir string) error { return mountSymlink(dir, "1", "/proc/self") },
		want:  "open /proc/self/oom_score_adj: self: invalid cross-device link", errno: unix.EXDEV,
	}, {
		name: "directory bound over /proc/<pid>/attr",
		rel:  "thread-self/attr/exec",
		setup: func(dir string) error {
			if err := os.WriteFile(filepath.Join(dir, "exec"), nil, 0o644); err != nil {
				return err
			}
			return unix.Mount(dir, threadDir()+"/attr", "", unix.MS_BIND, "")
		},
		want: "open /proc/thread-self/attr/exec: invalid cross-device link", errno: unix.EXDEV,
	}, {
		name: "tmpfs over /proc",
		rel:  "self/oom_score_adj",
		setup: func(string) error {
			if err := unix.Mount("tmpfs", "/proc", "tmpfs", 0, ""); err != nil {
				return err
			}
			if err := os.MkdirAll("/proc/self", 0o755); err != nil {
				return err
			}
			return os.WriteFile("/proc/self/oom_score_adj", nil, 0o644)
		},
		want: "open /proc/self/oom_score_adj: /proc is not the root of a procfs",
	}, {
		// procfs, but the root of a mount that is a process's directory.
		name: "procfs subdirectory bound over /proc",
		rel:  "self/oom_score_adj",
		setup: func(string) error {
			return unix.Mount(fmt.Sprintf("/proc/%d", os.Getpid()), "/proc", "", unix.MS_BIND, "")
		},
		want: "open /proc/self/oom_score_adj: /proc is not the root of a procfs",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			inPrivateMounts(t, func() error {
				// Before the mount: the same path opens.
				f, err := openProc(tt.rel, unix.O_RDONLY)
				if err != nil {
					return fmt.Errorf("before the mount: %w", err)
				}
				f.Close()
				if err := tt.setup(dir); err != nil {
					return fmt.Errorf("setup: %w", err)
				}
				f, err = openProc(tt.rel, unix.O_WRONLY)
				if err == nil {
					f.Close()
					return fmt.Errorf("openProc(%q) opened %s, want an error with %q", tt.rel, f.Name(), tt.want)
				}
				if !strings.Contains(err.Error(), tt.want) || (tt.errno != nil && !errors.Is(err, tt.errno)) {
					return fmt.Errorf("openProc(%q) = %v, want an error with %q", tt.rel, err, tt.want)
				}
				return nil
			})
		})
	}
}

// TestOpenProc: the paths the runtime writes open as the caller's own
// files, and writes through them land.
func TestOpenProc(t *testing.T) {
	errs := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread exits with its new name
		errs <- func() error {
			f, err := openProc("thread-self/comm", unix.O_WRONLY)
			if err != nil {
				return err
			}
			_, err = f.WriteString("openproc-test")
			f.Close()
			if err != nil {
				return err
			}
			b, err := os.ReadFile(threadDir() + "/comm")
			if err != nil {
				return err
			}
			if string(b) != "openproc-test\n" {
				return fmt.Errorf("thread's comm is %q after the write, want openproc-test", b)
			}
			return nil
		}()
	}()
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	for _, rel := range []string{"self/oom_score_adj", "thread-self/attr/current", "sys/kernel/hostname"} {
		f, err := openProc(rel, unix.O_RDONLY)
		if err != nil {
			t.Errorf("openProc(%q): %v", rel, err)
			continue
		}
		if f.Name() != "/proc/"+rel {
			t.Errorf("openProc(%q) named %q, want /proc/%s", rel, f.Name(), rel)
		}
		f.Close()
	}
}
