package main

import (
	"reflect"
	"testing"
)

func TestParseExceptions(t *testing.T) {
	tests := []struct {
		name    string
		text    string
		want    map[string]exception
		wantErr bool
	}{
		{"comments and blanks", "# c\n\nhooks: test: why: with colons\n\twhen: x\n  when: y\n",
			map[string]exception{"hooks": {"test", "why: with colons", []string{"x", "y"}}}, false},
		{"unknown kind", "hooks: flaky: why\n\twhen: x\n", nil, true},
		{"no reason", "hooks: test\n\twhen: x\n", nil, true},
		{"no when", "hooks: test: why\n", nil, true},
		{"when first", "\twhen: x\nhooks: test: why\n", nil, true},
		{"listed twice", "a: host: x\n\twhen: x\na: test: y\n\twhen: y\n", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseExceptions("exceptions.txt", tt.text)
			if (err != nil) != tt.wantErr {
				t.Fatalf("parseExceptions() error = %v, wantErr %v", err, tt.wantErr)
			}
			if !tt.wantErr && len(got) != len(tt.want) {
				t.Fatalf("parseExceptions() = %v, want %v", got, tt.want)
			}
			for k, v := range tt.want {
				if !reflect.DeepEqual(got[k], v) {
					t.Errorf("parseExceptions()[%q] = %v, want %v", k, got[k], v)
				}
			}
		})
	}
}

// The list shipped with the runner must parse (the runner checks the names
// against the suite it built).
func TestExceptionsFile(t *testing.T) {
	for name, text := range exceptionLists {
		ex, err := parseExceptions(name, text)
		if err != nil {
			t.Fatal(err)
		}
		if len(ex) == 0 {
			t.Fatalf("%s: no exceptions parsed", name)
		}
	}
}

func TestApplyException(t *testing.T) {
	ex := map[string]exception{
		"hooks":     {"test", "wrong text", []string{"listed order"}},
		"poststart": {"race", "ordering", []string{"after the user-specified process"}},
	}
	tests := []struct {
		name       string
		in         result
		wantStatus string
		wantNotes  int
	}{
		{"listed failure", result{test: "hooks", status: "FAIL", reason: "called in the listed order"}, "XFAIL", 0},
		{"listed test, other failure", result{test: "hooks", status: "FAIL", reason: "close fds"}, "FAIL", 1},
		{"listed pass is flagged", result{test: "hooks", status: "PASS"}, "PASS", 1},
		{"unlisted failure", result{test: "start", status: "FAIL"}, "FAIL", 0},
		{"skip stays", result{test: "hooks", status: "SKIP"}, "SKIP", 0},
		{"race passing is not flagged", result{test: "poststart", status: "PASS"}, "PASS", 0},
		{"race failing", result{test: "poststart", status: "FAIL", reason: "after the user-specified process is executed"}, "XFAIL", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := tt.in
			applyException(&res, ex, "exceptions.txt")
			if res.status != tt.wantStatus || len(res.notes) != tt.wantNotes {
				t.Errorf("applyException() = %q with %d notes, want %q with %d", res.status, len(res.notes), tt.wantStatus, tt.wantNotes)
			}
		})
	}
}
