package main

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/features"
	"github.com/prevoir/prevoir/models/registry"
	"github.com/prevoir/prevoir/serve/publish"
)

// gcLayers lists every layer of the store whose orphans `store gc`
// collects, each with its rule for what is referenced. A layer that
// writes parts (scores, offers, forecasts, ...) adds itself here.
func gcLayers() []datasets.GCLayer {
	return []datasets.GCLayer{
		datasets.DatasetsGCLayer(),
		features.GCLayer(),
		registry.GCLayer(),
		publish.GCLayer(),
	}
}

// DefaultGCMinAge is the grace `store gc` gives recent objects: a
// running writer's parts are never collected under it.
const DefaultGCMinAge = time.Hour

func storeGCCommand() *cli.Command {
	var o datasets.GCOptions
	return &cli.Command{
		Name:  "gc",
		Usage: "remove parts and temporaries no committed manifest lists (left by killed or losing runs, and replaced tables)",
		Description: "Removes, across datasets/, features/, models/ and scores/, every part that no committed manifest,\n" +
			"kept history copy or pending shard manifest lists, every manifest copy no commit reached,\n" +
			"and the temporaries killed writers left, if older than --min-age. Run it when no write\n" +
			"has been running longer than --min-age (the nightly job does).",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "dry-run", Usage: "print what would be removed, remove nothing", Destination: &o.DryRun},
			&cli.DurationFlag{Name: "min-age", Value: DefaultGCMinAge, Usage: "spare objects younger than this (longer than any running write)", Destination: &o.MinAge},
		},
		Action: func(c *cli.Context) error {
			if err := needArgs(c, 0, 0, "[--dry-run] [--min-age DURATION]"); err != nil {
				return err
			}
			if o.MinAge < 0 {
				return usageErrorf("--min-age %s: must be 0s or more", o.MinAge)
			}
			st, err := openStore(c)
			if err != nil {
				return err
			}
			rep, err := datasets.Collect(c.Context, st, gcLayers(), o)
			if rep != nil && wantJSON(c) {
				if perr := printJSON(c, rep); perr != nil {
					return perr
				}
				return err
			}
			if rep != nil {
				tw := tabwriter.NewWriter(out(c), 0, 4, 2, ' ', 0)
				for _, it := range rep.Removed {
					fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", it.Layer, it.Kind, it.Bytes, it.Key)
				}
				tw.Flush()
				verb := "removed"
				if rep.DryRun {
					verb = "would remove"
				}
				fmt.Fprintf(out(c), "%s %d objects, %s (min age %s)\n", verb, len(rep.Removed), humanBytes(rep.Bytes), rep.MinAge)
			}
			return err
		},
	}
}
