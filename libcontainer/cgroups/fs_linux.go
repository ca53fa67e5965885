package cgroups

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// files creates cgroups and writes control files. Its fields are seams for
// the tests' fake trees, nil otherwise: trace sees every write (a control
// file such as devices.allow or io.max takes one rule per write, which a
// plain file cannot show), mkdir stands in for the kernel filling a new
// cgroup directory with control files.
type files struct {
	trace func(path, data string)
	mkdir func(path string) error
}

// write puts data in dir/name in a single write(2), the way the kernel wants
// control files written. Errors read "write /sys/fs/cgroup/x/pids.max: ...".
// Plain system calls, not an *os.File: cgroup files can be polled, so
// os.OpenFile would register each with the Go runtime's poller (four more
// system calls per file, and create writes dozens of files).
func (fl files) write(dir, name, data string) error {
	path := filepath.Join(dir, name)
	if fl.trace != nil {
		fl.trace(path, data)
	}
	fd, err := openRetry(path, unix.O_WRONLY|unix.O_TRUNC|unix.O_CLOEXEC)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	for {
		n, err := unix.Write(fd, []byte(data))
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return &os.PathError{Op: "write", Path: path, Err: err}
		case n != len(data):
			return &os.PathError{Op: "write", Path: path, Err: unix.EIO}
		}
		return nil
	}
}

// read returns dir/name without its trailing newline, with plain system
// calls as write does. Control files are small; a read that fills the
// buffer goes on until end of file.
func read(dir, name string) (string, error) {
	path := filepath.Join(dir, name)
	fd, err := openRetry(path, unix.O_RDONLY|unix.O_CLOEXEC)
	if err != nil {
		return "", err
	}
	defer unix.Close(fd)
	buf := make([]byte, 0, 512)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := unix.Read(fd, buf[len(buf):cap(buf)])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return "", &os.PathError{Op: "read", Path: path, Err: err}
		}
		if n == 0 {
			return strings.TrimSpace(string(buf)), nil
		}
		buf = buf[:len(buf)+n]
	}
}

// openRetry opens path with a plain system call, not registered with the
// Go runtime's poller, again after EINTR; an error is an *os.PathError.
func openRetry(path string, flags int) (int, error) {
	for {
		fd, err := unix.Open(path, flags, 0)
		if err == nil {
			return fd, nil
		}
		if err != unix.EINTR {
			return -1, &os.PathError{Op: "open", Path: path, Err: err}
		}
	}
}

func exists(dir, name string) bool {
	_, err := os.Stat(filepath.Join(dir, name))
	return err == nil
}

// mkdirLevels creates dir and every missing level above it, and returns the
// levels it created, top down.
func (fl files) mkdirLevels(dir string) ([]string, error) {
	mkdir := fl.mkdir
	if mkdir == nil {
		mkdir = func(p string) error { return os.Mkdir(p, 0o755) }
	}
	// Most often only dir is missing: one mkdir, without a stat of each
	// level first (create makes a dir per hierarchy, 13 here).
	switch err := mkdir(dir); {
	case err == nil:
		return []string{dir}, nil
	case errors.Is(err, fs.ErrExist):
		return nil, nil
	case !errors.Is(err, fs.ErrNotExist):
		return nil, err
	}
	var missing []string
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil {
			break
		} else if !errors.Is(err, fs.ErrNotExist) || d == "/" {
			return nil, err
		}
		missing = append(missing, d)
	}
	created := make([]string, 0, len(missing))
	for i := len(missing) - 1; i >= 0; i-- {
		if err := mkdir(missing[i]); err != nil && !errors.Is(err, fs.ErrExist) {
			return created, err
		}
		created = append(created, missing[i])
	}
	return created, nil
}

// pidsIn lists the processes in dir/cgroup.procs and in every cgroup below
// it. A cgroup that is gone has no processes.
func pidsIn(dir string) ([]int, error) {
	var pids []int
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if !d.IsDir() {
			return nil
		}
		data, err := os.ReadFile(filepath.Join(path, "cgroup.procs"))
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		for _, f := range strings.Fields(string(data)) {
			pid, err := strconv.Atoi(f)
			if err != nil {
				return &os.PathError{Op: "parse", Path: filepath.Join(path, "cgroup.procs"), Err: err}
			}
			pids = append(pids, pid)
		}
		return nil
	})
	return pids, err
}

// removeTree removes the cgroup dir and every cgroup below it. rmdir fails
// with EBUSY while the last processes of a killed container are exiting, so
// it retries for about a second.
func removeTree(dir string) error {
	// Most often dir holds no cgroup and no process any more: one rmdir
	// does it, where listing its few dozen files first costs more than
	// the rmdir (delete removes one dir per hierarchy, 13 here).
	if err := unix.Rmdir(dir); err == nil || err == unix.ENOENT {
		return nil
	}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.IsDir() {
			if err := removeTree(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	delay := 5 * time.Millisecond
	for i := 0; ; i++ {
		err := unix.Rmdir(dir)
		if err == nil || err == unix.ENOENT {
			return nil
		}
		// EBUSY lasts until the last task is released: a killed process
		// stays a zombie in its cgroup until its parent reaps it, and an
		// orphan's reaper (pid 1 or a subreaper) may take a second or more.
		if err != unix.EBUSY || i == 30 {
			return &os.PathError{Op: "rmdir", Path: dir, Err: err}
		}
		time.Sleep(delay)
		delay = min(2*delay, 200*time.Millisecond)
	}
}

// signalAll sends sig to every pid, skipping those already gone.
func signalAll(pids []int, sig unix.Signal) error {
	for _, pid := range pids {
		if err := unix.Kill(pid, sig); err != nil && err != unix.ESRCH {
			return &os.SyscallError{Syscall: "kill " + strconv.Itoa(pid), Err: err}
		}
	}
	return nil
}

// killFrozen signals every process of m while it is frozen, so that none
// can fork a child that escapes between listing and signalling. A cgroup
// that was paused stays paused, except after SIGKILL: the processes are
// thawed so that they can die.
func killFrozen(m Manager, sig unix.Signal) error {
	was, ferr := m.Frozen()
	froze := ferr == nil && m.Freeze(true) == nil
	pids, err := m.Pids()
	if err == nil {
		err = signalAll(pids, sig)
	}
	if froze && (!was || sig == unix.SIGKILL) {
		if terr := m.Freeze(false); err == nil {
			err = terr
		}
	}
	return err
}

// waitFor polls until done reports true, rewriting the request with retry
// now and then, or gives up after timeout.
func waitFor(timeout time.Duration, done func() (bool, error), retry func() error) error {
	deadline := time.Now().Add(timeout)
	delay := 100 * time.Microsecond
	for i := 1; ; i++ {
		ok, err := done()
		if err != nil || ok {
			return err
		}
		if time.Now().After(deadline) {
			return errFreezeTimeout
		}
		time.Sleep(delay)
		delay = min(2*delay, 10*time.Millisecond)
		if i%25 == 0 && retry != nil {
			if err := retry(); err != nil {
				return err
			}
		}
	}
}

var errFreezeTimeout = errors.New("timed out")

const freezeTimeout = 5 * time.Second
