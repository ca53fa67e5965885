package state

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestStoreLifecycle(t *testing.T) {
	s := Store{Root: filepath.Join(t.TempDir(), "root")}
	d, err := s.Create("c1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create("c1"); !errors.Is(err, ErrExist) {
		t.Fatalf("second create: got %v, want ErrExist", err)
	}
	rec := &Record{ID: "c1", Pid: 42, Bundle: "/b"}
	if err := d.Write(rec); err != nil {
		t.Fatal(err)
	}
	d.Close()

	d, err = s.Open("c1")
	if err != nil {
		t.Fatal(err)
	}
	got, err := d.Read()
	if err != nil {
		t.Fatal(err)
	}
	if got.Pid != 42 || got.Bundle != "/b" {
		t.Fatalf("read back %+v", got)
	}
	ids, err := s.List()
	if err != nil || len(ids) != 1 || ids[0] != "c1" {
		t.Fatalf("list = %v, %v", ids, err)
	}
	if err := d.Remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Open("c1"); !errors.Is(err, ErrNotExist) {
		t.Fatalf("open after remove: got %v, want ErrNotExist", err)
	}
}

func TestReadWithoutRecord(t *testing.T) {
	s := Store{Root: t.TempDir()}
	if err := os.Mkdir(filepath.Join(s.Root, "half"), 0o700); err != nil {
		t.Fatal(err)
	}
	d, err := s.Open("half")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	r, err := d.Read()
	if err != nil || r.ID != "half" || r.Pid != 0 {
		t.Fatalf("got %+v, %v; want an empty record for half", r, err)
	}
}

func TestWriteFileAtomicLeavesNoTemp(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "pid")
	if err := WriteFileAtomic(p, []byte("1"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(p, []byte("2"), 0o644); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("dir holds %d entries, want 1", len(entries))
	}
	if b, _ := os.ReadFile(p); string(b) != "2" {
		t.Fatalf("content %q", b)
	}
}

func TestListMissingRoot(t *testing.T) {
	ids, err := Store{Root: filepath.Join(t.TempDir(), "none")}.List()
	if err != nil || len(ids) != 0 {
		t.Fatalf("got %v, %v", ids, err)
	}
}

// The state root also holds the runtime's own directories (the seccomp
// cache); list must not show them as containers.
func TestListSkipsDotDirs(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{".seccomp-cache", "b", "a"} {
		if err := os.Mkdir(filepath.Join(root, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	ids, err := Store{Root: root}.List()
	if err != nil || strings.Join(ids, ",") != "a,b" {
		t.Fatalf("got %v, %v; want [a b]", ids, err)
	}
}

// TestStageCommit: a staged record is not the record until Commit; Discard
// leaves nothing behind.
func TestStageCommit(t *testing.T) {
	s := Store{Root: t.TempDir()}
	d, err := s.Create("c1")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	staged, err := d.Stage(&Record{ID: "c1", Pid: 42})
	if err != nil {
		t.Fatal(err)
	}
	if r, err := d.Read(); err != nil || r.Pid != 0 {
		t.Fatalf("before Commit: Read %+v, %v; want the empty record", r, err)
	}
	if err := staged.Commit(); err != nil {
		t.Fatal(err)
	}
	if r, err := d.Read(); err != nil || r.Pid != 42 {
		t.Fatalf("after Commit: Read %+v, %v; want pid 42", r, err)
	}
	again, err := d.Stage(&Record{ID: "c1", Pid: 43})
	if err != nil {
		t.Fatal(err)
	}
	again.Discard()
	entries, err := os.ReadDir(d.Path)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != FileName {
		t.Errorf("after Discard the directory holds %v, want only %s", entries, FileName)
	}
	if r, err := d.Read(); err != nil || r.Pid != 42 {
		t.Errorf("after Discard: Read %+v, %v; want pid 42 still", r, err)
	}
}
