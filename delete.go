package main

import (
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/tupper-runtime/tupper/libcontainer/container"
	"github.com/tupper-runtime/tupper/libcontainer/state"
)

func deleteCommand(g *globals) *cli.Command {
	var force bool
	return &cli.Command{
		Name:      "delete",
		Usage:     "delete a container: its processes (with --force), cgroup and state",
		ArgsUsage: "<container-id>",
		Flags: []cli.Flag{
			newBool(&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "kill the container first if it runs", Destination: &force}),
		},
		Action: func(ctx *cli.Context) error {
			if err := checkArgs(ctx, 1, 1); err != nil {
				return err
			}
			id := ctx.Args().First()
			c, err := container.Load(g.opts, id)
			if err != nil {
				// containerd deletes, then deletes again with --force:
				// a container already gone is success for --force.
				if errors.Is(err, state.ErrNotExist) && force {
					return nil
				}
				return fmt.Errorf("delete %s: %w", id, err)
			}
			defer c.Close()
			if err := c.Destroy(force); err != nil {
				return fmt.Errorf("delete %s: %w", id, err)
			}
			return nil
		},
	}
}
