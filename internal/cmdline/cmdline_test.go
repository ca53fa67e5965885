package cmdline

import (
	"bytes"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// seen is what the test app's actions saw.
type seen struct {
	before  string // the --root that Before saw
	command string
	args    []string
	values  map[string]any
	isSet   map[string]bool
}

func testApp(out io.Writer, s *seen) *App {
	action := func(ctx *Context) error {
		s.command = ctx.Command.Name
		s.args = ctx.Args()
		s.values = map[string]any{
			"root": ctx.String("root"), "debug": ctx.Bool("debug"),
			"process": ctx.String("process"), "detach": ctx.Bool("detach"), "tty": ctx.Bool("tty"),
			"env": ctx.StringSlice("env"), "preserve-fds": ctx.Int("preserve-fds"),
			"interval": ctx.Duration("interval"),
		}
		s.isSet = map[string]bool{"tty": ctx.IsSet("tty"), "detach": ctx.IsSet("detach"), "root": ctx.IsSet("root")}
		return nil
	}
	return &App{
		Name: "tupper", Usage: "a runtime", Version: "1.0", Stdout: out,
		PrintVersion: func(w io.Writer) { fmt.Fprintln(w, "tupper version 1.0, spec 1.3.0") },
		Flags: []Flag{
			&StringFlag{Name: "root", Value: "/run/tupper", Usage: "state directory"},
			&StringFlag{Name: "log-format", Value: "text"},
			&BoolFlag{Name: "debug"},
		},
		Before: func(ctx *Context) error {
			s.before = ctx.String("root")
			if ctx.String("log-format") == "yaml" {
				return fmt.Errorf("--log-format yaml: want text or json")
			}
			return nil
		},
		Commands: []*Command{
			{Name: "exec", Usage: "run a process", ArgsUsage: "<id> <command>", Action: action, Flags: []Flag{
				&StringFlag{Name: "process", Aliases: []string{"p"}},
				&BoolFlag{Name: "detach", Aliases: []string{"d"}},
				&BoolFlag{Name: "tty", Aliases: []string{"t"}},
				&StringSliceFlag{Name: "env", Aliases: []string{"e"}},
				&IntFlag{Name: "preserve-fds"},
			}},
			{Name: "events", Action: action, Flags: []Flag{
				&DurationFlag{Name: "interval", Value: 5 * time.Second},
			}},
		},
	}
}

func TestRun(t *testing.T) {
	defaults := map[string]any{
		"root": "/run/tupper", "debug": false, "process": "", "detach": false, "tty": false,
		"env": []string(nil), "preserve-fds": 0, "interval": time.Duration(0),
	}
	with := func(kv ...any) map[string]any {
		m := map[string]any{}
		for k, v := range defaults {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	for _, tc := range []struct {
		name   string
		argv   string
		args   []string
		values map[string]any
		isSet  map[string]bool
	}{
		{"clients' exec", "--root /r --log-format=json exec --process /p --detach c1",
			[]string{"c1"}, with("root", "/r", "process", "/p", "detach", true),
			map[string]bool{"tty": false, "detach": true, "root": true}},
		{"aliases", "exec -p=/p -d -t c1",
			[]string{"c1"}, with("process", "/p", "detach", true, "tty", true),
			map[string]bool{"tty": true, "detach": true, "root": false}},
		{"one dash or two, = or not", "-root=/a --debug exec -preserve-fds 0x3 --tty=false c1",
			[]string{"c1"}, with("root", "/a", "debug", true, "preserve-fds", 3),
			map[string]bool{"tty": true, "detach": false, "root": true}},
		{"flags end at the first argument", "exec c1 sh -c --detach",
			[]string{"c1", "sh", "-c", "--detach"}, with(), map[string]bool{}},
		{"and at --", "exec -- -c1 x",
			[]string{"-c1", "x"}, with(), map[string]bool{}},
		{"a list keeps every value whole", "exec -e A=1,2 --env B=3 -e=C= c1",
			[]string{"c1"}, with("env", []string{"A=1,2", "B=3", "C="}), map[string]bool{}},
		{"the last of a repeated flag", "--root /a --root /b exec c1",
			[]string{"c1"}, with("root", "/b"), map[string]bool{"root": true}},
		{"duration", "events --interval 250ms c1",
			[]string{"c1"}, with("interval", 250*time.Millisecond), nil},
		{"duration default", "events c1",
			[]string{"c1"}, with("interval", 5*time.Second), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			s := &seen{}
			if err := testApp(&out, s).Run(append([]string{"tupper"}, strings.Fields(tc.argv)...)); err != nil {
				t.Fatalf("Run(%s): %v", tc.argv, err)
			}
			if out.Len() != 0 {
				t.Errorf("Run(%s) printed %q", tc.argv, out.String())
			}
			if !slices.Equal(s.args, tc.args) {
				t.Errorf("args = %q, want %q", s.args, tc.args)
			}
			if !reflect.DeepEqual(s.values, tc.values) {
				t.Errorf("values = %v, want %v", s.values, tc.values)
			}
			for k, want := range tc.isSet {
				if s.isSet[k] != want {
					t.Errorf("IsSet(%q) = %v, want %v", k, s.isSet[k], want)
				}
			}
			if s.before != tc.values["root"] {
				t.Errorf("Before saw --root %q, want %q", s.before, tc.values["root"])
			}
		})
	}
}

func TestRunErrors(t *testing.T) {
	for _, tc := range []struct {
		argv, want string
	}{
		{"--bogus exec c1", "flag provided but not defined: -bogus"},
		{"exec --bogus c1", "exec: flag provided but not defined: -bogus"},
		{"exec --root /r c1", "exec: flag provided but not defined: -root"}, // global flags come first
		{"exec --preserve-fds x c1", `exec: invalid value "x" for flag -preserve-fds`},
		{"exec --process", "exec: flag needs an argument: -process"},
		{"events --interval 5 c1", `invalid value "5" for flag -interval`},
		{"bogus c1", `tupper: no command "bogus" (see tupper --help)`},
		{"help bogus", `help: no command "bogus"`},
		{"--log-format yaml exec c1", "--log-format yaml: want text or json"},
	} {
		s := &seen{}
		err := testApp(io.Discard, s).Run(append([]string{"tupper"}, strings.Fields(tc.argv)...))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Run(%s) = %v, want an error containing %q", tc.argv, err, tc.want)
		}
		if s.command != "" {
			t.Errorf("Run(%s) ran %s", tc.argv, s.command)
		}
	}
}

func TestHelpAndVersion(t *testing.T) {
	for _, tc := range []struct {
		argv string
		want []string
	}{
		{"", []string{"NAME:\n   tupper - a runtime", "exec", "events", "--root value", `(default: "/run/tupper")`, "--version, -v"}},
		{"-h", []string{"COMMANDS:", "GLOBAL OPTIONS:"}},
		{"--root /r --help exec c1", []string{"COMMANDS:"}},
		{"help", []string{"COMMANDS:"}},
		{"help exec", []string{"tupper exec - run a process", "[command options] <id> <command>", "--process value, -p value", "--detach, -d", "--env value, -e value"}},
		{"exec -h", []string{"tupper exec - run a process"}},
		{"exec c1 --help", nil}, // an argument of exec's process, not a flag
		{"events --help", []string{"--interval value", "(default: 5s)"}},
		{"-v", []string{"tupper version 1.0, spec 1.3.0"}},
		{"--version exec c1", []string{"tupper version 1.0, spec 1.3.0"}},
	} {
		var out bytes.Buffer
		s := &seen{}
		if err := testApp(&out, s).Run(append([]string{"tupper"}, strings.Fields(tc.argv)...)); err != nil {
			t.Errorf("Run(%s): %v", tc.argv, err)
			continue
		}
		if tc.want == nil {
			if s.command != "exec" || out.Len() != 0 {
				t.Errorf("Run(%s): ran %q, printed %q; want exec to run", tc.argv, s.command, out.String())
			}
			continue
		}
		if s.command != "" {
			t.Errorf("Run(%s) ran %s instead of printing", tc.argv, s.command)
		}
		for _, w := range tc.want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("Run(%s) printed\n%s\nwithout %q", tc.argv, out.String(), w)
			}
		}
	}
}

func TestArgs(t *testing.T) {
	a := Args{"c1", "sh", "-c"}
	if a.First() != "c1" || a.Get(2) != "-c" || a.Get(3) != "" || a.Get(-1) != "" || !reflect.DeepEqual(a.Tail(), []string{"sh", "-c"}) {
		t.Errorf("Args %q: First %q, Get(2) %q, Tail %q", a, a.First(), a.Get(2), a.Tail())
	}
	var none Args
	if none.First() != "" || none.Tail() != nil {
		t.Errorf("empty Args: First %q, Tail %q", none.First(), none.Tail())
	}
}
