package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// Store is the root directory that holds every container's directory.
type Store struct {
	Root string
}

// Dir is one container's directory, held locked until Close.
type Dir struct {
	ID   string
	Path string
	fd   int
}

// Create makes and locks the directory for a new container. A directory
// that already exists means the id is taken.
func (s Store) Create(id string) (*Dir, error) {
	if err := os.MkdirAll(s.Root, 0o711); err != nil {
		return nil, fmt.Errorf("create state root: %w", err)
	}
	path := filepath.Join(s.Root, id)
	if err := unix.Mkdir(path, 0o711); err != nil {
		if errors.Is(err, unix.EEXIST) {
			return nil, fmt.Errorf("container %q: %w", id, ErrExist)
		}
		return nil, fmt.Errorf("create state directory %s: %w", path, err)
	}
	d, err := lock(id, path)
	if err != nil {
		_ = os.Remove(path)
		return nil, err
	}
	return d, nil
}

// Open locks the directory of an existing container.
func (s Store) Open(id string) (*Dir, error) {
	d, err := lock(id, filepath.Join(s.Root, id))
	if errors.Is(err, unix.ENOENT) {
		return nil, fmt.Errorf("container %q: %w", id, ErrNotExist)
	}
	return d, err
}

func lock(id, path string) (*Dir, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(fd, unix.LOCK_EX); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return &Dir{ID: id, Path: path, fd: fd}, nil
}

// List returns the ids of every container directory, sorted. Directories
// whose names start with a dot are the runtime's own (the seccomp cache).
func (s Store) List() ([]string, error) {
	entries, err := os.ReadDir(s.Root)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", s.Root, err)
	}
	ids := make([]string, 0, len(entries))
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			ids = append(ids, e.Name())
		}
	}
	sort.Strings(ids)
	return ids, nil
}

// Read loads the record. A directory without a record belongs to a create
// that crashed before its first write; it reads as an empty record for id,
// which the caller treats as stopped so delete can clean it up.
func (d *Dir) Read() (*Record, error) {
	data, err := os.ReadFile(filepath.Join(d.Path, FileName))
	if errors.Is(err, os.ErrNotExist) {
		return &Record{ID: d.ID}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read state: %w", err)
	}
	var r Record
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("read state %s: %w", filepath.Join(d.Path, FileName), err)
	}
	return &r, nil
}

// Write replaces the record atomically.
func (d *Dir) Write(r *Record) error {
	s, err := d.Stage(r)
	if err != nil {
		return err
	}
	return s.Commit()
}

// Stage writes the record beside state.json, for Commit to put in place
// later with one rename: create writes it while the init sets the
// container up, and only renames it once the init is ready.
func (d *Dir) Stage(r *Record) (*Staged, error) {
	data, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("encode state: %w", err)
	}
	path := filepath.Join(d.Path, FileName)
	tmp, err := writeTemp(path, data, 0o600)
	if err != nil {
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	return &Staged{tmp: tmp, path: path}, nil
}

// Staged is a record Stage wrote and Commit has not yet put in place.
type Staged struct{ tmp, path string }

// Commit replaces the record with the staged one.
func (s *Staged) Commit() error {
	if err := os.Rename(s.tmp, s.path); err != nil {
		os.Remove(s.tmp)
		return fmt.Errorf("write %s: %w", s.path, err)
	}
	return nil
}

// Discard removes the staged record.
func (s *Staged) Discard() { os.Remove(s.tmp) }

// Owner reads which init the record names, its pid and start time, which
// tell one container from a later one with the same id (a directory's
// inode number does not: the filesystem reuses it), without decoding the
// rest of the record.
func (d *Dir) Owner() (pid int, startTime uint64, err error) {
	data, err := os.ReadFile(filepath.Join(d.Path, FileName))
	if err != nil {
		return 0, 0, fmt.Errorf("read state: %w", err)
	}
	var r struct {
		Pid       int    `json:"pid"`
		StartTime uint64 `json:"start_time"`
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return 0, 0, fmt.Errorf("read state %s: %w", filepath.Join(d.Path, FileName), err)
	}
	return r.Pid, r.StartTime, nil
}

// FIFOPath is the path of the container's exec FIFO.
func (d *Dir) FIFOPath() string { return filepath.Join(d.Path, FIFOName) }

// SeccompPath is the path of the container's compiled seccomp program.
func (d *Dir) SeccompPath() string { return filepath.Join(d.Path, SeccompName) }

// Remove deletes the directory and everything in it; the lock goes with it.
func (d *Dir) Remove() error {
	err := os.RemoveAll(d.Path)
	d.Close()
	return err
}

// Close releases the lock.
func (d *Dir) Close() {
	if d.fd >= 0 {
		unix.Close(d.fd)
		d.fd = -1
	}
}

// WriteFileAtomic writes data to a temporary file beside path and renames it
// over path, so readers, and a runtime that crashed half-way, see the old
// content or the new, never a part. It is also used for --pid-file. There
// is no fsync: the state lives on tmpfs (/run) and must survive a crash of
// tupper, not of the machine; on a disk an fsync costs a container start
// tens of milliseconds.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp, err := writeTemp(path, data, perm)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return (&Staged{tmp: tmp, path: path}).Commit()
}

// writeTemp writes data to a new temporary file beside path, with perm,
// and returns its name.
func writeTemp(path string, data []byte, perm os.FileMode) (string, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".")
	if err != nil {
		return "", err
	}
	_, werr := tmp.Write(data)
	if werr == nil {
		werr = tmp.Chmod(perm)
	}
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		os.Remove(tmp.Name())
		return "", werr
	}
	return tmp.Name(), nil
}
