package main

import (
	_ "embed"
	"fmt"
	"slices"
	"strings"
)

// The lists of tests that are expected to fail, each with its reason;
// docs/conformance.md has the evidence. exceptions.txt is for the hybrid
// hosts the tests run on, exceptions-v2.txt for the pure cgroup v2 guest of
// tests/vm.
var (
	//go:embed exceptions.txt
	exceptionsText string
	//go:embed exceptions-v2.txt
	exceptionsV2Text string
)

// exceptionLists are the embedded lists by file name, for -exceptions.
var exceptionLists = map[string]string{
	"exceptions.txt":    exceptionsText,
	"exceptions-v2.txt": exceptionsV2Text,
}

// exceptionKinds are the reasons a failure may be accepted for: the issue's
// bar is "every test passes, except ones shown to be wrong for every runtime
// or impossible on the host".
var exceptionKinds = map[string]bool{
	"host":   true, // impossible on this kind of machine
	"test":   true, // the test is wrong, for every runtime
	"race":   true, // the test fails now and then, for every runtime
	"compat": true, // tupper keeps the behaviour the callers rely on, as runc and crun do
}

// exception is a listed test: "test: kind: reason", then one or more
// indented "when: TEXT" lines. The failure is expected only when its result
// line contains one of the TEXTs, so that a listed test failing for another
// reason (a regression) still counts as a failure.
type exception struct {
	kind, reason string
	when         []string
}

func parseExceptions(name, text string) (map[string]exception, error) {
	ex := map[string]exception{}
	last := ""
	for i, raw := range strings.Split(text, "\n") {
		line := strings.TrimSpace(raw)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if raw[0] == ' ' || raw[0] == '\t' {
			w, ok := strings.CutPrefix(line, "when: ")
			if !ok || last == "" || w == "" {
				return nil, fmt.Errorf("%s:%d: want an indented \"when: TEXT\" after a test, got %q", name, i+1, line)
			}
			e := ex[last]
			e.when = append(e.when, w)
			ex[last] = e
			continue
		}
		parts := strings.SplitN(line, ": ", 3)
		if len(parts) != 3 || !exceptionKinds[parts[1]] || parts[2] == "" {
			return nil, fmt.Errorf("%s:%d: want \"test: host|test|race|compat: reason\", got %q", name, i+1, line)
		}
		if _, dup := ex[parts[0]]; dup {
			return nil, fmt.Errorf("%s:%d: %s listed twice", name, i+1, parts[0])
		}
		ex[parts[0]] = exception{kind: parts[1], reason: parts[2]}
		last = parts[0]
	}
	for test, e := range ex {
		if len(e.when) == 0 {
			return nil, fmt.Errorf("%s: %s has no \"when:\" line", name, test)
		}
	}
	return ex, nil
}

// applyException turns the FAIL of a listed test into XFAIL when the
// failure is the listed one, and notes a listed test that passed (a race
// aside), so that the list shrinks as tupper improves.
func applyException(res *result, ex map[string]exception, list string) {
	e, ok := ex[res.test]
	switch {
	case !ok:
	case res.status == "FAIL" && slices.ContainsFunc(e.when, func(w string) bool { return strings.Contains(res.line(), w) }):
		res.status = "XFAIL"
		res.reason += " [listed: " + e.kind + ": " + e.reason + "]"
	case res.status == "FAIL":
		res.notes = append(res.notes, "listed in "+list+", but for another failure")
	case res.status == "PASS" && e.kind != "race":
		res.notes = append(res.notes, "listed in "+list+" but passed")
	}
}
