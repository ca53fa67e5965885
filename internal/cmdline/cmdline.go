// Package cmdline parses tupper's command line: global flags, a command,
// the command's flags, then its arguments; and it prints help.
//
// The syntax is Go's flag package's, which runc's command line shares:
// -name and --name alike, -name=value or -name value, a boolean flag takes
// no value (but -name=false), and flags end at the first argument that is
// not one, or at "--". So `tupper exec ID sh -c x` leaves "-c" to sh. A
// flag given twice keeps the last value; a list flag (StringSliceFlag)
// keeps every one, as given: "a,b" is one value, as in runc.
//
// It replaces urfave/cli, which looked up a flag by running a regular
// expression over the names of every flag, for every flag, on every
// command: about two million instructions, half a millisecond, in each
// tupper command, exec and kill included.
package cmdline

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// App is the program: its global flags and its commands.
type App struct {
	Name    string
	Usage   string
	Version string
	Flags   []Flag
	// Before runs once the global flags are parsed, before the command's
	// are.
	Before   func(*Context) error
	Commands []*Command
	// PrintVersion prints --version's text; by default the name and
	// Version.
	PrintVersion func(w io.Writer)
	// Stdout receives help and version text (os.Stdout when nil).
	Stdout io.Writer
}

// Command is one verb: its flags and what it does.
type Command struct {
	Name      string
	Usage     string
	ArgsUsage string // the arguments after the flags, for help
	Flags     []Flag
	Action    func(*Context) error
}

// Flag is a flag of the app or of a command. The implementations are
// StringFlag, BoolFlag, IntFlag, DurationFlag and StringSliceFlag.
type Flag interface {
	names() []string
	usage() string
	// value is the placeholder help shows after the names ("" for a
	// boolean), and def its default for help ("" for none).
	value() (placeholder, def string)
	apply(fs *flag.FlagSet)
}

// StringFlag is a flag with a string value.
type StringFlag struct {
	Name    string
	Aliases []string
	Value   string // the default
	Usage   string
}

// BoolFlag is a flag that is set by its name alone.
type BoolFlag struct {
	Name    string
	Aliases []string
	Usage   string
}

// IntFlag is a flag with an integer value (decimal, 0x hex, 0 octal).
type IntFlag struct {
	Name    string
	Aliases []string
	Value   int
	Usage   string
}

// DurationFlag is a flag with a time.ParseDuration value ("5s").
type DurationFlag struct {
	Name    string
	Aliases []string
	Value   time.Duration
	Usage   string
}

// StringSliceFlag is a flag that may be given many times; each value is
// kept whole.
type StringSliceFlag struct {
	Name    string
	Aliases []string
	Usage   string
}

func (f *StringFlag) names() []string      { return append([]string{f.Name}, f.Aliases...) }
func (f *BoolFlag) names() []string        { return append([]string{f.Name}, f.Aliases...) }
func (f *IntFlag) names() []string         { return append([]string{f.Name}, f.Aliases...) }
func (f *DurationFlag) names() []string    { return append([]string{f.Name}, f.Aliases...) }
func (f *StringSliceFlag) names() []string { return append([]string{f.Name}, f.Aliases...) }

func (f *StringFlag) usage() string      { return f.Usage }
func (f *BoolFlag) usage() string        { return f.Usage }
func (f *IntFlag) usage() string         { return f.Usage }
func (f *DurationFlag) usage() string    { return f.Usage }
func (f *StringSliceFlag) usage() string { return f.Usage }

func (f *StringFlag) value() (string, string) {
	if f.Value == "" {
		return "value", ""
	}
	return "value", fmt.Sprintf("%q", f.Value)
}
func (f *BoolFlag) value() (string, string) { return "", "" }
func (f *IntFlag) value() (string, string) {
	if f.Value == 0 {
		return "value", ""
	}
	return "value", fmt.Sprint(f.Value)
}
func (f *DurationFlag) value() (string, string)    { return "value", f.Value.String() }
func (f *StringSliceFlag) value() (string, string) { return "value", "" }

// Each name of a flag is registered with the same variable, so that any
// of them sets it.
func (f *StringFlag) apply(fs *flag.FlagSet) {
	v := new(string)
	for _, n := range f.names() {
		fs.StringVar(v, n, f.Value, f.Usage)
	}
}
func (f *BoolFlag) apply(fs *flag.FlagSet) {
	v := new(bool)
	for _, n := range f.names() {
		fs.BoolVar(v, n, false, f.Usage)
	}
}
func (f *IntFlag) apply(fs *flag.FlagSet) {
	v := new(int)
	for _, n := range f.names() {
		fs.IntVar(v, n, f.Value, f.Usage)
	}
}
func (f *DurationFlag) apply(fs *flag.FlagSet) {
	v := new(time.Duration)
	for _, n := range f.names() {
		fs.DurationVar(v, n, f.Value, f.Usage)
	}
}
func (f *StringSliceFlag) apply(fs *flag.FlagSet) {
	v := new(sliceValue)
	for _, n := range f.names() {
		fs.Var(v, n, f.Usage)
	}
}

// sliceValue collects every value of a StringSliceFlag.
type sliceValue []string

func (s *sliceValue) String() string { return strings.Join(*s, ",") }
func (s *sliceValue) Set(v string) error {
	*s = append(*s, v)
	return nil
}
func (s *sliceValue) Get() any { return []string(*s) }

