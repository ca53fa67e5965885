package main

import (
	"errors"
	"fmt"

	"github.com/tupper-runtime/tupper/internal/cmdline"
	"github.com/tupper-runtime/tupper/libcontainer/container"
	"github.com/tupper-runtime/tupper/libcontainer/state"
)

func deleteCommand(g *globals) *cmdline.Command {
	return &cmdline.Command{
		Name:      "delete",
		Usage:     "delete a container: its processes (with --force), cgroup and state",
		ArgsUsage: "<container-id>",
		Flags: []cmdline.Flag{
			&cmdline.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "kill the container first if it runs"},
		},
		Action: func(ctx *cmdline.Context) error {
			if err := checkArgs(ctx, 1, 1); err != nil {
				return err
			}
			id := ctx.Args().First()
			c, err := container.Load(g.opts, id)
			if err != nil {
				// containerd deletes, then deletes again with --force:
				// a container already gone is success for --force.
				if errors.Is(err, state.ErrNotExist) && ctx.Bool("force") {
					return nil
				}
				return fmt.Errorf("delete %s: %w", id, err)
			}
			defer c.Close()
			if err := c.Destroy(ctx.Bool("force")); err != nil {
				return fmt.Errorf("delete %s: %w", id, err)
			}
			return nil
		},
	}
}
