package main

import (
	"fmt"
	"strconv"
	"strings"
)

// tapSummary is what one validation program reported in TAP
// (https://testanything.org/tap-version-13-specification.html), as printed
// by github.com/mndrix/tap-go: "ok 3 - description", "not ok 4 - ...",
// "ok 5 # SKIP reason", "not ok 6 # TODO description", "1..6".
type tapSummary struct {
	passed, failed, skipped, todo int
	plan                          int    // -1 when no plan line was printed
	firstFail                     string // description of the first "not ok"
	skipReason                    string // of the first skipped assertion
	yamlError                     string // the first "error" of a YAML diagnostic block
	failDetail                    string // "error" and "stderr" of the first "not ok"'s YAML block
}

func (s tapSummary) total() int { return s.passed + s.failed + s.skipped + s.todo }

// parseTAP reads TAP output. Only lines at the start of a line count, so the
// indented YAML blocks and "#" diagnostics are ignored, but the first
// "error" of a YAML block is kept: runtime-tools reports there why it ran
// no assertion. Some programs print two TAP documents one after the other
// (linux_cgroups_cpus: "1..112" then "1..0"); their plans add up.
func parseTAP(out string) tapSummary {
	s := tapSummary{plan: -1}
	inFirstFail := false // in the YAML block after the first "not ok"
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimRight(line, "\r")
		if n, ok := strings.CutPrefix(line, "1.."); ok {
			if v, err := strconv.Atoi(strings.Fields(n + " ")[0]); err == nil {
				s.plan = max(s.plan, 0) + v
			}
			continue
		}
		if key, v, ok := yamlField(line); ok {
			if key == "error" && s.yamlError == "" {
				s.yamlError = v
			}
			if inFirstFail && (key == "error" || key == "stderr") {
				s.failDetail = strings.TrimPrefix(s.failDetail+"; "+key+": "+v, "; ")
			}
			continue
		}
		if !strings.HasPrefix(line, " ") {
			inFirstFail = false
		}
		failed := strings.HasPrefix(line, "not ok")
		if !failed && !strings.HasPrefix(line, "ok") {
			continue
		}
		rest := strings.TrimPrefix(strings.TrimPrefix(line, "not ok"), "ok")
		if rest != "" && rest[0] != ' ' {
			continue // "okay ..." is not a test line
		}
		desc := assertionText(rest)
		directive := ""
		if i := strings.Index(rest, " # "); i >= 0 {
			directive = strings.ToUpper(strings.Fields(rest[i+3:] + " ")[0])
		}
		switch {
		case directive == "TODO":
			s.todo++
		case directive == "SKIP":
			s.skipped++
			if s.skipReason == "" {
				s.skipReason = desc
			}
		case failed:
			s.failed++
			if s.firstFail == "" {
				s.firstFail, inFirstFail = desc, true
			}
		default:
			s.passed++
		}
	}
	return s
}

// yamlField reads a `    "key": "value",` line of tap-go's YAML blocks
// (JSON, indented) and returns its value on one line.
func yamlField(line string) (key, value string, ok bool) {
	if !strings.HasPrefix(line, " ") {
		return "", "", false
	}
	k, v, found := strings.Cut(strings.TrimSpace(line), ": ")
	if !found {
		return "", "", false
	}
	key, err := strconv.Unquote(k)
	if err != nil {
		return "", "", false
	}
	value, err = strconv.Unquote(strings.TrimSuffix(v, ","))
	if err != nil {
		return "", "", false
	}
	// go-multierror's "2 errors occurred:\n\t* a\n\t* b": keep a; b.
	var parts []string
	for _, l := range strings.Split(value, "\n") {
		l = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), "* "))
		if l != "" && !strings.HasSuffix(l, " occurred:") && !strings.HasPrefix(l, "Refer to: ") {
			parts = append(parts, l)
		}
	}
	return key, strings.Join(parts, "; "), true
}

// assertionText is the description after the test number and an optional
// "-", or the directive's text: " 4 - process cwd" gives "process cwd",
// " 1 # SKIP no hugepages" gives "no hugepages".
func assertionText(rest string) string {
	f := strings.TrimSpace(rest)
	if i := strings.IndexFunc(f, func(r rune) bool { return r < '0' || r > '9' }); i > 0 {
		f = strings.TrimSpace(f[i:])
	} else if i < 0 {
		return ""
	}
	if d, ok := strings.CutPrefix(f, "# "); ok {
		_, text, _ := strings.Cut(d, " ")
		return strings.TrimSpace(text)
	}
	return strings.TrimSpace(strings.TrimPrefix(f, "- "))
}

// verdict turns a program's TAP and exit into PASS, FAIL or SKIP and a
// reason. A program passes when it exited 0, no assertion failed (TODO ones
// aside, as TAP says) and its plan matches the assertions it ran.
//
// Some programs print no assertion at all: the *_fail ones pass by exiting 0
// after the runtime refused the config, and prestart, poststart, poststop
// and hooks report a failure only as a YAML "error" under "1..0", still
// exiting 0. So no assertion and no error, with exit 0, is a pass.
func verdict(s tapSummary, exitErr error) (status, reason string) {
	switch {
	case s.failed > 0 && s.failDetail != "":
		return "FAIL", s.firstFail + " (" + s.failDetail + ")"
	case s.failed > 0:
		return "FAIL", s.firstFail
	case exitErr != nil:
		return "FAIL", exitErr.Error()
	case s.total() == 0 && s.yamlError != "":
		return "FAIL", "no TAP assertions: " + s.yamlError
	case s.plan >= 0 && s.plan != s.total():
		return "FAIL", fmt.Sprintf("planned %d assertions, ran %d", s.plan, s.total())
	case s.total() == 0:
		return "PASS", "no assertions, no error"
	case s.plan < 0:
		return "FAIL", "no TAP plan line"
	case s.skipped == s.total():
		return "SKIP", s.skipReason
	}
	return "PASS", ""
}
