package bundle

import (
	"strings"
	"testing"
)

func TestValidateID(t *testing.T) {
	tests := []struct {
		id   string
		want string
	}{
		{"web1", ""},
		{"a_b+c-d.e", ""},
		{"0", ""},
		{strings.Repeat("x", 200), ""},
		{"", `invalid container id "": empty`},
		{".", `invalid container id ".": ids starting with a dot are reserved`},
		{"..", `invalid container id "..": ids starting with a dot are reserved`},
		{".seccomp-cache", `invalid container id ".seccomp-cache": ids starting with a dot are reserved`},
		{"...", `invalid container id "...": ids starting with a dot are reserved`},
		{"a/b", `invalid container id "a/b": only letters, digits and _+-. are allowed`},
		{"x/../y", `invalid container id "x/../y": only letters, digits and _+-. are allowed`},
		{"a b", `invalid container id "a b": only letters, digits and _+-. are allowed`},
		{"a:b", `invalid container id "a:b": only letters, digits and _+-. are allowed`},
		{"é", `invalid container id "é": only letters, digits and _+-. are allowed`},
		{"a\x00", `invalid container id "a\x00": only letters, digits and _+-. are allowed`},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			err := ValidateID(tt.id)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Fatalf("ValidateID(%q) = %q, want %q", tt.id, got, tt.want)
			}
		})
	}
}

func FuzzValidateID(f *testing.F) {
	for _, s := range []string{"web1", "", ".", "..", "a/b", "a_b+c-d.e"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		if ValidateID(id) != nil {
			return
		}
		// An accepted id must be safe as a single path component.
		if id == "" || id[0] == '.' || strings.ContainsAny(id, "/\x00") {
			t.Fatalf("accepted unsafe id %q", id)
		}
	})
}
