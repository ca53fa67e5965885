package v2

import (
	"strings"
	"testing"
)

// The helpers that judge the guest's output, tested without a guest.

func TestParseChecks(t *testing.T) {
	out := "noise\nCHECK a.b 1 2\n  CHECK c.d\nCHECK a.b 3\n[ 1.0] kernel CHECK x y\n"
	got := parseChecks(out)
	for _, tc := range []struct{ key, want string }{{"a.b", "3"}, {"c.d", ""}} {
		t.Run(tc.key, func(t *testing.T) {
			if v, ok := got[tc.key]; !ok || v != tc.want {
				t.Errorf("got[%q] = %q, %v; want %q", tc.key, v, ok, tc.want)
			}
		})
	}
	if _, ok := got["x"]; ok {
		t.Error("a CHECK in the middle of a line was taken")
	}
}

func TestWants(t *testing.T) {
	for _, tc := range []struct {
		name    string
		want    func(string) error
		got     string
		wantErr string // "" for a pass
	}{
		{"counter met", counterAtLeast("oom_kill", 1), "low 0 oom 2 oom_kill 1", ""},
		{"counter zero", counterAtLeast("oom_kill", 1), "oom 0 oom_kill 0", "oom_kill is 0"},
		{"counter absent", counterAtLeast("max", 1), "low 0", "no \"max\""},
		{"subset", subsetOf("./a", "./b"), "./a ./b", ""},
		{"extra dir", subsetOf("./a"), "./a ./a/c1", "left behind: ./a/c1"},
		{"equals", equals("x"), "y", "want \"x\""},
		{"contains", contains("Operation not permitted"), "sh: Permission denied", "want it to contain"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.want(tc.got)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("got error %v, want none", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("got error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

// The conversions the suite expects, at the ends and the defaults of the
// ranges.
func TestConversions(t *testing.T) {
	for _, tc := range []struct {
		name      string
		got, want uint64
	}{
		{"shares min", wantCPUWeight(2), 1},
		{"shares default", wantCPUWeight(1024), 39},
		{"shares max", wantCPUWeight(262144), 10000},
		{"blkio min", wantIOWeight(10), 1},
		{"blkio default", wantIOWeight(500), 4950},
		{"blkio max", wantIOWeight(1000), 10000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got %d, want %d", tc.got, tc.want)
			}
		})
	}
}
