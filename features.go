package main

import (
	"github.com/tupper-runtime/tupper/internal/cmdline"
	"github.com/tupper-runtime/tupper/libcontainer/features"
)

func featuresCommand() *cmdline.Command {
	return &cmdline.Command{
		Name:  "features",
		Usage: "print the runtime-spec features document: what tupper supports",
		Action: func(ctx *cmdline.Context) error {
			if err := checkArgs(ctx, 0, 0); err != nil {
				return err
			}
			return printJSON(features.Get())
		},
	}
}
