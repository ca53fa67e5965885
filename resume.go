package main

import (
	"github.com/tupper-runtime/tupper/internal/cmdline"
	"github.com/tupper-runtime/tupper/libcontainer/container"
)

func resumeCommand(g *globals) *cmdline.Command {
	return &cmdline.Command{
		Name:      "resume",
		Usage:     "thaw every process of a paused container",
		ArgsUsage: "<container-id>",
		Action:    onContainer(g, (*container.Container).Resume),
	}
}
