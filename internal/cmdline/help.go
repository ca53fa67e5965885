package cmdline

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// printHelp prints the app's name, usage, commands and global flags.
func (a *App) printHelp() {
	w := tabwriter.NewWriter(a.stdout(), 0, 8, 2, ' ', 0)
	fmt.Fprintf(w, "NAME:\n   %s - %s\n\n", a.Name, a.Usage)
	fmt.Fprintf(w, "USAGE:\n   %s [global options] command [command options] [arguments...]\n\n", a.Name)
	if a.Version != "" {
		fmt.Fprintf(w, "VERSION:\n   %s\n\n", a.Version)
	}
	fmt.Fprintf(w, "COMMANDS:\n")
	for _, c := range a.Commands {
		fmt.Fprintf(w, "   %s\t%s\n", c.Name, c.Usage)
	}
	fmt.Fprintf(w, "   help\tshow the help, of a command with `%s help COMMAND`\n\n", a.Name)
	fmt.Fprintf(w, "GLOBAL OPTIONS:\n")
	printFlags(w, a.Flags)
	fmt.Fprintf(w, "   --help, -h\tshow help\n")
	fmt.Fprintf(w, "   --version, -v\tprint the version\n")
	w.Flush()
}

// printCommandHelp prints one command's usage and flags.
func (a *App) printCommandHelp(c *Command) {
	w := tabwriter.NewWriter(a.stdout(), 0, 8, 2, ' ', 0)
	fmt.Fprintf(w, "NAME:\n   %s %s - %s\n\n", a.Name, c.Name, c.Usage)
	usage := a.Name + " [global options] " + c.Name
	if len(c.Flags) > 0 {
		usage += " [command options]"
	}
	if c.ArgsUsage != "" {
		usage += " " + c.ArgsUsage
	}
	fmt.Fprintf(w, "USAGE:\n   %s\n\n", usage)
	fmt.Fprintf(w, "OPTIONS:\n")
	printFlags(w, c.Flags)
	fmt.Fprintf(w, "   --help, -h\tshow help\n")
	w.Flush()
}

// printFlags prints a line per flag: its names (long ones with --, single
// letters with -), a placeholder for its value, its usage and default.
func printFlags(w io.Writer, flags []Flag) {
	for _, f := range flags {
		placeholder, def := f.value()
		var names []string
		for _, n := range f.names() {
			dash := "--"
			if len(n) == 1 {
				dash = "-"
			}
			if placeholder != "" {
				n += " " + placeholder
			}
			names = append(names, dash+n)
		}
		usage := f.usage()
		if def != "" {
			usage += " (default: " + def + ")"
		}
		fmt.Fprintf(w, "   %s\t%s\n", strings.Join(names, ", "), usage)
	}
}
