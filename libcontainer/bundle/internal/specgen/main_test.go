package main

import (
	"bytes"
	"os"
	"reflect"
	"testing"
)

// The committed codec must be what the generator writes for the
// runtime-spec in go.mod: a bump of it, or a change here, needs
// `go generate ./libcontainer/bundle`.
func TestGeneratedFileUpToDate(t *testing.T) {
	want, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("../../spec_codec_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("libcontainer/bundle/spec_codec_gen.go differs from what specgen writes now: run `go generate ./libcontainer/bundle`")
	}
}

type fakeMarshaler struct{}

func (fakeMarshaler) MarshalJSON() ([]byte, error) { return []byte("{}"), nil }

type fakeText string

func (*fakeText) UnmarshalText([]byte) error { return nil }

type Inner struct{ A int }

type (
	withInterface   struct{ X any }
	withMarshaler   struct{ X fakeMarshaler }
	withText        struct{ X fakeText }
	withEmbeddedPtr struct{ *Inner }
	withTaggedEmbed struct {
		Inner `json:"in"`
	}
	withStringOpt struct {
		X int `json:"x,string"`
	}
	withOmitzero struct {
		X int `json:"x,omitzero"`
	}
	withFloat  struct{ X float64 }
	withBytes  struct{ X []byte }
	withIntKey struct{ X map[int]string }
	withArray  struct{ X [2]int }
	withAnon   struct{ X struct{ A int } }
	withOddTag struct {
		X int `json:"a<b"`
	}
	withTwice struct {
		Inner
		X int `json:"A"`
	}
)

// The generator refuses what it does not reproduce of encoding/json,
// rather than write a codec that differs.
func TestGenerateRefuses(t *testing.T) {
	for _, typ := range []reflect.Type{
		reflect.TypeFor[withInterface](),
		reflect.TypeFor[withMarshaler](),
		reflect.TypeFor[withText](),
		reflect.TypeFor[withEmbeddedPtr](),
		reflect.TypeFor[withTaggedEmbed](),
		reflect.TypeFor[withStringOpt](),
		reflect.TypeFor[withOmitzero](),
		reflect.TypeFor[withFloat](),
		reflect.TypeFor[withBytes](),
		reflect.TypeFor[withIntKey](),
		reflect.TypeFor[withArray](),
		reflect.TypeFor[withAnon](),
		reflect.TypeFor[withOddTag](),
		reflect.TypeFor[withTwice](),
	} {
		if _, err := generate(typ); err == nil {
			t.Errorf("generate(%v) succeeded, want an error", typ)
		} else {
			t.Logf("%v: %v", typ, err)
		}
	}
	// And accepts the plain forms.
	type plain struct {
		Inner
		B *uint16          `json:"b,omitempty"`
		C []string         `json:"c"`
		D map[string]Inner `json:"d,omitempty"`
		E bool             `json:"-"`
		F int8             `json:",omitempty"`
	}
	if _, err := generate(reflect.TypeFor[plain]()); err != nil {
		t.Errorf("generate(plain): %v", err)
	}
}
