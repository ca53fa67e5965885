package main

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/tupper-runtime/tupper/internal/cmdline"
	"github.com/tupper-runtime/tupper/libcontainer/container"
)

func eventsCommand(g *globals) *cmdline.Command {
	return &cmdline.Command{
		Name:      "events",
		Usage:     "print a container's stats and OOM events as JSON lines until it stops",
		ArgsUsage: "<container-id>",
		Flags: []cmdline.Flag{
			&cmdline.DurationFlag{Name: "interval", Value: 5 * time.Second, Usage: "time between stats events"},
			&cmdline.BoolFlag{Name: "stats", Usage: "print the stats once and exit"},
		},
		Action: func(ctx *cmdline.Context) error {
			if err := checkArgs(ctx, 1, 1); err != nil {
				return err
			}
			id := ctx.Args().First()
			c, err := container.Load(g.opts, id)
			if err != nil {
				return fmt.Errorf("events %s: %w", id, err)
			}
			defer c.Close()
			if ctx.Bool("stats") {
				ev, err := c.Stats()
				if err != nil {
					return fmt.Errorf("events %s: %w", id, err)
				}
				return json.NewEncoder(os.Stdout).Encode(ev)
			}
			if err := c.Events(os.Stdout, ctx.Duration("interval")); err != nil {
				return fmt.Errorf("events %s: %w", id, err)
			}
			return nil
		},
	}
}
