package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/tupper-runtime/tupper/libcontainer/container"
)

// createFlags are shared by create and run.
func createFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "bundle", Aliases: []string{"b"}, Value: ".", Usage: "path to the OCI bundle"},
		&cli.StringFlag{Name: "pid-file", Usage: "write the init's pid to this file"},
		&cli.StringFlag{Name: "console-socket", Usage: "unix socket that receives the pty master"},
		&cli.BoolFlag{Name: "no-pivot", Usage: "use MS_MOVE and chroot instead of pivot_root"},
		&cli.BoolFlag{Name: "no-new-keyring", Usage: "keep the caller's session keyring"},
		&cli.IntFlag{Name: "preserve-fds", Usage: "pass N extra fds (3 to 3+N-1) to the process"},
	}
}

func createOptions(ctx *cli.Context) (*container.CreateOptions, error) {
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

func createCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:      "create",
		Usage:     "create a container from a bundle; start runs its process",
		ArgsUsage: "<container-id>",
		Flags:     createFlags(),
		Action: func(ctx *cli.Context) error {
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
