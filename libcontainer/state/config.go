package state

import (
	"bytes"
	"encoding/json"
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/tupper-runtime/tupper/libcontainer/bundle"
)

// Config is the spec a container was created from, kept in the record as
// the JSON it was written as and decoded only in the parts a command asks
// for. Most commands need little of it or none (kill none, exec with
// --process none, delete only the hooks), and decoding a whole spec costs
// a short-lived command more than a millisecond: the first time it meets a
// type, encoding/json builds decoders and encoders for every type that
// type nests, and a spec nests nearly all of runtime-spec.
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
	if c.spec != nil {
		return c.spec.Process, nil
	}
	var part struct {
		Process *specs.Process `json:"process"`
	}
	err := c.decode(&part)
	return part.Process, err
}

// Hooks are the spec's hooks (nil if none).
func (c *Config) Hooks() (*specs.Hooks, error) {
	if c.spec != nil {
		return c.spec.Hooks, nil
	}
	if c.absent("hooks") {
		return nil, nil
	}
	var part struct {
		Hooks *specs.Hooks `json:"hooks"`
	}
	err := c.decode(&part)
	return part.Hooks, err
}

// Annotations are the spec's annotations (nil if none).
func (c *Config) Annotations() (map[string]string, error) {
	if c.spec != nil {
		return c.spec.Annotations, nil
	}
	if c.absent("annotations") {
		return nil, nil
	}
	var part struct {
		Annotations map[string]string `json:"annotations"`
	}
	err := c.decode(&part)
	return part.Annotations, err
}

// Seccomp is the spec's linux.seccomp (nil if none). Its presence is
// looked up first as raw JSON, so a config without a profile does not pay
// for building the profile's decoders.
func (c *Config) Seccomp() (*specs.LinuxSeccomp, error) {
	if c.spec != nil {
		if c.spec.Linux == nil {
			return nil, nil
		}
		return c.spec.Linux.Seccomp, nil
	}
	if c.absent("seccomp") {
		return nil, nil
	}
	var part struct {
		Linux *struct {
			Seccomp json.RawMessage `json:"seccomp"`
		} `json:"linux"`
	}
	if err := c.decode(&part); err != nil || part.Linux == nil {
		return nil, err
	}
	raw := part.Linux.Seccomp
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, nil
	}
	var s specs.LinuxSeccomp
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("recorded config: linux.seccomp: %w", err)
	}
	return &s, nil
}

// absent tells, without decoding, that the recorded config has no key of
// that name, and so no such part: the first decoding of a part's types
// costs more than looking. A key can be written with escapes ("\u0068ooks"),
// but the config was written by tupper's encoder, which escapes no letter.
func (c *Config) absent(key string) bool {
	return !bytes.Contains(c.raw, []byte(`"`+key+`"`))
}

func (c *Config) decode(v any) error {
	if c.raw == nil {
		return nil
	}
	if err := json.Unmarshal(c.raw, v); err != nil {
		return fmt.Errorf("recorded config: %w", err)
	}
	return nil
}
