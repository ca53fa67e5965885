package main

import (
	"github.com/tupper-runtime/tupper/internal/cmdline"
	"github.com/tupper-runtime/tupper/libcontainer/container"
)

func startCommand(g *globals) *cmdline.Command {
	return &cmdline.Command{
		Name:      "start",
		Usage:     "execute the process of a created container",
		ArgsUsage: "<container-id>",
		Action:    onContainer(g, (*container.Container).Start),
	}
}
