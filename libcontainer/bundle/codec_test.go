package bundle

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestCodecRoundTrip(t *testing.T) {
	want := Default(false)
	want.Annotations = map[string]string{"a": "b"}
	data, err := Encode(want)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Decode(Encode(spec)) differs:\n got %+v\nwant %+v", got, want)
	}
	// The same JSON as encoding/json's for a Linux spec.
	plain, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	if string(plain) != string(data) {
		t.Errorf("Encode = %s\nwant json.Marshal's %s", data, plain)
	}
}

// Other platforms' sections are skipped, whatever they hold; the rest
// decodes, and errors name the field as for a specs.Spec.
func TestDecodeOtherPlatforms(t *testing.T) {
	s, err := Decode([]byte(`{"ociVersion":"1.3.0","windows":{"layerFolders":7},"solaris":[1],"vm":"x","zos":null,"process":{"args":["sh"]}}`))
	if err != nil {
		t.Fatal(err)
	}
	if s.Windows != nil || s.Solaris != nil || s.VM != nil || s.ZOS != nil || len(s.Process.Args) != 1 {
		t.Errorf("Decode: %+v", s)
	}
	for data, want := range map[string]string{
		`{"process":{"args":7}}`: "process.args",
		`[1]`:                    "",
	} {
		_, err := Decode([]byte(data))
		var typ *json.UnmarshalTypeError
		if !errors.As(err, &typ) || typ.Field != want || strings.Contains(typ.Type.String(), "linuxSpec") {
			t.Errorf("Decode(%s) = %v, want a type error at %q about specs types", data, err, want)
		}
	}
	if _, err := Encode(&specs.Spec{Windows: &specs.Windows{}}); err != nil {
		t.Fatal(err)
	}
}
