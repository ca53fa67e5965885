package logs

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestJSONLinesHaveLowercaseLevel(t *testing.T) {
	p := filepath.Join(t.TempDir(), "log.json")
	l, c, err := New(Options{Path: p, Format: "json"})
	if err != nil {
		t.Fatal(err)
	}
	l.Error("create c1: mount proc on /proc: permission denied")
	l.Debug("not shown without --debug")
	c.Close()
	data, _ := os.ReadFile(p)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 1 {
		t.Fatalf("got %d lines: %q", len(lines), data)
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(lines[0]), &m); err != nil {
		t.Fatal(err)
	}
	if m["level"] != "error" || !strings.Contains(m["msg"], "permission denied") || m["time"] == "" {
		t.Fatalf("line %v", m)
	}
}

func TestFormats(t *testing.T) {
	for _, tc := range []struct {
		format string
		ok     bool
	}{{"", true}, {"text", true}, {"json", true}, {"xml", false}} {
		t.Run(tc.format, func(t *testing.T) {
			_, c, err := New(Options{Path: filepath.Join(t.TempDir(), "l"), Format: tc.format})
			if (err == nil) != tc.ok {
				t.Fatalf("err = %v, want ok=%v", err, tc.ok)
			}
			if c != nil {
				c.Close()
			}
		})
	}
}

func TestTextLevel(t *testing.T) {
	p := filepath.Join(t.TempDir(), "log")
	l, c, err := New(Options{Path: p, Debug: true})
	if err != nil {
		t.Fatal(err)
	}
	l.Debug("step", "name", "mount")
	c.Close()
	data, _ := os.ReadFile(p)
	if !strings.Contains(string(data), "level=debug") {
		t.Fatalf("got %q", data)
	}
}
