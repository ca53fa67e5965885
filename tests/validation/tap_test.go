package main

import (
	"errors"
	"testing"
)

func TestParseTAP(t *testing.T) {
	tests := []struct {
		name string
		out  string
		want tapSummary
	}{
		{
			name: "all pass",
			out:  "TAP version 13\nok 1 - root filesystem\nok 2 - hostname\n1..2\n",
			want: tapSummary{passed: 2, plan: 2},
		},
		{
			name: "first failure kept, yaml and diagnostics ignored",
			out: "TAP version 13\nok 1 - a\nnot ok 2 - linux.namespaces path\n  ---\n  {\n    \"ok 3\": \"not ok\"\n  }\n  ...\n" +
				"# not ok in a diagnostic\nnot ok 3 - later\n1..3\n",
			want: tapSummary{passed: 1, failed: 2, plan: 3, firstFail: "linux.namespaces path"},
		},
		{
			name: "detail of the first failure",
			out: "ok 1 - a\n  ---\n  {\n    \"reference\": \"x\"\n  }\nnot ok 2 - kill\n  ---\n  {\n    \"error\": \"exit status 1\",\n" +
				"    \"stderr\": \"container not running\\n\"\n  }\n  ...\nnot ok 3 - b\n  ---\n  {\n    \"error\": \"other\"\n  }\n1..3\n",
			want: tapSummary{passed: 1, failed: 2, plan: 3, firstFail: "kill",
				yamlError: "exit status 1", failDetail: "error: exit status 1; stderr: container not running"},
		},
		{
			name: "skip and todo",
			out:  "ok 1 # SKIP no hugepages\nnot ok 2 # TODO we need the major/minor\nok 3 - x\n1..3\n",
			want: tapSummary{passed: 1, skipped: 1, todo: 1, plan: 3, skipReason: "no hugepages"},
		},
		{
			name: "no plan",
			out:  "ok 1 - x\n",
			want: tapSummary{passed: 1, plan: -1},
		},
		{
			name: "two documents, plans add up",
			out:  "TAP version 13\nok 1 - a\nok 2 - b\n1..2\nTAP version 13\n1..0\n",
			want: tapSummary{passed: 2, plan: 2},
		},
		{
			name: "yaml error kept",
			out:  "TAP version 13\n  ---\n  {\n    \"error\": \"Hooks MUST be called in the listed order\\nRefer to: x\"\n  }\n  ...\n1..0\n",
			want: tapSummary{plan: 0, yamlError: "Hooks MUST be called in the listed order"},
		},
		{
			name: "multierror on one line",
			out:  "not ok 1 - hook stdin\n  ---\n  {\n    \"error\": \"2 errors occurred:\\n\\t* wrong pid\\n\\t* wrong status\\n\\n\"\n  }\n1..1\n",
			want: tapSummary{failed: 1, plan: 1, firstFail: "hook stdin", yamlError: "wrong pid; wrong status", failDetail: "error: wrong pid; wrong status"},
		},
		{
			name: "okay is no test line",
			out:  "okay\nok\n1..1\n",
			want: tapSummary{passed: 1, plan: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := parseTAP(tt.out); got != tt.want {
				t.Errorf("parseTAP() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestVerdict(t *testing.T) {
	exit1 := errors.New("exit status 1")
	tests := []struct {
		name       string
		s          tapSummary
		err        error
		wantStatus string
		wantReason string
	}{
		{"pass", tapSummary{passed: 3, plan: 3}, nil, "PASS", ""},
		{"todo does not fail", tapSummary{passed: 3, todo: 1, plan: 4}, nil, "PASS", ""},
		{"failed assertion", tapSummary{passed: 1, failed: 1, plan: 2, firstFail: "x"}, exit1, "FAIL", "x"},
		{"failed assertion with detail", tapSummary{failed: 1, plan: 1, firstFail: "x", failDetail: "error: y"}, nil, "FAIL", "x (error: y)"},
		{"exit status", tapSummary{passed: 1, plan: 1}, exit1, "FAIL", "exit status 1"},
		{"nothing, exit 0", tapSummary{plan: -1}, nil, "PASS", "no assertions, no error"},
		{"1..0, exit 0", tapSummary{plan: 0}, nil, "PASS", "no assertions, no error"},
		{"1..0 with an error", tapSummary{plan: 0, yamlError: "why"}, nil, "FAIL", "no TAP assertions: why"},
		{"nothing, exit 1", tapSummary{plan: -1}, exit1, "FAIL", "exit status 1"},
		{"short of plan", tapSummary{passed: 2, plan: 5}, nil, "FAIL", "planned 5 assertions, ran 2"},
		{"no plan", tapSummary{passed: 2, plan: -1}, nil, "FAIL", "no TAP plan line"},
		{"all skipped", tapSummary{skipped: 1, plan: 1, skipReason: "why"}, nil, "SKIP", "why"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, reason := verdict(tt.s, tt.err)
			if status != tt.wantStatus || reason != tt.wantReason {
				t.Errorf("verdict() = %q, %q, want %q, %q", status, reason, tt.wantStatus, tt.wantReason)
			}
		})
	}
}
