package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/tupper-runtime/tupper/libcontainer/container"
)

// psCommand: containerd's `ctr tasks ps` calls `ps --format json ID` and
// reads a JSON array of host pids.
func psCommand(g *globals) *cli.Command {
	var format string
	return &cli.Command{
		Name:      "ps",
		Usage:     "list the processes in a container's cgroup",
		ArgsUsage: "<container-id> [ps options (default -ef)]",
		Flags: []cli.Flag{
			newString(&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "table", Usage: "table or json", Destination: &format}),
		},
		Action: func(ctx *cli.Context) error {
			if err := checkArgs(ctx, 1, -1); err != nil {
				return err
			}
			id := ctx.Args().First()
			if format != "table" && format != "json" {
				return fmt.Errorf("ps %s: --format %q: want table or json", id, format)
			}
			c, err := container.Load(g.opts, id)
			if err != nil {
				return fmt.Errorf("ps %s: %w", id, err)
			}
			defer c.Close()
			if format == "json" {
				pids, err := c.Processes()
				if err != nil {
					return fmt.Errorf("ps %s: %w", id, err)
				}
				return json.NewEncoder(os.Stdout).Encode(pids)
			}
			out, err := c.ProcessTable(ctx.Args().Tail())
			if err != nil {
				return fmt.Errorf("ps %s: %w", id, err)
			}
			_, err = os.Stdout.Write(out)
			return err
		},
	}
}
