package main

import (
	"fmt"

	"github.com/tupper-runtime/tupper/internal/cmdline"
	"github.com/tupper-runtime/tupper/libcontainer/container"
)

func execCommand(g *globals) *cmdline.Command {
	return &cmdline.Command{
		Name:      "exec",
		Usage:     "run a new process in a running container",
		ArgsUsage: "<container-id> <command> [args...]",
		Flags: []cmdline.Flag{
			&cmdline.StringFlag{Name: "process", Aliases: []string{"p"}, Usage: "a process.json describing the process"},
			&cmdline.StringFlag{Name: "console-socket", Usage: "unix socket that receives the pty master"},
			&cmdline.StringFlag{Name: "cwd", Usage: "working directory in the container"},
			&cmdline.StringSliceFlag{Name: "env", Aliases: []string{"e"}, Usage: "set an environment variable (KEY=VALUE)"},
			&cmdline.BoolFlag{Name: "tty", Aliases: []string{"t"}, Usage: "allocate a pseudo-terminal"},
			&cmdline.StringFlag{Name: "user", Aliases: []string{"u"}, Usage: "uid[:gid]"},
			&cmdline.StringSliceFlag{Name: "additional-gids", Aliases: []string{"g"}, Usage: "additional gids"},
			&cmdline.StringFlag{Name: "process-label", Usage: "SELinux label of the process"},
			&cmdline.StringFlag{Name: "apparmor", Usage: "AppArmor profile of the process"},
			&cmdline.BoolFlag{Name: "no-new-privs", Usage: "set no_new_privs"},
			&cmdline.StringSliceFlag{Name: "cap", Aliases: []string{"c"}, Usage: "add a capability"},
			&cmdline.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "return once the process runs"},
			&cmdline.StringFlag{Name: "pid-file", Usage: "write the process's pid to this file"},
			&cmdline.IntFlag{Name: "preserve-fds", Usage: "pass N extra fds (3 to 3+N-1) to the process"},
			&cmdline.StringFlag{Name: "cgroup", Usage: "run in this sub-cgroup of the container's cgroup"},
			&cmdline.BoolFlag{Name: "ignore-paused", Usage: "allow exec in a paused container"},
		},
		Action: func(ctx *cmdline.Context) error {
			// runc exits 255 when exec itself fails, so the caller can tell
			// that from the process's own exit code.
			if err := execAction(g, ctx); err != nil {
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

func execAction(g *globals, ctx *cmdline.Context) error {
	if err := checkArgs(ctx, 1, -1); err != nil {
		return err
	}
	id := ctx.Args().First()
	if n := ctx.Int("preserve-fds"); n < 0 {
		return fmt.Errorf("exec %s: --preserve-fds %d: must not be negative", id, n)
	}
	c, err := container.Load(g.opts, id)
	if err != nil {
		return fmt.Errorf("exec %s: %w", id, err)
	}
	defer c.Close()
	f := &container.ExecFlags{
		Args:           ctx.Args().Tail(),
		Cwd:            ctx.String("cwd"),
		Env:            ctx.StringSlice("env"),
		User:           ctx.String("user"),
		AdditionalGids: ctx.StringSlice("additional-gids"),
		ProcessLabel:   ctx.String("process-label"),
		AppArmor:       ctx.String("apparmor"),
		NoNewPrivs:     ctx.Bool("no-new-privs"),
		Caps:           ctx.StringSlice("cap"),
	}
	if ctx.IsSet("tty") {
		t := ctx.Bool("tty")
		f.Tty = &t
	}
	p, err := c.ExecProcess(ctx.String("process"), f)
	if err != nil {
		return fmt.Errorf("exec %s: %w", id, err)
	}
	code, err := c.Exec(&container.ExecOptions{
		Process:       p,
		ConsoleSocket: ctx.String("console-socket"),
		Detach:        ctx.Bool("detach"),
		PidFile:       ctx.String("pid-file"),
		PreserveFDs:   ctx.Int("preserve-fds"),
		SubCgroup:     ctx.String("cgroup"),
		IgnorePaused:  ctx.Bool("ignore-paused"),
	})
	if err != nil {
		return fmt.Errorf("exec %s: %w", id, err)
	}
	if code != 0 {
		return exitCode(code)
	}
	return nil
}
