package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/tupper-runtime/tupper/libcontainer/container"
	"github.com/tupper-runtime/tupper/libcontainer/signals"
)

func killCommand(g *globals) *cli.Command {
	var all bool
	return &cli.Command{
		Name:      "kill",
		Usage:     "send a signal (default SIGTERM) to a container's init",
		ArgsUsage: "<container-id> [signal]",
		Flags: []cli.Flag{
			newBool(&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "signal every process in the container's cgroup", Destination: &all}),
		},
		Action: func(ctx *cli.Context) error {
			if err := checkArgs(ctx, 1, 2); err != nil {
				return err
			}
			id := ctx.Args().First()
			name := "SIGTERM"
			if ctx.NArg() == 2 {
				name = ctx.Args().Get(1)
			}
			sig, err := signals.Parse(name)
			if err != nil {
				return fmt.Errorf("kill %s: %w", id, err)
			}
			c, err := container.Load(g.opts, id)
			if err != nil {
				return fmt.Errorf("kill %s: %w", id, err)
			}
			defer c.Close()
			if err := c.Signal(sig, all); err != nil {
				return fmt.Errorf("kill %s: %w", id, err)
			}
			return nil
		},
	}
}
