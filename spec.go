package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/tupper-runtime/tupper/libcontainer/bundle"
)

func specCommand() *cli.Command {
	var bundleDir string
	var rootless bool
	return &cli.Command{
		Name:  "spec",
		Usage: "write a default config.json into the bundle directory",
		Flags: []cli.Flag{
			newString(&cli.StringFlag{Name: "bundle", Aliases: []string{"b"}, Value: ".", Usage: "directory to write config.json in", Destination: &bundleDir}),
			newBool(&cli.BoolFlag{Name: "rootless", Usage: "a config for an unprivileged user", Destination: &rootless}),
		},
		Action: func(ctx *cli.Context) error {
			if err := checkArgs(ctx, 0, 0); err != nil {
				return err
			}
			path := filepath.Join(bundleDir, "config.json")
			if _, err := os.Lstat(path); err == nil {
				return fmt.Errorf("spec: %s exists; remove it first", path)
			} else if !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("spec: %w", err)
			}
			data, err := json.MarshalIndent(bundle.Default(rootless), "", "\t")
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
