package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/tupper-runtime/tupper/libcontainer/container"
)

// execOptions are exec's flags, bound as they are parsed.
type execOptions struct {
	process, consoleSocket, cwd, user string
	processLabel, appArmor            string
	pidFile, cgroup                   string
	env, additionalGids, caps         cli.StringSlice
	tty, ttySet, noNewPrivs, detach   bool
	ignorePaused                      bool
	preserveFDs                       int
}

func execCommand(g *globals) *cli.Command {
	o := &execOptions{}
	return &cli.Command{
		Name:      "exec",
		Usage:     "run a new process in a running container",
		ArgsUsage: "<container-id> <command> [args...]",
		Flags: []cli.Flag{
			newString(&cli.StringFlag{Name: "process", Aliases: []string{"p"}, Usage: "a process.json describing the process", Destination: &o.process}),
			newString(&cli.StringFlag{Name: "console-socket", Usage: "unix socket that receives the pty master", Destination: &o.consoleSocket}),
			newString(&cli.StringFlag{Name: "cwd", Usage: "working directory in the container", Destination: &o.cwd}),
			newStringSlice(&cli.StringSliceFlag{Name: "env", Aliases: []string{"e"}, Usage: "set an environment variable (KEY=VALUE)", Destination: &o.env}),
			newBool(&cli.BoolFlag{Name: "tty", Aliases: []string{"t"}, Usage: "allocate a pseudo-terminal", Destination: &o.tty,
				// --tty=false overrides process.json's terminal; no --tty keeps it.
				Action: func(*cli.Context, bool) error { o.ttySet = true; return nil }}),
			newString(&cli.StringFlag{Name: "user", Aliases: []string{"u"}, Usage: "uid[:gid]", Destination: &o.user}),
			newStringSlice(&cli.StringSliceFlag{Name: "additional-gids", Aliases: []string{"g"}, Usage: "additional gids", Destination: &o.additionalGids}),
			newString(&cli.StringFlag{Name: "process-label", Usage: "SELinux label of the process", Destination: &o.processLabel}),
			newString(&cli.StringFlag{Name: "apparmor", Usage: "AppArmor profile of the process", Destination: &o.appArmor}),
			newBool(&cli.BoolFlag{Name: "no-new-privs", Usage: "set no_new_privs", Destination: &o.noNewPrivs}),
			newStringSlice(&cli.StringSliceFlag{Name: "cap", Aliases: []string{"c"}, Usage: "add a capability", Destination: &o.caps}),
			newBool(&cli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "return once the process runs", Destination: &o.detach}),
			newString(&cli.StringFlag{Name: "pid-file", Usage: "write the process's pid to this file", Destination: &o.pidFile}),
			newInt(&cli.IntFlag{Name: "preserve-fds", Usage: "pass N extra fds (3 to 3+N-1) to the process", Destination: &o.preserveFDs}),
			newString(&cli.StringFlag{Name: "cgroup", Usage: "run in this sub-cgroup of the container's cgroup", Destination: &o.cgroup}),
			newBool(&cli.BoolFlag{Name: "ignore-paused", Usage: "allow exec in a paused container", Destination: &o.ignorePaused}),
		},
		Action: func(ctx *cli.Context) error {
			// runc exits 255 when exec itself fails, so the caller can tell
			// that from the process's own exit code.
			if err := execAction(g, o, ctx); err != nil {
				if _, ok := err.(exitCode); ok {
					return err
				}
				return execFailed{err}
			}
			return nil
		},
	}
}

// execFailed is an error of exec itself: printed, exit status 255.
type execFailed struct{ error }

func (e execFailed) Unwrap() error { return e.error }

func execAction(g *globals, o *execOptions, ctx *cli.Context) error {
	if err := checkArgs(ctx, 1, -1); err != nil {
		return err
	}
	id := ctx.Args().First()
	if o.preserveFDs < 0 {
		return fmt.Errorf("exec %s: --preserve-fds %d: must not be negative", id, o.preserveFDs)
	}
	c, err := container.Load(g.opts, id)
	if err != nil {
		return fmt.Errorf("exec %s: %w", id, err)
	}
	defer c.Close()
	f := &container.ExecFlags{
		Args:           ctx.Args().Tail(),
		Cwd:            o.cwd,
		Env:            o.env.Value(),
		User:           o.user,
		AdditionalGids: o.additionalGids.Value(),
		ProcessLabel:   o.processLabel,
		AppArmor:       o.appArmor,
		NoNewPrivs:     o.noNewPrivs,
		Caps:           o.caps.Value(),
	}
	if o.ttySet {
		f.Tty = &o.tty
	}
	p, err := c.ExecProcess(o.process, f)
	if err != nil {
		return fmt.Errorf("exec %s: %w", id, err)
	}
	code, err := c.Exec(&container.ExecOptions{
		Process:       p,
		ConsoleSocket: o.consoleSocket,
		Detach:        o.detach,
		PidFile:       o.pidFile,
		PreserveFDs:   o.preserveFDs,
		SubCgroup:     o.cgroup,
		IgnorePaused:  o.ignorePaused,
	})
	if err != nil {
		return fmt.Errorf("exec %s: %w", id, err)
	}
	if code != 0 {
		return exitCode(code)
	}
	return nil
}
