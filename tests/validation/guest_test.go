package main

import (
	"os/exec"
	"reflect"
	"strings"
	"testing"
)

func TestJudgeGuest(t *testing.T) {
	tests := []string{"default", "delete", "hooks"}
	ok := "PASS default (270/270)\nXFAIL delete (3/5): x [listed: compat: y]\n    a note\n" +
		"PASS hooks: no assertions, no error\n"
	cases := []struct {
		name         string
		out          string
		headers      bool
		want         counts
		wantProblems []string
	}{
		{"all there", ok + "2 passed, 0 failed, 1 skipped", false,
			counts{"PASS": 2, "XFAIL": 1}, nil},
		{"a failure counts, no problem", strings.Replace(ok, "PASS hooks:", "FAIL hooks:", 1) + "1 passed, 1 failed, 1 skipped", false,
			counts{"PASS": 1, "XFAIL": 1, "FAIL": 1}, nil},
		{"missing line", "PASS default (270/270)\n1 passed, 0 failed, 0 skipped", false,
			counts{"PASS": 1}, []string{"no result line for delete", "no result line for hooks"}},
		{"a line split by a kernel message is missing", strings.Replace(ok, "PASS hooks", "PA[ 12.3] oops\nSS hooks", 1) + "2 passed, 0 failed, 1 skipped", false,
			counts{"PASS": 1, "XFAIL": 1}, []string{"no result line for hooks", `its totals "2 passed, 0 failed, 1 skipped" do not match its result lines (1 passed, 0 failed, 1 skipped)`}},
		{"twice", ok + "PASS default (270/270)\n3 passed, 0 failed, 1 skipped", false,
			counts{"PASS": 3, "XFAIL": 1}, []string{"2 result lines for default"}},
		{"unknown test", ok + "PASS other\n2 passed, 0 failed, 1 skipped", false,
			counts{"PASS": 2, "XFAIL": 1}, []string{"a result for a test it was not to run: PASS other"}},
		{"nothing", "validation: make cgroups: oops\n", false,
			counts{}, []string{"no result lines at all"}},
		{"no totals", ok, false,
			counts{"PASS": 2, "XFAIL": 1}, []string{"no totals line (N passed, M failed, K skipped)"}},
		{"only the first runtime's lines count", "== tupper (/runtimes/tupper)\n" + ok + "== runc (/runtimes/runc)\nFAIL default: x\nFAIL delete: x\n" +
			"# tupper: 2 passed, 0 failed, 1 skipped (5m)\n# runc: 0 passed, 2 failed, 0 skipped (5m)\n2 passed, 0 failed, 1 skipped", true,
			counts{"PASS": 2, "XFAIL": 1}, nil},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			got, problems := judgeGuest(tt.out, "tupper", tt.headers, tests)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("counts = %v, want %v", got, tt.want)
			}
			if !reflect.DeepEqual(problems, tt.wantProblems) {
				t.Errorf("problems = %q, want %q", problems, tt.wantProblems)
			}
		})
	}
}

func TestScriptOutput(t *testing.T) {
	console := "SeaBIOS\nTUPPER-VM-BEGIN uptime=3.1\nPASS a\n1 passed, 0 failed, 0 skipped\nTUPPER-VM-RESULT rc=0\n[ 9.1] reboot: Power down\n"
	out, rc, ok := scriptOutput(console)
	if !ok || rc != 0 || out != "PASS a\n1 passed, 0 failed, 0 skipped" {
		t.Errorf("scriptOutput() = %q, %d, %v", out, rc, ok)
	}
	if _, _, ok := scriptOutput("TUPPER-VM-BEGIN uptime=3.1\nPASS a\nKernel panic\n"); ok {
		t.Error("scriptOutput() found a result where the guest died")
	}
	if _, rc, _ := scriptOutput("TUPPER-VM-BEGIN\nTUPPER-VM-RESULT rc=1\n"); rc != 1 {
		t.Errorf("rc = %d, want 1", rc)
	}
}

func TestAsPackage(t *testing.T) {
	src := "package main\n\nimport \"fmt\"\n\nfunc main() {\n\tfmt.Println(\"main\")\n}\n"
	got, mains, err := asPackage(src)
	want := "package program\n\nimport \"fmt\"\n\nfunc Main() {\n\tfmt.Println(\"main\")\n}\n"
	if err != nil || mains != 1 || got != want {
		t.Errorf("asPackage() = %q, %d, %v", got, mains, err)
	}
	if _, _, err := asPackage("package util\n"); err == nil {
		t.Error("asPackage() took a file that is not package main")
	}
}

// The guest script must be what sh runs as the argument vector it was made
// from, whatever -run holds.
func TestGuestScriptQuoting(t *testing.T) {
	g := guestRun{runtimes: []runtimeUnderTest{{name: "tupper", path: "/x/tupper", hideUnified: true}},
		run: `^(linux_ns|it's)$`, timeout: guestTestTimeout}
	script := g.script()
	out, err := exec.Command("sh", "-c", strings.Replace(script, "exec ", "printf '%s\\n' ", 1)).Output()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{guestSelf, "-in-guest", guestSuiteDir, "-exceptions", "exceptions-v2.txt", "-timeout", "3m0s",
		"-run", `^(linux_ns|it's)$`, "-runtime", "tupper=/runtimes/tupper"}
	if got := strings.Split(strings.TrimSpace(string(out)), "\n"); !reflect.DeepEqual(got, want) {
		t.Errorf("the guest runs %q, want %q", got, want)
	}
}
