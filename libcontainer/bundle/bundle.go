// Package bundle owns the OCI bundle as tupper reads it: loading <bundle>/config.json
// into a specs.Spec, validating it (every error names the offending field), checking
// container ids, and producing the default spec that `tupper spec` writes.
//
// It does not act on the spec: mounts, namespaces and cgroups are applied by the
// rootfs, container and cgroups packages.
package bundle

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// ConfigFile is the name of the configuration file inside a bundle.
const ConfigFile = "config.json"

// Load reads dir/config.json and validates it against dir.
//
// Unknown properties are ignored: "Runtimes ... MUST NOT generate an error if they
// encounter an unknown property. Instead they MUST ignore unknown properties."
// -runtime-spec config.md
func Load(dir string) (*specs.Spec, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("bundle %s: %w", dir, unwrapPath(err))
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("bundle %s: not a directory", dir)
	}
	data, err := os.ReadFile(filepath.Join(dir, ConfigFile))
	if err != nil {
		return nil, fmt.Errorf("bundle %s: %s: %w", dir, ConfigFile, unwrapPath(err))
	}
	s, err := Decode(data)
	if err != nil {
		return nil, jsonError(data, err)
	}
	if err := Validate(s, dir); err != nil {
		return nil, err
	}
	return s, nil
}

// unwrapPath drops the *fs.PathError layer, whose op and path the caller's own
// wrapping already says; errors.Is(err, fs.ErrNotExist) keeps working.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// jsonError rewrites a decoding error as "config.json: <what> (line L, column C)",
// naming the field for type mismatches.
func jsonError(data []byte, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Errorf("%s: %s (%s)", ConfigFile, syn.Error(), position(data, syn.Offset))
	case errors.As(err, &typ):
		field := ""
		if typ.Field != "" {
			field = typ.Field + ": "
		}
		return fmt.Errorf("%s: %scannot unmarshal %s into %s (%s)",
			ConfigFile, field, typ.Value, typ.Type, position(data, typ.Offset))
	}
	return fmt.Errorf("%s: %w", ConfigFile, err)
}

// position turns a byte offset, as encoding/json reports it (just past the byte
// that went wrong), into a 1-based line and column.
func position(data []byte, off int64) string {
	off = min(max(off, 0), int64(len(data)))
	before := data[:off]
	line := bytes.Count(before, []byte{'\n'}) + 1
	col := len(before) - (bytes.LastIndexByte(before, '\n') + 1)
	return fmt.Sprintf("line %d, column %d", line, max(col, 1))
}
