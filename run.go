package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/tupper-runtime/tupper/libcontainer/container"
)

func runCommand(g *globals) *cli.Command {
	o := &createOpts{}
	var detach, keep bool
	return &cli.Command{
		Name:      "run",
		Usage:     "create and start a container; in the foreground, wait for it and return its exit code",
		ArgsUsage: "<container-id>",
		Flags: append(o.flags(),
			newBool(&cli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "return once the process runs", Destination: &detach}),
			newBool(&cli.BoolFlag{Name: "keep", Usage: "do not delete the container after it exits", Destination: &keep}),
		),
		Action: func(ctx *cli.Context) error {
			if err := checkArgs(ctx, 1, 1); err != nil {
				return err
			}
			id := ctx.Args().First()
			co, err := o.options()
			if err != nil {
				return err
			}
			code, err := container.Run(g.opts, id, co, detach, keep)
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
