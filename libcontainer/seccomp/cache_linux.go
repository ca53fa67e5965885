package seccomp

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
)

// cacheFormat changes whenever the compiler would build a different
// program from the same profile, or the entries' layout changes, so old
// entries stop matching. Entries are programs in their binary form
// (Program.MarshalBinary), named by the key and cacheExt.
const (
	cacheFormat = "tupper-seccomp-3"
	cacheExt    = ".bpf"
)

// compileFunc turns a profile into a program; it is the seam the tests
// count libseccomp's work through.
type compileFunc func(*specs.LinuxSeccomp) (*Program, error)

// compileCached returns the cached program for s, or builds it and
// caches it. The cache is an optimisation: failing to read or write it
// only costs a compile.
func compileCached(s *specs.LinuxSeccomp, cacheDir string, build compileFunc) (*Program, error) {
	if s == nil {
		return nil, nil
	}
	if cacheDir == "" {
		return build(s)
	}
	key, err := cacheKey(s)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(cacheDir, key+cacheExt)
	if p := readCached(path); p != nil {
		return p, nil
	}
	p, err := build(s)
	if err != nil {
		return nil, err
	}
	_ = writeCached(cacheDir, path, p)
	return p, nil
}

// cacheKey hashes the profile with what else decides the program: our
// compiler, libseccomp's version (which syscalls it knows) and the
// architecture. GetLibraryVersion reads values the binding keeps, so a
// cache hit never calls into libseccomp.
func cacheKey(s *specs.LinuxSeccomp) (string, error) {
	profile, err := json.Marshal(s)
	if err != nil {
		return "", fmt.Errorf("linux.seccomp: encode: %w", err)
	}
	major, minor, micro := libseccomp.GetLibraryVersion()
	h := sha256.New()
	fmt.Fprintf(h, "%s\nlibseccomp %d.%d.%d\n%s\n", cacheFormat, major, minor, micro, runtime.GOARCH)
	h.Write(profile)
	return hex.EncodeToString(h.Sum(nil)), nil
}

func readCached(path string) *Program {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	p, err := ParseProgram(b)
	if err != nil {
		return nil
	}
	return p
}

// writeCached writes p atomically: a reader sees the old entry, none, or
// the whole new one.
func writeCached(dir, path string, p *Program) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	b, err := p.MarshalBinary()
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // after a successful rename there is nothing to remove
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
