package main

import (
	"github.com/tupper-runtime/tupper/internal/cmdline"
	"github.com/tupper-runtime/tupper/libcontainer/container"
)

func pauseCommand(g *globals) *cmdline.Command {
	return &cmdline.Command{
		Name:      "pause",
		Usage:     "freeze every process of a running container",
		ArgsUsage: "<container-id>",
		Action:    onContainer(g, (*container.Container).Pause),
	}
}
