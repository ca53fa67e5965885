package seccomp

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// counting wraps the real compiler and counts its calls: a cache hit must
// not reach libseccomp.
type counting struct{ calls int }

func (c *counting) build(s *specs.LinuxSeccomp) (*Program, error) {
	c.calls++
	return compile(s)
}

func profile(errnoRet uint) *specs.LinuxSeccomp {
	return &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{
		{Names: []string{"uname"}, Action: specs.ActErrno, ErrnoRet: &errnoRet},
	}}
}

func cacheFiles(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestCacheHitAndMiss(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cache")
	c := &counting{}
	first, err := compileCached(profile(1), dir, c.build)
	if err != nil {
		t.Fatal(err)
	}
	if c.calls != 1 {
		t.Fatalf("first compile: %d calls, want 1", c.calls)
	}
	if files := cacheFiles(t, dir); len(files) != 1 || filepath.Ext(files[0]) != cacheExt {
		t.Fatalf("cache dir holds %v, want one entry and no temp file", files)
	}
	hit, err := compileCached(profile(1), dir, c.build)
	if err != nil {
		t.Fatal(err)
	}
	if c.calls != 1 {
		t.Errorf("same profile again: %d calls, want a hit", c.calls)
	}
	if !bytes.Equal(hit.Filter, first.Filter) || hit.Flags != first.Flags {
		t.Errorf("cached program differs from the compiled one")
	}
	if _, err := compileCached(profile(2), dir, c.build); err != nil {
		t.Fatal(err)
	}
	if c.calls != 2 {
		t.Errorf("another profile: %d calls, want a miss", c.calls)
	}
	if files := cacheFiles(t, dir); len(files) != 2 {
		t.Errorf("cache dir holds %v, want two entries", files)
	}
}

func TestCacheDamaged(t *testing.T) {
	dir := t.TempDir()
	c := &counting{}
	if _, err := compileCached(profile(1), dir, c.build); err != nil {
		t.Fatal(err)
	}
	key, err := cacheKey(profile(1))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, key+cacheExt)
	good, err := (&Program{Filter: make([]byte, sockFilterSize)}).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	for _, content := range []string{"", "{", `{"filter":"AAAAAAAAAAA="}`, string(good[:len(good)-1]), string(good[:len(programMagic)+3])} {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		before := c.calls
		p, err := compileCached(profile(1), dir, c.build)
		if err != nil || !p.valid() {
			t.Fatalf("entry %q: %v, %v", content, p, err)
		}
		if c.calls != before+1 {
			t.Errorf("entry %q: used instead of compiling", content)
		}
	}
	if p := readCached(path); p == nil {
		t.Error("a damaged entry was not replaced")
	}
}

func TestCacheUnusable(t *testing.T) {
	// A file where the cache directory should be: compile anyway.
	dir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(dir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	c := &counting{}
	for range 2 {
		if p, err := compileCached(profile(1), dir, c.build); err != nil || p == nil {
			t.Fatalf("compile with a broken cache: %v, %v", p, err)
		}
	}
	if c.calls != 2 {
		t.Errorf("%d calls, want 2", c.calls)
	}
}

func TestCacheNoDir(t *testing.T) {
	c := &counting{}
	for range 2 {
		if _, err := compileCached(profile(1), "", c.build); err != nil {
			t.Fatal(err)
		}
	}
	if c.calls != 2 {
		t.Errorf("no cache dir: %d calls, want 2", c.calls)
	}
}

func TestCacheErrorNotCached(t *testing.T) {
	dir := t.TempDir()
	bad := &specs.LinuxSeccomp{DefaultAction: "SCMP_ACT_FOO"}
	if _, err := Compile(bad, dir); err == nil {
		t.Fatal("bad profile compiled")
	}
	if files := cacheFiles(t, dir); len(files) != 0 {
		t.Errorf("cache holds %v after an error", files)
	}
}
