package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/prevoir/prevoir/models"
	"github.com/prevoir/prevoir/serve/publish"
	reports "github.com/prevoir/prevoir/serve/report"
)

// withSubcommands returns group with more subcommands appended: the
// report commands join the models and scores groups from commands().
func withSubcommands(group *cli.Command, more ...*cli.Command) *cli.Command {
	group.Subcommands = append(group.Subcommands, more...)
	return group
}

func outputFlag(dst *string) cli.Flag {
	return &cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "the HTML `FILE` to write (written whole or not at all)", Required: true, Destination: dst}
}

// modelsReportCommand is `prevoir models report NAME@VERSION ... -o FILE`.
func modelsReportCommand() *cli.Command {
	var output string
	return &cli.Command{
		Name:      "report",
		Usage:     "write an HTML report of one or more models: curves, calibration, gains, coefficients; several side by side with their card diff",
		ArgsUsage: "NAME[@REF] [NAME[@REF] ...]",
		Flags:     []cli.Flag{outputFlag(&output)},
		Action: func(c *cli.Context) error {
			if err := needArgs(c, 1, 16, "NAME[@REF] [NAME[@REF] ...] -o FILE"); err != nil {
				return err
			}
			reg, err := openRegistry(c)
			if err != nil {
				return err
			}
			var cards []*models.Card
			for _, arg := range c.Args().Slice() {
				card, err := loadCard(c, reg, arg)
				if err != nil {
					return err
				}
				cards = append(cards, card)
			}
			doc, err := reports.ModelReport(cards, reportOptions())
			if err != nil {
				return err
			}
			return writeReport(c, output, doc)
		},
	}
}

// scoresReportCommand is `prevoir scores report TASK [--as-of D] -o FILE`.
func scoresReportCommand() *cli.Command {
	var output, asOf string
	var top int
	return &cli.Command{
		Name:      "report",
		Usage:     "write an HTML report of a publication: rows, score distribution, bands, top rows, what changed since the previous one",
		ArgsUsage: "TASK",
		Flags: []cli.Flag{datasetFlag(), outputFlag(&output),
			&cli.StringFlag{Name: "as-of", Usage: "the publication's `DATE`, or latest (the default: what LATEST points to)", Destination: &asOf},
			&cli.IntFlag{Name: "top", Value: 20, Usage: "rows listed in the top and what-changed tables", Destination: &top},
		},
		Action: func(c *cli.Context) error {
			if err := needArgs(c, 1, 1, "TASK [--as-of DATE|latest] -o FILE"); err != nil {
				return err
			}
			if top < 1 {
				return usageErrorf("scores report: --top %d: want at least 1", top)
			}
			st, ds, err := openDataset(c)
			if err != nil {
				return err
			}
			task := c.Args().First()
			doc, err := reports.ScoresReport(c.Context, st, reports.ScoresOptions{Options: reportOptions(), Dataset: ds, Task: task, AsOf: asOf, Top: top})
			if errors.Is(err, publish.ErrNoPublication) {
				return fmt.Errorf("%w (prevoir score --dataset %s --task %s --model NAME@ALIAS)", err, ds, task)
			}
			if err != nil {
				return err
			}
			return writeReport(c, output, doc)
		},
	}
}

func reportOptions() reports.Options {
	return reports.Options{Now: time.Now().UTC(), PrevoirVersion: Version()}
}

// writeReport writes the document to file and says where it went.
func writeReport(c *cli.Context, file string, doc *reports.Document) error {
	if err := writeOutputAtomic(file, func(w io.Writer) error { return reports.Render(w, doc) }); err != nil {
		return fmt.Errorf("report %s: %w", file, err)
	}
	fi, err := os.Stat(file)
	if err != nil {
		return err
	}
	if wantJSON(c) {
		ids := make([]string, len(doc.Sections))
		for i, s := range doc.Sections {
			ids[i] = s.Title
		}
		return printJSON(c, map[string]any{"file": file, "bytes": fi.Size(), "title": doc.Title, "sections": ids})
	}
	fmt.Fprintf(out(c), "wrote %s: %s (%d sections, %s KiB)\n", file, doc.Title, len(doc.Sections), reports.Int(fi.Size()/1024))
	return nil
}
