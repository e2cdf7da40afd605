package main

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/prevoir/prevoir/datasets/privacy"
	"github.com/prevoir/prevoir/serve"
)

// customerIDs returns the ids given as arguments and in path, the
// command's --file (one per line; blank lines and lines starting with '#'
// skipped).
func customerIDs(c *cli.Context, path string) ([]string, error) {
	ids := append([]string(nil), c.Args().Slice()...)
	if path != "" {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for n := 1; sc.Scan(); n++ {
			line := strings.TrimSpace(sc.Text())
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			ids = append(ids, line)
		}
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	if len(ids) == 0 {
		return nil, usageErrorf("%s: give customer IDs or --file F", c.Command.FullName())
	}
	return ids, nil
}

// fileFlag is --file of the customers commands, bound to dest.
func fileFlag(dest *string) cli.Flag {
	return &cli.StringFlag{Name: "file", Usage: "read customer IDs from `F`, one per line", Destination: dest}
}

// channelFlag is --channel of customers opt-out and opt-in, bound to dest.
func channelFlag(dest *string) cli.Flag {
	return &cli.StringFlag{Name: "channel", Value: privacy.All, Usage: "email, sms or all", Destination: dest}
}

func customersCommand() *cli.Command {
	consent := func(name string, optedIn bool) *cli.Command {
		verb := "opted out of"
		if optedIn {
			verb = "opted in to"
		}
		var file, ch string
		return &cli.Command{
			Name:      name,
			Usage:     fmt.Sprintf("record that customers %s a channel (timestamped; per-customer outputs for that channel leave opted-out customers out)", verb),
			ArgsUsage: "ID...",
			Flags:     []cli.Flag{fileFlag(&file), channelFlag(&ch)},
			Action: func(c *cli.Context) error {
				ids, err := customerIDs(c, file)
				if err != nil {
					return err
				}
				if !privacy.ValidChannel(ch) {
					return usageErrorf("--channel %q: want %s", ch, strings.Join(privacy.Channels, ", "))
				}
				st, err := openStore(c)
				if err != nil {
					return err
				}
				now := time.Now().UTC().Truncate(time.Second)
				if err := privacy.SetConsent(c.Context, st, ids, ch, optedIn, now); err != nil {
					return err
				}
				if wantJSON(c) {
					return printJSON(c, map[string]any{"customers": len(ids), "channel": ch, "opted_in": optedIn, "at": now})
				}
				fmt.Fprintf(out(c), "%d customers %s %s at %s\n", len(ids), verb, ch, now.Format(time.RFC3339))
				return nil
			},
		}
	}
	var forgetFile string
	return &cli.Command{
		Name:  "customers",
		Usage: "customers' rights: forget, opt out or in, and see what the store holds about one",
		Subcommands: []*cli.Command{
			{
				Name:      "forget",
				Usage:     "remove every row of customers from every stored table and record a tombstone, so imports drop them too",
				ArgsUsage: "ID...",
				Flags:     []cli.Flag{fileFlag(&forgetFile)},
				Action: func(c *cli.Context) error {
					ids, err := customerIDs(c, forgetFile)
					if err != nil {
						return err
					}
					st, err := openStore(c)
					if err != nil {
						return err
					}
					now := time.Now().UTC().Truncate(time.Second)
					rep, err := serve.Forget(c.Context, st, ids, now)
					if wantJSON(c) && (err == nil || len(rep.Tombstones) > 0) {
						if perr := printJSON(c, rep); perr != nil {
							return perr
						}
						return err
					}
					w := out(c)
					if len(rep.Tombstones) > 0 {
						fmt.Fprintf(w, "forgot %d customers (%d new tombstones); removed %d rows\n", rep.Customers, rep.NewTombstones, rep.Rows)
						for _, r := range rep.Rewrites {
							fmt.Fprintf(w, "  %s %s: %d rows removed, %d objects written, %d deleted\n", r.Layer, r.Object, r.Rows, len(r.Written), len(r.Deleted))
						}
						if len(rep.Rewrites) == 0 && err == nil {
							fmt.Fprintln(w, "  no stored table held their rows")
						}
					}
					return err
				},
			},
			consent("opt-out", false),
			consent("opt-in", true),
			{
				Name:      "show",
				Usage:     "what the store holds about one customer (subject access): rows, consent, tombstone, generator truth",
				ArgsUsage: "ID",
				Action: func(c *cli.Context) error {
					if err := needArgs(c, 1, 1, "ID"); err != nil {
						return err
					}
					id := c.Args().First()
					if strings.TrimSpace(id) == "" {
						return usageErrorf("customers show: empty ID")
					}
					st, err := openStore(c)
					if err != nil {
						return err
					}
					s, err := serve.Show(c.Context, st, id)
					if err != nil {
						return err
					}
					if wantJSON(c) {
						return printJSON(c, s)
					}
					w := out(c)
					fmt.Fprintf(w, "customer %s\n", s.CustomerID)
					if s.Forgotten {
						fmt.Fprintf(w, "forgotten at %s: the store keeps only a tombstone (an HMAC of the id)\n", s.ForgottenAt.Format(time.RFC3339))
					}
					for _, r := range s.Consent {
						state := "opted out of"
						if r.OptedIn {
							state = "opted in to"
						}
						fmt.Fprintf(w, "consent: %s %s at %s\n", state, r.Channel, r.At.Format(time.RFC3339))
					}
					if len(s.Objects) == 0 {
						fmt.Fprintln(w, "no stored object holds rows of this customer")
					}
					for _, t := range s.Tables {
						fmt.Fprintf(w, "%s/%s: %d rows\n", t.Dataset, t.Table, len(t.Rows))
					}
					for _, o := range s.Objects {
						fmt.Fprintf(w, "object %s (%s)\n", o.Key, o.Layer)
					}
					if len(s.Tables) > 0 {
						fmt.Fprintln(w, "(--json prints every row)")
					}
					return nil
				},
			},
		},
	}
}
