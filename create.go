package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/tupper-runtime/tupper/libcontainer/container"
)

// createOpts are the flags shared by create and run, bound as they are
// parsed.
type createOpts struct {
	bundle, pidFile, consoleSocket string
	noPivot, noNewKeyring          bool
	preserveFDs                    int
}

func (o *createOpts) flags() []cli.Flag {
	return []cli.Flag{
		newString(&cli.StringFlag{Name: "bundle", Aliases: []string{"b"}, Value: ".", Usage: "path to the OCI bundle", Destination: &o.bundle}),
		newString(&cli.StringFlag{Name: "pid-file", Usage: "write the init's pid to this file", Destination: &o.pidFile}),
		newString(&cli.StringFlag{Name: "console-socket", Usage: "unix socket that receives the pty master", Destination: &o.consoleSocket}),
		newBool(&cli.BoolFlag{Name: "no-pivot", Usage: "use MS_MOVE and chroot instead of pivot_root", Destination: &o.noPivot}),
		newBool(&cli.BoolFlag{Name: "no-new-keyring", Usage: "keep the caller's session keyring", Destination: &o.noNewKeyring}),
		newInt(&cli.IntFlag{Name: "preserve-fds", Usage: "pass N extra fds (3 to 3+N-1) to the process", Destination: &o.preserveFDs}),
	}
}

func (o *createOpts) options() (*container.CreateOptions, error) {
	if o.preserveFDs < 0 {
		return nil, fmt.Errorf("--preserve-fds %d: must not be negative", o.preserveFDs)
	}
	return &container.CreateOptions{
		Bundle:        o.bundle,
		PidFile:       o.pidFile,
		ConsoleSocket: o.consoleSocket,
		NoPivot:       o.noPivot,
		NoNewKeyring:  o.noNewKeyring,
		PreserveFDs:   o.preserveFDs,
	}, nil
}

func createCommand(g *globals) *cli.Command {
	o := &createOpts{}
	return &cli.Command{
		Name:      "create",
		Usage:     "create a container from a bundle; start runs its process",
		ArgsUsage: "<container-id>",
		Flags:     o.flags(),
		Action: func(ctx *cli.Context) error {
			if err := checkArgs(ctx, 1, 1); err != nil {
				return err
			}
			id := ctx.Args().First()
			co, err := o.options()
			if err != nil {
				return err
			}
			c, err := container.Create(g.opts, id, co)
			if err != nil {
				return fmt.Errorf("create %s: %w", id, err)
			}
			c.Release()
			return nil
		},
	}
}
