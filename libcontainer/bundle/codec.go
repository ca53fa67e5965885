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
// about 0.3 ms, a sixth of it. Since the generated codec, encoding/json
// decodes a spec only for the error of one the generated decoder rejects;
// linuxSpec remains the form that codec is tested against.
type linuxSpec struct {
	specs.Spec
	Solaris json.RawMessage `json:"solaris,omitempty"`
	Windows json.RawMessage `json:"windows,omitempty"`
	VM      json.RawMessage `json:"vm,omitempty"`
	ZOS     json.RawMessage `json:"zos,omitempty"`
}

//go:generate go run ./internal/specgen -o spec_codec_gen.go

// Decode decodes a spec from JSON without its other platforms' sections;
// errors are encoding/json's, about a specs.Spec (Load makes them name the
// field).
//
// The generated decoder (spec_codec_gen.go) reads the spec first: it costs
// no reflection, where encoding/json spends about 1 ms building its codecs
// the first time a process decodes a spec. It accepts exactly what
// encoding/json accepts, with the same result, and fails on anything else;
// encoding/json then decodes again for its error, so errors stay its own.
func Decode(data []byte) (*specs.Spec, error) {
	if s, err := decodeFast(data); err == nil {
		return s, nil
	}
	return decodeJSON(data)
}

// decodeJSON is Decode with encoding/json alone.
func decodeJSON(data []byte) (*specs.Spec, error) {
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
// Decode would not read back. The generated encoder writes the bytes
// json.Marshal(&linuxSpec{Spec: *s}) would, without its reflection.
func Encode(s *specs.Spec) ([]byte, error) {
	return encodeSpec(make([]byte, 0, 4096), s), nil
}

// DecodeProcess decodes a specs.Process (a process.json, exec --process)
// as Decode does a spec: the generated decoder first, encoding/json for
// its errors. Clients exec through such a file, and encoding/json would
// build the process's codecs cold in every exec.
func DecodeProcess(data []byte) (*specs.Process, error) {
	if p, err := decodeGen(data, decodeProcess); err == nil {
		return p, nil
	}
	var ref specs.Process
	if err := json.Unmarshal(data, &ref); err != nil {
		return nil, err
	}
	return &ref, nil
}

// decodeFast decodes a spec with the generated decoder; any error is errFast.
func decodeFast(data []byte) (*specs.Spec, error) {
	return decodeGen(data, decodeSpec)
}

// decodeGen decodes data whole with a generated decoder; an error, or
// data left after the value, is errFast.
func decodeGen[T any](data []byte, dec func(*reader, *T) error) (*T, error) {
	r := newReader(data)
	var v T
	if err := dec(r, &v); err != nil {
		return nil, err
	}
	if !r.end() {
		return nil, errFast
	}
	return &v, nil
}
