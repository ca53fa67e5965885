package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestStderrReason(t *testing.T) {
	tests := []struct {
		name, stderr, want string
	}{
		{"runtime error after runtime-tools' line", "failed to create the container\ncreate x: bad\nexit status 1\n", "failed to create the container: create x: bad"},
		{"a panic of the program, not its stack", "panic: runtime error: index out of range [1] with length 1\n\ngoroutine 1 [running]:\nmain.main()\n\t/x/main.go:140 +0xd9\n",
			"panic: runtime error: index out of range [1] with length 1"},
		{"last line but exit status", "some error\nexit status 1\n", "some error"},
		{"runc warnings skipped", "real error\ntime=x level=warning msg=y\n", "real error"},
		{"nothing", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "stderr")
			if err := os.WriteFile(p, []byte(tt.stderr), 0o644); err != nil {
				t.Fatal(err)
			}
			if got := stderrReason(p); got != tt.want {
				t.Errorf("stderrReason() = %q, want %q", got, tt.want)
			}
		})
	}
}
