package signals

import (
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Real-time signal bounds as C programs and kill(1) see them: glibc keeps the
// kernel's first two real-time signals (32, 33) for its threads, so SIGRTMIN is 34.
const (
	rtMin unix.Signal = 34
	rtMax unix.Signal = 64
)

// Parse returns the signal named by s: a number ("9"), a name with or without the
// SIG prefix in any case ("KILL", "sigterm"), or a real-time signal ("RTMIN",
// "SIGRTMIN+3", "RTMAX-2").
func Parse(s string) (unix.Signal, error) {
	if isDigits(s) {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > int(rtMax) {
			return 0, fmt.Errorf("invalid signal number %s", s)
		}
		return unix.Signal(n), nil
	}
	name := strings.TrimPrefix(strings.ToUpper(s), "SIG")
	if strings.HasPrefix(name, "RTMIN") || strings.HasPrefix(name, "RTMAX") {
		return parseRealtime(s, name)
	}
	// Old names that unix.SignalNum, which knows one name per number, lacks.
	switch name {
	case "IOT":
		return unix.SIGABRT, nil
	case "POLL":
		return unix.SIGIO, nil
	case "CLD":
		return unix.SIGCHLD, nil
	}
	if sig := unix.SignalNum("SIG" + name); sig != 0 {
		return sig, nil
	}
	return 0, fmt.Errorf("unknown signal %q", s)
}

// parseRealtime parses name, the upper-cased s without SIG, as RTMIN, RTMIN+n,
// RTMAX or RTMAX-n.
func parseRealtime(s, name string) (unix.Signal, error) {
	base, sign, off := rtMin, 1, name[len("RTMIN"):]
	if strings.HasPrefix(name, "RTMAX") {
		base, sign = rtMax, -1
	}
	if off != "" {
		want := "+"
		if sign < 0 {
			want = "-"
		}
		digits, ok := strings.CutPrefix(off, want)
		if !ok || !isDigits(digits) {
			return 0, fmt.Errorf("unknown signal %q", s)
		}
		n, err := strconv.Atoi(digits)
		if err != nil || n > int(rtMax-rtMin) {
			return 0, fmt.Errorf("invalid signal %q: real-time signals run from SIGRTMIN (%d) to SIGRTMAX (%d)", s, rtMin, rtMax)
		}
		base += unix.Signal(sign * n)
	}
	return base, nil
}

// Name returns the conventional name of sig ("SIGKILL", "SIGRTMIN+3"), or its
// number when it has none; Parse accepts what Name returns.
func Name(sig unix.Signal) string {
	switch {
	case sig == rtMin:
		return "SIGRTMIN"
	case sig == rtMax:
		return "SIGRTMAX"
	case sig > rtMin && sig < rtMax && sig-rtMin <= 15:
		// kill -l names the lower half from SIGRTMIN, the upper from SIGRTMAX.
		return fmt.Sprintf("SIGRTMIN+%d", sig-rtMin)
	case sig > rtMin && sig < rtMax:
		return fmt.Sprintf("SIGRTMAX-%d", rtMax-sig)
	}
	if name := unix.SignalName(sig); name != "" {
		return name
	}
	return strconv.Itoa(int(sig))
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
