package main

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// sizeRE is the size syntax parseBytes reads by hand, as a regular
// expression: the reference it is checked against.
var sizeRE = regexp.MustCompile(`^(\d+(?:\.\d+)?) ?([kmgtp])?i?b?$`)

func refBytes(s string) (int64, bool) {
	m := sizeRE.FindStringSubmatch(strings.ToLower(s))
	if m == nil {
		return 0, false
	}
	n, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, false
	}
	if m[2] != "" {
		n *= math.Pow(1024, float64(strings.Index("kmgtp", m[2])+1))
	}
	if n >= math.MaxInt64 {
		return 0, false
	}
	return int64(n), true
}

func TestParseBytes(t *testing.T) {
	for s, want := range map[string]int64{
		"-1": -1, "0": 0, "512": 512, "512m": 512 << 20, "1.5g": 3 << 29, "1GiB": 1 << 30,
		"100 kb": 100 << 10, "2T": 2 << 40, "1p": 1 << 50, "7b": 7, "3i": 3, "4ib": 4,
	} {
		if got, err := parseBytes(s); err != nil || got != want {
			t.Errorf("parseBytes(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	for _, s := range []string{"", "m", "-2", "1.", ".5", "1..5", "1  m", "1mm", "1bi", "1e3", "1x", " 1", "99999999999p"} {
		if got, err := parseBytes(s); err == nil {
			t.Errorf("parseBytes(%q) = %d, want an error", s, got)
		}
	}
}

// Every string of up to four characters from the syntax's alphabet is
// read as the regular expression reads it.
func TestParseBytesAsRegexp(t *testing.T) {
	alphabet := []string{"1", "0", ".", " ", "k", "m", "G", "i", "B", "x"}
	var walk func(prefix string, depth int)
	walk = func(prefix string, depth int) {
		if prefix != "-1" {
			want, ok := refBytes(prefix)
			got, err := parseBytes(prefix)
			if ok != (err == nil) || (ok && got != want) {
				t.Errorf("parseBytes(%q) = %d, %v; the expression reads %d, %v", prefix, got, err, want, ok)
			}
		}
		if depth == 0 {
			return
		}
		for _, c := range alphabet {
			walk(prefix+c, depth-1)
		}
	}
	walk("", 5)
}
