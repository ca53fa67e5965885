package bundle

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// linuxSpec is the form tupper decodes and encodes a spec in: the spec
// with the sections of other platforms (solaris, windows, vm, zos) kept
// as raw JSON, and not read. The first time encoding/json meets a struct
// type it builds codecs for every type the struct nests, and those
// sections nest dozens of types a Linux runtime never uses: a create
// decodes a spec twice (here and in its init), and each time this saves
// about 0.3 ms, a sixth of it.
type linuxSpec struct {
	specs.Spec
	Solaris json.RawMessage `json:"solaris,omitempty"`
	Windows json.RawMessage `json:"windows,omitempty"`
	VM      json.RawMessage `json:"vm,omitempty"`
	ZOS     json.RawMessage `json:"zos,omitempty"`
}

// Decode decodes a spec from JSON without its other platforms' sections;
// errors are encoding/json's, about a specs.Spec (Load makes them name the
// field).
func Decode(data []byte) (*specs.Spec, error) {
	var s linuxSpec
	if err := json.Unmarshal(data, &s); err != nil {
		var typ *json.UnmarshalTypeError
		if errors.As(err, &typ) {
			// The wrapper is ours: the error is about the spec.
			typ.Field = strings.TrimPrefix(typ.Field, "Spec.")
			if typ.Type == reflect.TypeFor[linuxSpec]() {
				typ.Type = reflect.TypeFor[specs.Spec]()
			}
		}
		return nil, err
	}
	return &s.Spec, nil
}

// Encode encodes s as JSON without its other platforms' sections, which
// Decode would not read back.
func Encode(s *specs.Spec) ([]byte, error) {
	return json.Marshal(&linuxSpec{Spec: *s})
}
