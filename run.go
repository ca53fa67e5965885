package main

import (
	"fmt"

	"github.com/tupper-runtime/tupper/internal/cmdline"
	"github.com/tupper-runtime/tupper/libcontainer/container"
)

func runCommand(g *globals) *cmdline.Command {
	return &cmdline.Command{
		Name:      "run",
		Usage:     "create and start a container; in the foreground, wait for it and return its exit code",
		ArgsUsage: "<container-id>",
		Flags: append(createFlags(),
			&cmdline.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "return once the process runs"},
			&cmdline.BoolFlag{Name: "keep", Usage: "do not delete the container after it exits"},
		),
		Action: func(ctx *cmdline.Context) error {
			if err := checkArgs(ctx, 1, 1); err != nil {
				return err
			}
			id := ctx.Args().First()
			co, err := createOptions(ctx)
			if err != nil {
				return err
			}
			code, err := container.Run(g.opts, id, co, ctx.Bool("detach"), ctx.Bool("keep"))
			if err != nil {
				return fmt.Errorf("run %s: %w", id, err)
			}
			if code != 0 {
				return exitCode(code)
			}
			return nil
		},
	}
}
