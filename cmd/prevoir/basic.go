package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/datasets/s3"
	"github.com/prevoir/prevoir/datasets/stores"
)

func versionCommand() *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print prevoir's version",
		Action: func(c *cli.Context) error {
			if wantJSON(c) {
				return printJSON(c, map[string]string{"version": Version()})
			}
			fmt.Fprintln(out(c), Version())
			return nil
		},
	}
}

func completionCommand() *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print a shell completion script (bash, zsh or fish): commands, flags, dataset and model names",
		ArgsUsage: "bash|zsh|fish",
		Description: `Load it in the shell's start-up file:
  bash: source <(prevoir completion bash)
  zsh:  source <(prevoir completion zsh)
  fish: prevoir completion fish | source`,
		Action: func(c *cli.Context) error {
			if err := needArgs(c, 1, 1, "bash|zsh|fish"); err != nil {
				return err
			}
			script, ok := completionScripts[c.Args().First()]
			if !ok {
				return usageErrorf("completion: unknown shell %q (bash, zsh or fish)", c.Args().First())
			}
			fmt.Fprint(out(c), script)
			return nil
		},
	}
}

// areas are the top-level folders of the store layout (docs/ARCHITECTURE.md).
var areas = []string{"datasets", "features", "models", "scores", "suppressions"}

func statusCommand() *cli.Command {
	return &cli.Command{
		Name:  "status",
		Usage: "show the configured store and what it holds",
		Action: func(c *cli.Context) error {
			// Looking creates nothing: a missing folder is reported as such.
			st, err := stores.Open(c.Context, c.String("store"), stores.Options{S3: s3.ConfigFromEnv(os.Getenv), NoCreate: true})
			if stores.IsNotExist(err) {
				if wantJSON(c) {
					return printJSON(c, map[string]any{"store": c.String("store"), "exists": false, "objects": 0, "bytes": 0, "areas": []any{}})
				}
				fmt.Fprintf(out(c), "store: %s (does not exist yet; the first command that writes creates it)\nnext: prevoir datasets generate --dataset demo, or prevoir datasets import --dataset NAME FILE...\n", c.String("store"))
				return nil
			}
			if err != nil {
				return err
			}
			objs, err := st.List(c.Context, "")
			if err != nil {
				return err
			}
			type area struct {
				Name    string   `json:"name"`
				Objects int      `json:"objects"`
				Bytes   int64    `json:"bytes"`
				Entries []string `json:"entries"`
			}
			byName := map[string]*area{}
			var res struct {
				Store   string  `json:"store"`
				Objects int     `json:"objects"`
				Bytes   int64   `json:"bytes"`
				Areas   []*area `json:"areas"`
			}
			res.Store = st.URL()
			for _, a := range areas {
				byName[a] = &area{Name: a, Entries: []string{}}
				res.Areas = append(res.Areas, byName[a])
			}
			for _, o := range objs {
				res.Objects++
				res.Bytes += o.Size
				top, rest, _ := strings.Cut(o.Key, "/")
				a := byName[top]
				if a == nil {
					a = &area{Name: top, Entries: []string{}}
					byName[top] = a
					res.Areas = append(res.Areas, a)
				}
				a.Objects++
				a.Bytes += o.Size
				entry, _, _ := strings.Cut(rest, "/")
				if entry != "" && (len(a.Entries) == 0 || a.Entries[len(a.Entries)-1] != entry) {
					a.Entries = append(a.Entries, entry)
				}
			}
			if wantJSON(c) {
				return printJSON(c, res)
			}
			w := out(c)
			fmt.Fprintf(w, "store: %s\n", res.Store)
			if res.Objects == 0 {
				fmt.Fprintln(w, "the store is empty (next: prevoir datasets generate --dataset demo, or prevoir datasets import --dataset NAME FILE...)")
				return nil
			}
			fmt.Fprintf(w, "%d objects, %s\n", res.Objects, humanBytes(res.Bytes))
			tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "AREA\tOBJECTS\tSIZE\tENTRIES")
			for _, a := range res.Areas {
				fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", a.Name, a.Objects, humanBytes(a.Bytes), strings.Join(a.Entries, " "))
			}
			return tw.Flush()
		},
	}
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

