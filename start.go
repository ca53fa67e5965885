package main

import (
	"github.com/urfave/cli/v2"

	"github.com/tupper-runtime/tupper/libcontainer/container"
)

func startCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:      "start",
		Usage:     "execute the process of a created container",
		ArgsUsage: "<container-id>",
		Action:    onContainer(g, (*container.Container).Start),
	}
}
