package main

import (
	"fmt"

	"github.com/tupper-runtime/tupper/internal/cmdline"
	"github.com/tupper-runtime/tupper/libcontainer/container"
)

// createFlags are shared by create and run.
func createFlags() []cmdline.Flag {
	return []cmdline.Flag{
		&cmdline.StringFlag{Name: "bundle", Aliases: []string{"b"}, Value: ".", Usage: "path to the OCI bundle"},
		&cmdline.StringFlag{Name: "pid-file", Usage: "write the init's pid to this file"},
		&cmdline.StringFlag{Name: "console-socket", Usage: "unix socket that receives the pty master"},
		&cmdline.BoolFlag{Name: "no-pivot", Usage: "use MS_MOVE and chroot instead of pivot_root"},
		&cmdline.BoolFlag{Name: "no-new-keyring", Usage: "keep the caller's session keyring"},
		&cmdline.IntFlag{Name: "preserve-fds", Usage: "pass N extra fds (3 to 3+N-1) to the process"},
	}
}

func createOptions(ctx *cmdline.Context) (*container.CreateOptions, error) {
	n := ctx.Int("preserve-fds")
	if n < 0 {
		return nil, fmt.Errorf("--preserve-fds %d: must not be negative", n)
	}
	return &container.CreateOptions{
		Bundle:        ctx.String("bundle"),
		PidFile:       ctx.String("pid-file"),
		ConsoleSocket: ctx.String("console-socket"),
		NoPivot:       ctx.Bool("no-pivot"),
		NoNewKeyring:  ctx.Bool("no-new-keyring"),
		PreserveFDs:   n,
	}, nil
}

func createCommand(g *globals) *cmdline.Command {
	return &cmdline.Command{
		Name:      "create",
		Usage:     "create a container from a bundle; start runs its process",
		ArgsUsage: "<container-id>",
		Flags:     createFlags(),
		Action: func(ctx *cmdline.Context) error {
			if err := checkArgs(ctx, 1, 1); err != nil {
				return err
			}
			id := ctx.Args().First()
			co, err := createOptions(ctx)
			if err != nil {
				return err
			}
			c, err := container.Create(g.opts, id, co)
			if err != nil {
				return fmt.Errorf("create %s: %w", id, err)
			}
			c.Release()
			return nil
		},
	}
}
