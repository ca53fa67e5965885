package state

import (
	"bytes"
	"encoding/json"
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/tupper-runtime/tupper/libcontainer/bundle"
)

// Config is the spec a container was created from, kept in the record as
// the JSON it was written as and decoded only when a command asks for a part
// of it: kill needs none, state the annotations, delete the hooks, exec
// the process.
// A part whose key does not appear in the JSON is known to be absent without
// decoding; otherwise the whole spec is decoded, by the generated codec
// (bundle.Decode), in about a tenth of a millisecond.
type Config struct {
	raw  json.RawMessage
	spec *specs.Spec // set by NewConfig, or by Spec once decoded
}

// NewConfig records s.
func NewConfig(s *specs.Spec) Config { return Config{spec: s} }

// MarshalJSON writes the spec (without other platforms' sections, see
// bundle.Encode), or the JSON it was read as.
func (c Config) MarshalJSON() ([]byte, error) {
	if c.spec != nil {
		return bundle.Encode(c.spec)
	}
	if len(c.raw) == 0 {
		return []byte("null"), nil
	}
	return c.raw, nil
}

// UnmarshalJSON keeps b for the accessors to decode.
func (c *Config) UnmarshalJSON(b []byte) error {
	c.spec = nil
	c.raw = nil
	if !bytes.Equal(b, []byte("null")) {
		c.raw = append(json.RawMessage(nil), b...)
	}
	return nil
}

// Spec decodes the whole spec (nil if none was recorded). The result is
// kept: a caller that changes it changes what Write records.
func (c *Config) Spec() (*specs.Spec, error) {
	if c.spec == nil && c.raw != nil {
		s, err := bundle.Decode(c.raw)
		if err != nil {
			return nil, fmt.Errorf("recorded config: %w", err)
		}
		c.spec, c.raw = s, nil
	}
	return c.spec, nil
}

// Process is the spec's process (nil if none).
func (c *Config) Process() (*specs.Process, error) {
	s, err := c.Spec()
	if s == nil || err != nil {
		return nil, err
	}
	return s.Process, nil
}

// Hooks are the spec's hooks (nil if none).
func (c *Config) Hooks() (*specs.Hooks, error) {
	s, err := c.specWith("hooks")
	if s == nil || err != nil {
		return nil, err
	}
	return s.Hooks, nil
}

// Annotations are the spec's annotations (nil if none).
func (c *Config) Annotations() (map[string]string, error) {
	s, err := c.specWith("annotations")
	if s == nil || err != nil {
		return nil, err
	}
	return s.Annotations, nil
}

// Seccomp is the spec's linux.seccomp (nil if none).
func (c *Config) Seccomp() (*specs.LinuxSeccomp, error) {
	s, err := c.specWith("seccomp")
	if s == nil || s.Linux == nil || err != nil {
		return nil, err
	}
	return s.Linux.Seccomp, nil
}

// specWith is Spec, or nil without decoding when the recorded config has
// no key named key.
func (c *Config) specWith(key string) (*specs.Spec, error) {
	if c.spec == nil && c.absent(key) {
		return nil, nil
	}
	return c.Spec()
}

// absent tells, without decoding, that the recorded config has no key of
// that name, and so no such part: decoding costs more than looking. A key
// can be written with escapes ("\u0068ooks"), but the config was written by
// tupper's encoder, which escapes no letter.
func (c *Config) absent(key string) bool {
	return !bytes.Contains(c.raw, []byte(`"`+key+`"`))
}
