package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/tupper-runtime/tupper/internal/cmdline"
	"github.com/tupper-runtime/tupper/libcontainer/bundle"
)

func specCommand() *cmdline.Command {
	return &cmdline.Command{
		Name:  "spec",
		Usage: "write a default config.json into the bundle directory",
		Flags: []cmdline.Flag{
			&cmdline.StringFlag{Name: "bundle", Aliases: []string{"b"}, Value: ".", Usage: "directory to write config.json in"},
			&cmdline.BoolFlag{Name: "rootless", Usage: "a config for an unprivileged user"},
		},
		Action: func(ctx *cmdline.Context) error {
			if err := checkArgs(ctx, 0, 0); err != nil {
				return err
			}
			path := filepath.Join(ctx.String("bundle"), "config.json")
			if _, err := os.Lstat(path); err == nil {
				return fmt.Errorf("spec: %s exists; remove it first", path)
			} else if !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("spec: %w", err)
			}
			data, err := json.MarshalIndent(bundle.Default(ctx.Bool("rootless")), "", "\t")
			if err != nil {
				return err
			}
			if err := os.WriteFile(path, append(data, '\n'), 0o666); err != nil {
				return fmt.Errorf("spec: %w", err)
			}
			return nil
		},
	}
}