// Context is what Before and an Action see: the flags parsed so far and
// the arguments after them.
type Context struct {
	App     *App
	Command *Command // nil in Before
	sets    []*flag.FlagSet
	aliases map[string][]string // a name to every name of its flag
	args    []string
}

// lookup finds name among the command's flags, then the app's.
func (c *Context) lookup(name string) any {
	for _, fs := range c.sets {
		if f := fs.Lookup(name); f != nil {
			return f.Value.(flag.Getter).Get()
		}
	}
	return nil
}

// String is the value of a StringFlag ("" when there is none of that name).
func (c *Context) String(name string) string { s, _ := c.lookup(name).(string); return s }

// Bool is the value of a BoolFlag.
func (c *Context) Bool(name string) bool { b, _ := c.lookup(name).(bool); return b }

// Int is the value of an IntFlag.
func (c *Context) Int(name string) int { n, _ := c.lookup(name).(int); return n }

// Duration is the value of a DurationFlag.
func (c *Context) Duration(name string) time.Duration {
	d, _ := c.lookup(name).(time.Duration)
	return d
}

// StringSlice is every value of a StringSliceFlag, in order.
func (c *Context) StringSlice(name string) []string {
	s, _ := c.lookup(name).([]string)
	return s
}

// IsSet tells whether the flag of that name was given, under any of its
// names.
func (c *Context) IsSet(name string) bool {
	names := c.aliases[name]
	set := false
	for _, fs := range c.sets {
		fs.Visit(func(f *flag.Flag) {
			for _, n := range names {
				if f.Name == n {
					set = true
				}
			}
		})
	}
	return set
}

// Args are the arguments after the flags.
func (c *Context) Args() Args { return c.args }

// NArg is the number of arguments after the flags.
func (c *Context) NArg() int { return len(c.args) }

// Args are a command's arguments.
type Args []string

// First is the first argument, or "".
func (a Args) First() string { return a.Get(0) }

// Get is argument i, or "".
func (a Args) Get(i int) string {
	if i < 0 || i >= len(a) {
		return ""
	}
	return a[i]
}

// Tail is every argument but the first.
func (a Args) Tail() []string {
	if len(a) < 2 {
		return nil
	}
	return a[1:]
}

// Run parses args (os.Args: the program's name first) and runs the
// command. Help (-h, --help, a bare `tupper` or `tupper help [command]`)
// and --version print and return nil.
func (a *App) Run(args []string) error {
	ctx := &Context{App: a, aliases: map[string][]string{}}
	global := a.flagSet(a.Name, a.Flags, ctx)
	var help, version bool
	boolFlag(global, &help, "help", "h")
	boolFlag(global, &version, "version", "v")
	if len(args) > 0 {
		args = args[1:]
	}
	if err := global.Parse(args); err != nil {
		return err
	}
	ctx.sets = []*flag.FlagSet{global}
	rest := global.Args()
	switch {
	case version:
		a.printVersion()
		return nil
	case help || len(rest) == 0:
		a.printHelp()
		return nil
	case rest[0] == "help":
		if len(rest) > 1 {
			if cmd := a.command(rest[1]); cmd != nil {
				a.printCommandHelp(cmd)
				return nil
			}
			return fmt.Errorf("help: no command %q", rest[1])
		}
		a.printHelp()
		return nil
	}
	cmd := a.command(rest[0])
	if cmd == nil {
		return fmt.Errorf("%s: no command %q (see %s --help)", a.Name, rest[0], a.Name)
	}
	if a.Before != nil {
		ctx.args = rest
		if err := a.Before(ctx); err != nil {
			return err
		}
	}
	local := a.flagSet(a.Name+" "+cmd.Name, cmd.Flags, ctx)
	boolFlag(local, &help, "help", "h")
	if err := local.Parse(rest[1:]); err != nil {
		return fmt.Errorf("%s: %w", cmd.Name, err)
	}
	if help {
		a.printCommandHelp(cmd)
		return nil
	}
	ctx.Command = cmd
	ctx.sets = []*flag.FlagSet{local, global}
	ctx.args = local.Args()
	if cmd.Action == nil {
		return nil
	}
	return cmd.Action(ctx)
}

// flagSet registers flags, and their names in ctx's alias map.
func (a *App) flagSet(name string, flags []Flag, ctx *Context) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are returned, help is ours
	for _, f := range flags {
		f.apply(fs)
		names := f.names()
		for _, n := range names {
			ctx.aliases[n] = names
		}
	}
	return fs
}

// boolFlag adds a built-in flag (help, version) under the names a flag of
// the app or command does not take already.
func boolFlag(fs *flag.FlagSet, v *bool, names ...string) {
	for _, n := range names {
		if fs.Lookup(n) == nil {
			fs.BoolVar(v, n, false, "")
		}
	}
}

func (a *App) command(name string) *Command {
	for _, c := range a.Commands {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func (a *App) stdout() io.Writer {
	if a.Stdout != nil {
		return a.Stdout
	}
	return os.Stdout
}

func (a *App) printVersion() {
	if a.PrintVersion != nil {
		a.PrintVersion(a.stdout())
		return
	}
	fmt.Fprintf(a.stdout(), "%s version %s\n", a.Name, a.Version)
}
