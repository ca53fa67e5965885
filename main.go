// Command tupper is an OCI runtime-spec container runtime with runc's
// command line. Each command lives in its own file; this one wires the
// global flags, the logger and the exit codes.
package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/urfave/cli/v2"

	"github.com/tupper-runtime/tupper/libcontainer/container"
	"github.com/tupper-runtime/tupper/libcontainer/logs"
	_ "github.com/tupper-runtime/tupper/libcontainer/nsenter" // joins namespaces before Go starts
)

// Set by the Makefile with -ldflags -X.
var (
	version = "0.1.0-dev"
	commit  = "unknown"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "init" {
		container.Init() // never returns
	}
	os.Exit(run(os.Args))
}

// globals are the global flags, bound to these fields as they are parsed
// and resolved once in Before.
type globals struct {
	root, logPath, logFormat, rootless string
	debug, systemdCgroup               bool

	log    *slog.Logger
	closer io.Closer
	toFile bool // --log names a file: errors go there as well as to stderr
	opts   *container.Options
}

// exitCode is an error that only carries an exit code (run's container
// exit status): nothing is printed for it.
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

func run(args []string) int {
	g := &globals{log: logs.Discard()}
	err := newApp(g).Run(args)
	if g.closer != nil {
		defer g.closer.Close()
	}
	var ec exitCode
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ec):
		return int(ec)
	}
	fmt.Fprintln(os.Stderr, err)
	if g.toFile {
		g.log.Error(err.Error())
	}
	if _, ok := err.(execFailed); ok {
		return 255
	}
	// urfave's own errors, such as "No help topic for 'x'" (3), carry
	// runc's exit codes. Only at the top: an error wrapping a failed
	// hook's *exec.ExitError is an ExitCoder too, and exits 1.
	if coder, ok := err.(cli.ExitCoder); ok {
		return coder.ExitCode()
	}
	return 1
}

// newApp builds the command line. Every flag is bound to a field with
// Destination, here and in each command's constructor: an Action reads
// fields, not urfave/cli's lookups by name. What made those slow (each
// flag's names worked out again, through a regular expression, on every
// IsSet and in its flag actions, about 0.5 ms per command) is cached by
// flags.go.
func newApp(g *globals) *cli.App {
	commands := []*cli.Command{
		createCommand(g), startCommand(g), runCommand(g), stateCommand(g), killCommand(g),
		deleteCommand(g), listCommand(g), specCommand(), featuresCommand(),
		pauseCommand(g), resumeCommand(g), psCommand(g), updateCommand(g), eventsCommand(g),
		execCommand(g),
	}
	for _, c := range commands {
		// Otherwise urfave gives each command a "help" (and "h")
		// subcommand, and `tupper state h` would print help instead of
		// the state of container h.
		c.HideHelpCommand = true
	}
	return &cli.App{
		Name:  "tupper",
		Usage: "an OCI runtime-spec container runtime",
		// Printed after "tupper version " by --version, as runc prints its
		// own.
		Version: fmt.Sprintf("%s\ncommit: %s\nspec: %s\ngo: %s", version, commit, specs.Version, runtime.Version()),
		Flags: []cli.Flag{
			newString(&cli.StringFlag{Name: "root", Value: defaultRoot(), Usage: "directory for container state", Destination: &g.root}),
			newString(&cli.StringFlag{Name: "log", Usage: "log file (default: stderr)", Destination: &g.logPath}),
			newString(&cli.StringFlag{Name: "log-format", Value: "text", Usage: "log format: text or json", Destination: &g.logFormat}),
			newBool(&cli.BoolFlag{Name: "debug", Usage: "log each step with its duration", Destination: &g.debug}),
			newBool(&cli.BoolFlag{Name: "systemd-cgroup", Usage: "accepted for compatibility; tupper drives cgroupfs", Destination: &g.systemdCgroup}),
			newString(&cli.StringFlag{Name: "rootless", Value: "auto", Usage: "true, false or auto", Destination: &g.rootless}),
		},
		Before: func(*cli.Context) error {
			var rootless, auto bool
			switch g.rootless {
			case "true", "false":
				rootless = g.rootless == "true"
			case "auto":
				auto = true // detected by create, the one command that needs it
			default:
				return fmt.Errorf("--rootless %q: want true, false or auto", g.rootless)
			}
			l, c, err := logs.New(logs.Options{Path: g.logPath, Format: g.logFormat, Debug: g.debug})
			if err != nil {
				return err
			}
			g.log, g.closer, g.toFile = l, c, g.logPath != ""
			g.opts = &container.Options{
				Root:          g.root,
				Log:           l,
				SystemdCgroup: g.systemdCgroup,
				Debug:         g.debug,
				Rootless:      rootless,
				RootlessAuto:  auto,
			}
			return nil
		},
		Commands: commands,
		// As runc: list flags keep "a,b" as one value (`exec --env A=1,2`).
		DisableSliceFlagSeparator: true,
		// A zero Compiled makes urfave stat the executable on every run.
		Compiled:       time.Unix(0, 0),
		ExitErrHandler: func(*cli.Context, error) {}, // run() reports errors
	}
}

// checkArgs enforces a command's argument count, with runc's wording.
func checkArgs(ctx *cli.Context, min, max int) error {
	n := ctx.NArg()
	switch {
	case min == max && n != min:
		return fmt.Errorf("%s: requires exactly %d argument(s)", ctx.Command.Name, min)
	case n < min:
		return fmt.Errorf("%s: requires a minimum of %d argument(s)", ctx.Command.Name, min)
	case max >= 0 && n > max:
		return fmt.Errorf("%s: requires a maximum of %d argument(s)", ctx.Command.Name, max)
	}
	return nil
}

// onContainer is the Action of a command that takes exactly one container
// id and calls one method on it: it loads (and locks) the container, and
// prefixes any error with the command and the id.
func onContainer(g *globals, do func(*container.Container) error) cli.ActionFunc {
	return func(ctx *cli.Context) error {
		if err := checkArgs(ctx, 1, 1); err != nil {
			return err
		}
		id := ctx.Args().First()
		c, err := container.Load(g.opts, id)
		if err == nil {
			err = do(c)
			c.Close()
		}
		if err != nil {
			return fmt.Errorf("%s %s: %w", ctx.Command.Name, id, err)
		}
		return nil
	}
}

// defaultRoot is --root's default: /run/tupper for root, and for anyone
// else $XDG_RUNTIME_DIR/tupper, a directory of their own, as runc does.
func defaultRoot() string {
	if dir := os.Getenv("XDG_RUNTIME_DIR"); dir != "" && os.Geteuid() != 0 {
		return filepath.Join(dir, "tupper")
	}
	return "/run/tupper"
}
