package seccomp

import (
	"reflect"
	"testing"
)

func TestProgramBinary(t *testing.T) {
	for _, want := range []*Program{
		{Filter: make([]byte, 3*sockFilterSize)},
		{Filter: []byte("01234567abcdefgh"), Flags: 6, Notify: true, ListenerPath: "/run/agent.sock", ListenerMetadata: "meta\ndata"},
	} {
		data, err := want.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		got, err := ParseProgram(data)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("ParseProgram(MarshalBinary(%+v)) = %+v, %v", want, got, err)
		}
		// Every truncation is refused, except one that leaves a filter
		// of whole instructions: the shape check cannot tell that one.
		for n := 0; n < len(data); n++ {
			p, err := ParseProgram(data[:n])
			if err == nil && (n < len(data)-len(want.Filter) || (len(data)-n)%sockFilterSize != 0) {
				t.Errorf("ParseProgram of %d of %d bytes = %+v, want an error", n, len(data), p)
			}
		}
	}
	for name, data := range map[string]string{
		"empty":      "",
		"JSON":       `{"filter":"AAAAAAAAAAA="}`,
		"no filter":  programMagic + "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00",
		"torn insn":  programMagic + "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" + "0123",
		"long names": programMagic + "\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\xff\xff",
	} {
		if p, err := ParseProgram([]byte(data)); err == nil {
			t.Errorf("%s: ParseProgram = %+v, want an error", name, p)
		}
	}
}
