package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/tupper-runtime/tupper/libcontainer/container"
)

func startCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:      "start",
		Usage:     "execute the process of a created container",
		ArgsUsage: "<container-id>",
		Action: func(ctx *cli.Context) error {
			if err := checkArgs(ctx, 1, 1); err != nil {
				return err
			}
			id := ctx.Args().First()
			c, err := container.Load(g.opts, id)
			if err != nil {
				return fmt.Errorf("start %s: %w", id, err)
			}
			defer c.Close()
			if err := c.Start(); err != nil {
				return fmt.Errorf("start %s: %w", id, err)
			}
			return nil
		},
	}
}
