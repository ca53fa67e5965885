package main

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// runtimeTools is the module whose validation programs are run; go.mod pins
// the same version.
const runtimeTools = "github.com/opencontainers/runtime-tools@v0.9.0"

// runtime-tools v0.9.0 predates Go modules (it vendors with Godeps), so it is
// built in a copy with a go.mod of its own. The versions are the nearest ones
// the module proxy serves to the Godeps pins: runtime-spec v1.0.2 (Godeps has
// a commit between v1.0.1 and v1.0.2), satori/go.uuid v1.2.0 (the last whose
// NewV4 returns one value, as the tests call it) and selinux v1.8.5 (the last
// with label.FileLabel, which runtimetest calls).
var (
	//go:embed runtime-tools.go.mod
	goMod []byte
	//go:embed runtime-tools.go.sum
	goSum []byte
)

// suite is a built copy of the validation programs.
type suite struct {
	src    string   // the module copy: validation/<test>/*.go ("" for a prebuilt suite)
	bin    string   // one binary per test, plus runtimetest
	rootfs string   // rootfs-amd64.tar.gz
	tests  []string // the names of validation/*/ but util
}

// rootfsTar is the root filesystem the programs unpack into each bundle, from
// their working directory.
const rootfsTar = "rootfs-amd64.tar.gz"

// build makes (or reuses, when the stamp matches) the validation programs and
// runtimetest under cache.
func build(goCmd, cache string) (*suite, error) {
	modDir, err := moduleDir(goCmd)
	if err != nil {
		return nil, err
	}
	sum := sha256.New()
	sum.Write([]byte(modDir))
	sum.Write(goMod)
	sum.Write(goSum)
	stamp := hex.EncodeToString(sum.Sum(nil))

	s := &suite{src: filepath.Join(cache, "src"), bin: filepath.Join(cache, "bin")}
	s.rootfs = filepath.Join(s.src, rootfsTar)
	stampFile := filepath.Join(cache, "stamp")
	if old, err := os.ReadFile(stampFile); err != nil || string(old) != stamp {
		if err := os.RemoveAll(cache); err != nil {
			return nil, err
		}
		if err := copyTree(modDir, s.src); err != nil {
			return nil, fmt.Errorf("copy %s: %w", runtimeTools, err)
		}
		if err := os.WriteFile(filepath.Join(s.src, "go.mod"), goMod, 0o644); err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(s.src, "go.sum"), goSum, 0o644); err != nil {
			return nil, err
		}
		fmt.Fprintf(os.Stderr, "building the validation programs of %s in %s\n", runtimeTools, cache)
		// Static binaries: runtimetest runs inside the container's rootfs.
		if err := goBuild(goCmd, s.src, "-o", s.bin+"/", "./validation/...", "./cmd/runtimetest"); err != nil {
			return nil, err
		}
		if err := os.WriteFile(stampFile, []byte(stamp), 0o644); err != nil {
			return nil, err
		}
	}
	entries, err := os.ReadDir(filepath.Join(s.src, "validation"))
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if e.IsDir() && e.Name() != "util" {
			s.tests = append(s.tests, e.Name())
		}
	}
	slices.Sort(s.tests)
	return s, nil
}

// moduleDir downloads runtime-tools if needed and returns its directory in
// the module cache.
func moduleDir(goCmd string) (string, error) {
	out, err := exec.Command(goCmd, "mod", "download", "-json", runtimeTools).Output()
	if err != nil {
		return "", fmt.Errorf("go mod download %s: %w", runtimeTools, exitDetail(err))
	}
	var m struct{ Dir, Error string }
	if err := json.Unmarshal(out, &m); err != nil {
		return "", fmt.Errorf("go mod download %s: %w", runtimeTools, err)
	}
	if m.Error != "" || m.Dir == "" {
		return "", fmt.Errorf("go mod download %s: %s", runtimeTools, m.Error)
	}
	return m.Dir, nil
}

func goBuild(goCmd, dir string, args ...string) error {
	cmd := exec.Command(goCmd, append([]string{"build"}, args...)...)
	cmd.Dir = dir
	// The copy is a module of its own, outside any workspace; its go.sum
	// is complete, so nothing may change it.
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=readonly -buildvcs=false", "CGO_ENABLED=0")
	var stderr bytes.Buffer
	cmd.Stdout = os.Stderr
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build in %s: %w: %s", dir, err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// copyTree copies the module cache's read-only tree into a writable one.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, info.Mode().Perm()|0o200)
	})
}

// linkOrCopy puts src at dst, hard-linked when both are on one filesystem.
// It never makes a symlink: runtime-tools copies runtimetest into each bundle
// with a copy that keeps symlinks as links, which would dangle in the
// container.
func linkOrCopy(src, dst string) error {
	if err := os.Link(src, dst); err == nil {
		return nil
	}
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	info, err := os.Stat(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, data, info.Mode().Perm())
}

// exitDetail adds a command's stderr to its error.
func exitDetail(err error) error {
	if ee, ok := err.(*exec.ExitError); ok && len(ee.Stderr) > 0 {
		return fmt.Errorf("%w: %s", err, strings.TrimSpace(string(ee.Stderr)))
	}
	return err
}
