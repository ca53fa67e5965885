package main

import "testing"

func TestSubcommand(t *testing.T) {
	tests := []struct {
		name            string
		args            []string
		sub, bundle, id string
	}{
		{"create with bundle and pid file", []string{"create", "--pid-file", "/p/pid", "--bundle", "/b", "c1"}, "create", "/b", "c1"},
		{"bundle with =", []string{"create", "--bundle=/b", "c1"}, "create", "/b", "c1"},
		{"short bundle flag", []string{"create", "-b", "/b", "c1"}, "create", "/b", "c1"},
		{"bundle defaults to the working directory", []string{"create", "c1"}, "create", ".", "c1"},
		{"kill with signal", []string{"kill", "c1", "KILL"}, "kill", ".", "c1"},
		{"state", []string{"state", "c1"}, "state", ".", "c1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sub, bundle, id := subcommand(tt.args)
			if sub != tt.sub || bundle != tt.bundle || id != tt.id {
				t.Errorf("subcommand(%q) = %q, %q, %q, want %q, %q, %q", tt.args, sub, bundle, id, tt.sub, tt.bundle, tt.id)
			}
		})
	}
}