func storeCommand() *cli.Command {
	var put datasets.PutOptions // store put's flags
	return &cli.Command{
		Name:  "store",
		Usage: "low-level access to the store's objects",
		Subcommands: []*cli.Command{
			storeGCCommand(), // store.go
			{
				Name:      "ls",
				Usage:     "list objects (recursive, sorted) under a prefix",
				ArgsUsage: "[PREFIX]",
				Action: func(c *cli.Context) error {
					if err := needArgs(c, 0, 1, "[PREFIX]"); err != nil {
						return err
					}
					st, err := openStore(c)
					if err != nil {
						return err
					}
					objs, err := st.List(c.Context, c.Args().First())
					if err != nil {
						return err
					}
					if wantJSON(c) {
						if objs == nil {
							objs = []datasets.ObjectInfo{}
						}
						return printJSON(c, objs)
					}
					tw := tabwriter.NewWriter(out(c), 0, 4, 2, ' ', 0)
					for _, o := range objs {
						fmt.Fprintf(tw, "%d\t%s\t%s\n", o.Size, o.ModTime.Format("2006-01-02T15:04:05Z"), o.Key)
					}
					return tw.Flush()
				},
			},
			{
				Name:      "stat",
				Usage:     "describe one object: size, ETag, modification time",
				ArgsUsage: "KEY",
				Action: func(c *cli.Context) error {
					if err := needArgs(c, 1, 1, "KEY"); err != nil {
						return err
					}
					st, err := openStore(c)
					if err != nil {
						return err
					}
					info, err := st.Stat(c.Context, c.Args().First())
					if err != nil {
						return err
					}
					if wantJSON(c) {
						return printJSON(c, info)
					}
					fmt.Fprintf(out(c), "key: %s\nsize: %d\netag: %s\nmodified: %s\n", info.Key, info.Size, info.ETag, info.ModTime.Format("2006-01-02T15:04:05Z"))
					return nil
				},
			},
			{
				Name:      "cat",
				Usage:     "write an object's bytes to stdout",
				ArgsUsage: "KEY",
				Action: func(c *cli.Context) error {
					if err := needArgs(c, 1, 1, "KEY"); err != nil {
						return err
					}
					st, err := openStore(c)
					if err != nil {
						return err
					}
					o, err := st.Open(c.Context, c.Args().First())
					if err != nil {
						return err
					}
					defer o.Close()
					_, err = io.Copy(out(c), o)
					return err
				},
			},
			{
				Name:      "put",
				Usage:     "store a file (or stdin, '-') under a key, optionally only if absent or if its ETag matches",
				ArgsUsage: "KEY FILE|-",
				Flags: []cli.Flag{
					&cli.BoolFlag{Name: "if-absent", Usage: "fail if the key exists", Destination: &put.IfAbsent},
					&cli.StringFlag{Name: "if-match", Usage: "fail unless the key's current ETag is this one", Destination: &put.IfMatch},
				},
				Action: func(c *cli.Context) error {
					if err := needArgs(c, 2, 2, "KEY FILE|-"); err != nil {
						return err
					}
					if put.IfAbsent && put.IfMatch != "" {
						return usageErrorf("store put: --if-absent and --if-match are exclusive")
					}
					st, err := openStore(c)
					if err != nil {
						return err
					}
					var r io.Reader = os.Stdin
					size := int64(-1)
					if name := c.Args().Get(1); name != "-" {
						f, err := os.Open(name)
						if err != nil {
							return err
						}
						defer f.Close()
						fi, err := f.Stat()
						if err != nil {
							return err
						}
						r, size = f, fi.Size()
					}
					info, err := st.Put(c.Context, c.Args().First(), r, size, put)
					if err != nil {
						if errors.Is(err, datasets.ErrPreconditionFailed) {
							return fmt.Errorf("%w (nothing written)", err)
						}
						return err
					}
					if wantJSON(c) {
						return printJSON(c, info)
					}
					fmt.Fprintf(out(c), "stored %s (%d bytes, etag %s)\n", info.Key, info.Size, info.ETag)
					return nil
				},
			},
			{
				Name:      "rm",
				Usage:     "delete objects (a missing key is not an error)",
				ArgsUsage: "KEY...",
				Action: func(c *cli.Context) error {
					if err := needArgs(c, 1, -1, "KEY..."); err != nil {
						return err
					}
					st, err := openStore(c)
					if err != nil {
						return err
					}
					for _, k := range c.Args().Slice() {
						if err := st.Delete(c.Context, k); err != nil {
							return err
						}
					}
					return nil
				},
			},
		},
	}
}
