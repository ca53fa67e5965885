package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/tupper-runtime/tupper/libcontainer/container"
)

func stateCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:      "state",
		Usage:     "print the state of a container as JSON",
		ArgsUsage: "<container-id>",
		Action: func(ctx *cli.Context) error {
			if err := checkArgs(ctx, 1, 1); err != nil {
				return err
			}
			id := ctx.Args().First()
			c, err := container.Load(g.opts, id)
			if err != nil {
				return fmt.Errorf("state %s: %w", id, err)
			}
			st := c.State()
			c.Close()
			return printJSON(st)
		},
	}
}

func printJSON(v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(os.Stdout, "%s\n", data)
	return err
}
