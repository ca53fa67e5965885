package main

import (
	"github.com/urfave/cli/v2"

	"github.com/tupper-runtime/tupper/libcontainer/features"
)

func featuresCommand() *cli.Command {
	return &cli.Command{
		Name:  "features",
		Usage: "print the runtime-spec features document: what tupper supports",
		Action: func(ctx *cli.Context) error {
			if err := checkArgs(ctx, 0, 0); err != nil {
				return err
			}
			return printJSON(features.Get())
		},
	}
}
