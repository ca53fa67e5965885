package main

import (
	"github.com/urfave/cli/v2"

	"github.com/tupper-runtime/tupper/libcontainer/container"
)

func pauseCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:      "pause",
		Usage:     "freeze every process of a running container",
		ArgsUsage: "<container-id>",
		Action:    onContainer(g, (*container.Container).Pause),
	}
}
