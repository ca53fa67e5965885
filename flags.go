package main

import "github.com/urfave/cli/v2"

// The flag types below are urfave/cli's, with their names worked out once.
// urfave asks a flag for its names whenever it looks one up, and each
// answer (cli.FlagNames) runs a regular expression over every name; after
// parsing it looks up every flag by each of its names (runFlagActions), so
// that cost grew with the square of a command's flags: 1.7M instructions,
// about 0.4 ms, in exec. With the names kept, urfave computes them only
// when it registers a flag.

type stringFlag struct {
	*cli.StringFlag
	names []string
}

type boolFlag struct {
	*cli.BoolFlag
	names []string
}

type intFlag struct {
	*cli.IntFlag
	names []string
}

type durationFlag struct {
	*cli.DurationFlag
	names []string
}

type stringSliceFlag struct {
	*cli.StringSliceFlag
	names []string
}

func (f *stringFlag) Names() []string      { return f.names }
func (f *boolFlag) Names() []string        { return f.names }
func (f *intFlag) Names() []string         { return f.names }
func (f *durationFlag) Names() []string    { return f.names }
func (f *stringSliceFlag) Names() []string { return f.names }

func flagNames(name string, aliases []string) []string {
	return append([]string{name}, aliases...)
}

func newString(f *cli.StringFlag) cli.Flag {
	return &stringFlag{f, flagNames(f.Name, f.Aliases)}
}

func newBool(f *cli.BoolFlag) cli.Flag {
	return &boolFlag{f, flagNames(f.Name, f.Aliases)}
}

func newInt(f *cli.IntFlag) cli.Flag {
	return &intFlag{f, flagNames(f.Name, f.Aliases)}
}

func newDuration(f *cli.DurationFlag) cli.Flag {
	return &durationFlag{f, flagNames(f.Name, f.Aliases)}
}

// newStringSlice keeps each value whole, spaces included, as runc does
// (with the app's DisableSliceFlagSeparator, "A=1,2" is one value).
func newStringSlice(f *cli.StringSliceFlag) cli.Flag {
	f.KeepSpace = true
	return &stringSliceFlag{f, flagNames(f.Name, f.Aliases)}
}
