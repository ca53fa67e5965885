package main

import (
	"github.com/urfave/cli/v2"

	"github.com/tupper-runtime/tupper/libcontainer/container"
)

func resumeCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:      "resume",
		Usage:     "thaw every process of a paused container",
		ArgsUsage: "<container-id>",
		Action:    onContainer(g, (*container.Container).Resume),
	}
}
