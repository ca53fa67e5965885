package bundle

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

const minimalConfig = `{
	"ociVersion": "1.3.0",
	"root": {"path": "rootfs"},
	"process": {"args": ["sh"], "cwd": "/"},
	"unknownField": {"ignored": true}
}`

func TestLoad(t *testing.T) {
	tests := []struct {
		name   string
		config string // "" means no config.json
		want   string
	}{
		{"minimal", minimalConfig, ""},
		{"no config", "", "bundle DIR: config.json: no such file or directory"},
		{"empty", " ", "config.json: unexpected end of JSON input (line 1, column 1)"},
		{"syntax", "{\n  \"ociVersion\": \"1.3.0\",\n  \"root\": x\n}",
			"config.json: invalid character 'x' looking for beginning of value (line 3, column 11)"},
		{"trailing data", minimalConfig + "}",
			"config.json: invalid character '}' after top-level value (line 6, column 2)"},
		{"type", "{\n\"process\": {\"args\": 5}}",
			"config.json: process.args: cannot unmarshal number into []string (line 2, column 21)"},
		{"element type", `{"process": {"args": ["sh", 1]}}`,
			"config.json: process.args: cannot unmarshal number into string (line 1, column 29)"},
		{"top level type", `[]`, "config.json: cannot unmarshal array into specs.Spec (line 1, column 1)"},
		{"null", `null`, "config.json: ociVersion: required"},
		{"invalid", `{"ociVersion": "2.0.0"}`, `config.json: ociVersion "2.0.0": unsupported, want 1.x`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := newBundle(t)
			if tt.config != "" {
				if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(tt.config), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			s, err := Load(dir)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if s.Process.Args[0] != "sh" {
					t.Fatalf("process.args = %q", s.Process.Args)
				}
				return
			}
			want := tt.want
			if len(want) > 10 && want[:10] == "bundle DIR" {
				want = "bundle " + dir + want[10:]
			}
			if err == nil || err.Error() != want {
				t.Fatalf("error:\n got %v\nwant %s", err, want)
			}
		})
	}
}

func TestLoadMissingBundle(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "x")
	_, err := Load(dir)
	if want := "bundle " + dir + ": no such file or directory"; err == nil || err.Error() != want {
		t.Fatalf("error %v, want %s", err, want)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("error %v is not fs.ErrNotExist", err)
	}
	file := filepath.Join(newBundle(t), "file")
	if _, err := Load(file); err == nil || err.Error() != "bundle "+file+": not a directory" {
		t.Fatalf("error %v, want not a directory", err)
	}
}

func TestPosition(t *testing.T) {
	data := []byte("ab\ncd\n\nef")
	tests := []struct {
		off  int64
		want string
	}{
		{0, "line 1, column 1"}, {1, "line 1, column 1"}, {2, "line 1, column 2"},
		{4, "line 2, column 1"}, {5, "line 2, column 2"}, {9, "line 4, column 2"},
		{-3, "line 1, column 1"}, {100, "line 4, column 2"},
	}
	for _, tt := range tests {
		if got := position(data, tt.off); got != tt.want {
			t.Errorf("position(%d) = %q, want %q", tt.off, got, tt.want)
		}
	}
}

func FuzzLoad(f *testing.F) {
	f.Add([]byte(minimalConfig))
	f.Add([]byte(`{"ociVersion":"1.0.0","root":{"path":"/"},"process":{"args":["x"],"cwd":"/"},"linux":{"sysctl":{"net/../x":"1"}}}`))
	if b, err := json.Marshal(Default(false)); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := newBundle(t)
		if err := os.WriteFile(filepath.Join(dir, "config.json"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := Load(dir)
		if (s == nil) == (err == nil) {
			t.Fatalf("Load returned spec %v and error %v", s, err)
		}
	})
}
