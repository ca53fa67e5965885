package main

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/tupper-runtime/tupper/libcontainer/container"
)

func eventsCommand(g *globals) *cli.Command {
	var interval time.Duration
	var stats bool
	return &cli.Command{
		Name:      "events",
		Usage:     "print a container's stats and OOM events as JSON lines until it stops",
		ArgsUsage: "<container-id>",
		Flags: []cli.Flag{
			newDuration(&cli.DurationFlag{Name: "interval", Value: 5 * time.Second, Usage: "time between stats events", Destination: &interval}),
			newBool(&cli.BoolFlag{Name: "stats", Usage: "print the stats once and exit", Destination: &stats}),
		},
		Action: func(ctx *cli.Context) error {
			if err := checkArgs(ctx, 1, 1); err != nil {
				return err
			}
			id := ctx.Args().First()
			c, err := container.Load(g.opts, id)
			if err != nil {
				return fmt.Errorf("events %s: %w", id, err)
			}
			defer c.Close()
			if stats {
				ev, err := c.Stats()
				if err != nil {
					return fmt.Errorf("events %s: %w", id, err)
				}
				return json.NewEncoder(os.Stdout).Encode(ev)
			}
			if err := c.Events(os.Stdout, interval); err != nil {
				return fmt.Errorf("events %s: %w", id, err)
			}
			return nil
		},
	}
}
