package main

import (
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/tupper-runtime/tupper/libcontainer/container"
)

func listCommand(g *globals) *cli.Command {
	var format string
	var quiet bool
	return &cli.Command{
		Name:  "list",
		Usage: "list the containers under --root",
		Flags: []cli.Flag{
			newString(&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "table", Usage: "table or json", Destination: &format}),
			newBool(&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print only the ids", Destination: &quiet}),
		},
		Action: func(ctx *cli.Context) error {
			if err := checkArgs(ctx, 0, 0); err != nil {
				return err
			}
			all, err := container.List(g.opts)
			if err != nil {
				return fmt.Errorf("list: %w", err)
			}
			if quiet {
				for _, s := range all {
					fmt.Println(s.ID)
				}
				return nil
			}
			switch format {
			case "json":
				if all == nil {
					all = []*container.State{}
				}
				return printJSON(all)
			case "table":
				w := tabwriter.NewWriter(os.Stdout, 12, 1, 3, ' ', 0)
				fmt.Fprint(w, "ID\tPID\tSTATUS\tBUNDLE\tCREATED\tOWNER\n")
				for _, s := range all {
					fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\t%s\n", s.ID, s.Pid, s.Status, s.Bundle, s.Created.Format(time.RFC3339Nano), s.Owner)
				}
				return w.Flush()
			default:
				return fmt.Errorf("list: --format %q: want table or json", format)
			}
		},
	}
}
