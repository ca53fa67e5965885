package signals

import (
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want unix.Signal
		err  string
	}{
		{"KILL", unix.SIGKILL, ""},
		{"SIGKILL", unix.SIGKILL, ""},
		{"sigterm", unix.SIGTERM, ""},
		{"Hup", unix.SIGHUP, ""},
		{"SIGWINCH", unix.SIGWINCH, ""},
		{"IOT", unix.SIGABRT, ""},
		{"SIGPOLL", unix.SIGIO, ""},
		{"cld", unix.SIGCHLD, ""},
		{"9", unix.SIGKILL, ""},
		{"15", unix.SIGTERM, ""},
		{"09", unix.SIGKILL, ""},
		{"1", unix.SIGHUP, ""},
		{"32", 32, ""},
		{"64", 64, ""},
		{"RTMIN", 34, ""},
		{"SIGRTMIN", 34, ""},
		{"rtmin+3", 37, ""},
		{"SIGRTMIN+1", 35, ""},
		{"RTMIN+30", 64, ""},
		{"RTMAX", 64, ""},
		{"RTMAX-2", 62, ""},
		{"sigrtmax-30", 34, ""},
		{"0", 0, "invalid signal number 0"},
		{"65", 0, "invalid signal number 65"},
		{"99", 0, "invalid signal number 99"},
		{"99999999999999999999999", 0, "invalid signal number 99999999999999999999999"},
		{"FOO", 0, `unknown signal "FOO"`},
		{"", 0, `unknown signal ""`},
		{"SIG", 0, `unknown signal "SIG"`},
		{"SIGSIGKILL", 0, `unknown signal "SIGSIGKILL"`},
		{"-9", 0, `unknown signal "-9"`},
		{" 9", 0, `unknown signal " 9"`},
		{"RTMIN-1", 0, `unknown signal "RTMIN-1"`},
		{"RTMAX+1", 0, `unknown signal "RTMAX+1"`},
		{"RTMIN+", 0, `unknown signal "RTMIN+"`},
		{"RTMINX", 0, `unknown signal "RTMINX"`},
		{"RTMIN+31", 0, `invalid signal "RTMIN+31": real-time signals run from SIGRTMIN (34) to SIGRTMAX (64)`},
		{"RTMAX-99999999999999999999", 0, `invalid signal "RTMAX-99999999999999999999": real-time signals run from SIGRTMIN (34) to SIGRTMAX (64)`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Parse(tt.in)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("Parse(%q) = %d, %v; want error %q", tt.in, got, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Parse(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestName(t *testing.T) {
	tests := []struct {
		sig  unix.Signal
		want string
	}{
		{unix.SIGKILL, "SIGKILL"}, {unix.SIGABRT, "SIGABRT"}, {unix.SIGCHLD, "SIGCHLD"},
		{32, "32"}, {33, "33"}, {34, "SIGRTMIN"}, {35, "SIGRTMIN+1"}, {49, "SIGRTMIN+15"},
		{50, "SIGRTMAX-14"}, {63, "SIGRTMAX-1"}, {64, "SIGRTMAX"}, {0, "0"}, {65, "65"},
	}
	for _, tt := range tests {
		if got := Name(tt.sig); got != tt.want {
			t.Errorf("Name(%d) = %q, want %q", tt.sig, got, tt.want)
		}
	}
	// Every valid number has a name that parses back to it.
	for sig := unix.Signal(1); sig <= 64; sig++ {
		if got, err := Parse(Name(sig)); err != nil || got != sig {
			t.Errorf("Parse(Name(%d)) = %d, %v", sig, got, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"KILL", "sigterm", "9", "RTMIN+3", "RTMAX-2", "0", "99", "FOO"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sig, err := Parse(s)
		if err != nil {
			if sig != 0 {
				t.Fatalf("Parse(%q) = %d with error %v", s, sig, err)
			}
			return
		}
		if sig < 1 || sig > 64 {
			t.Fatalf("Parse(%q) = %d, out of range", s, sig)
		}
		if back, err := Parse(Name(sig)); err != nil || back != sig {
			t.Fatalf("Parse(Name(%d)) = %d, %v", sig, back, err)
		}
		if strings.HasPrefix(Name(sig), "SIG") != (sig != 32 && sig != 33) {
			t.Fatalf("Name(%d) = %q", sig, Name(sig))
		}
	})
}
