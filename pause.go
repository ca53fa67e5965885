package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/tupper-runtime/tupper/libcontainer/container"
)

func pauseCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:      "pause",
		Usage:     "freeze every process of a running container",
		ArgsUsage: "<container-id>",
		Action: func(ctx *cli.Context) error {
			if err := checkArgs(ctx, 1, 1); err != nil {
				return err
			}
			id := ctx.Args().First()
			c, err := container.Load(g.opts, id)
			if err != nil {
				return fmt.Errorf("pause %s: %w", id, err)
			}
			defer c.Close()
			if err := c.Pause(); err != nil {
				return fmt.Errorf("pause %s: %w", id, err)
			}
			return nil
		},
	}
}
