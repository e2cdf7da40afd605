package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/datasets/s3"
	"github.com/prevoir/prevoir/datasets/stores"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = ""

// Version returns the build's version: the injected one, else the module
// version or VCS revision from the build info, else "devel".
func Version() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v := bi.Main.Version; v != "" && v != "(devel)" {
			return v
		}
		var rev, dirty string
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					dirty = "-dirty"
				}
			}
		}
		if rev != "" {
			if len(rev) > 12 {
				rev = rev[:12]
			}
			return "devel-" + rev + dirty
		}
	}
	return "devel"
}

// DefaultStore is the embedded default: a local folder.
const DefaultStore = "./prevoir-data"

// commands is the command list: every top-level command group, each
// built by its constructor in the file of that group. It is the one place
// a command is added.
func commands() []*cli.Command {
	return []*cli.Command{
		versionCommand(),    // basic.go
		completionCommand(), // basic.go
		storeCommand(),      // basic.go
		statusCommand(),     // basic.go
		datasetsCommand(),   // datasets.go (import.go, generate.go)
		featuresCommand(),   // features.go
		trainCommand(),      // train.go
		withSubcommands(modelsCommand(), modelsReportCommand()), // models.go (import.go), report.go
		scoreCommand(), // score.go
		withSubcommands(scoresCommand(), scoresReportCommand()), // score.go, report.go
		runCommand(),            // run.go (runconfig.go): the nightly job
		forecastCommand(),       // forecast.go
		customersCommand(),      // customers.go
		serveCommand(),          // serve.go
		hiddenCompleteCommand(), // completion.go: what the completion scripts call
	}
}

// globalFlags are accepted anywhere on the command line.
func globalFlags() []cli.Flag {
	flags := []cli.Flag{
		&cli.StringFlag{Name: "store", Value: DefaultStore, EnvVars: []string{"PREVOIR_STORE"}, Usage: "where data, features, models and scores live: a folder or s3://bucket/prefix"},
		&cli.BoolFlag{Name: "json", Usage: "print machine-readable JSON on stdout instead of text"},
		&cli.StringFlag{Name: "log-level", Value: "warn", EnvVars: []string{"PREVOIR_LOG_LEVEL"}, Usage: "log verbosity on stderr: debug, info (each stage with its duration), warn, error"},
		&cli.StringFlag{Name: "log-format", Value: "text", EnvVars: []string{"PREVOIR_LOG_FORMAT"}, Usage: "log format on stderr: text or json"},
	}
	return append(flags, profileFlags()...)
}

func newApp(stdout, stderr io.Writer) *cli.App {
	var prof profiler
	app := &cli.App{
		Name:                 "prevoir",
		Usage:                "predictive marketing from order history: features, models, nightly scores",
		Version:              Version(),
		Flags:                globalFlags(),
		Writer:               stdout,
		ErrWriter:            stderr,
		EnableBashCompletion: true,
		HideVersion:          false,
		Suggest:              true,
		Before: func(c *cli.Context) error {
			l, err := newLogger(stderr, c.String("log-level"), c.String("log-format"))
			if err != nil {
				return err
			}
			slog.SetDefault(l)
			if err := stores.Check(c.String("store")); err != nil {
				return &usageError{err: fmt.Errorf("--store: %w", err)}
			}
			return prof.start(c)
		},
		After: func(c *cli.Context) error { return prof.stop(c) },
		OnUsageError: func(c *cli.Context, err error, isSubcommand bool) error {
			return flagUsageError(c, err)
		},
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return usageErrorf("unknown command %q%s (see 'prevoir --help')", c.Args().First(), suggestCommand(c.App.Commands, c.Args().First()))
			}
			return cli.ShowAppHelp(c)
		},
		ExitErrHandler: func(c *cli.Context, err error) {}, // run() picks exit codes
	}
	app.Commands = commands()
	for _, c := range app.Commands {
		sort.SliceStable(c.Subcommands, func(i, j int) bool { return c.Subcommands[i].Name < c.Subcommands[j].Name })
	}
	sort.Slice(app.Commands, func(i, j int) bool { return app.Commands[i].Name < app.Commands[j].Name })
	for _, c := range app.Commands {
		prepare(c)
	}
	return app
}

// prepare makes usage errors of every (sub)command exit with code 2.
func prepare(c *cli.Command) {
	c.OnUsageError = func(ctx *cli.Context, err error, isSubcommand bool) error {
		return flagUsageError(ctx, err)
	}
	requireFlags(c)
	if c.Action == nil && len(c.Subcommands) > 0 {
		name := c.Name
		c.Action = func(ctx *cli.Context) error {
			if ctx.Args().Present() {
				return usageErrorf("%s: unknown command %q%s (see 'prevoir %s --help')", name, ctx.Args().First(), suggestCommand(c.Subcommands, ctx.Args().First()), name)
			}
			cli.ShowSubcommandHelp(ctx)
			return usageErrorf("%s: a subcommand is required", name)
		}
	}
	for _, s := range c.Subcommands {
		prepare(s)
	}
}

// usageError marks an error as the user's misuse of the command line:
// exit code 2.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usageErrorf(format string, args ...any) error {
	return &usageError{err: fmt.Errorf(format, args...)}
}

// openStore opens the store named by --store, with S3 settings from the
// standard AWS environment variables.
func openStore(c *cli.Context) (datasets.Store, error) {
	return openStoreURL(c.Context, c.String("store"))
}

func openStoreURL(ctx context.Context, url string) (datasets.Store, error) {
	st, err := stores.Open(ctx, url, stores.Options{S3: s3.ConfigFromEnv(os.Getenv)})
	if err != nil {
		return nil, err
	}
	return withKillSwitch(st), nil
}

// wantJSON reports whether --json was given.
func wantJSON(c *cli.Context) bool { return c.Bool("json") }

// printJSON writes v as indented JSON with a trailing newline.
func printJSON(c *cli.Context, v any) error {
	enc := json.NewEncoder(c.App.Writer)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// out returns the writer for command output (stdout).
func out(c *cli.Context) io.Writer { return c.App.Writer }

// needArgs checks the count of positional arguments.
func needArgs(c *cli.Context, min, max int, what string) error {
	n := c.Args().Len()
	if n < min || (max >= 0 && n > max) {
		return usageErrorf("%s: usage: %s %s", commandPath(c), c.Command.HelpName, what)
	}
	return nil
}

// reorderArgs lets flags follow positional arguments, as people type them
// (prevoir models promote churn@3 --alias champion). urfave/cli v2 stops
// parsing flags at the first positional argument, so before it parses we
// move every flag next to the command that defines it: global flags right
// after the program name, a command's flags right after its name, and
// positional arguments last. A "--" ends flag handling: what follows stays
// positional.
func reorderArgs(app *cli.App, args []string) []string {
	if len(args) == 0 || args[len(args)-1] == "--generate-bash-completion" || len(args) > 1 && args[1] == completeCommand {
		// Shell completion reads the command line as typed.
		return args
	}
	type level struct {
		name  string
		flags []cli.Flag
		subs  []*cli.Command
		args  []string // flags (with values) found for this level
	}
	levels := []*level{{name: args[0], flags: app.Flags, subs: app.Commands}}
	var positional, rest []string
	lookup := func(name string) (int, cli.Flag) {
		for i := len(levels) - 1; i >= 0; i-- {
			for _, f := range levels[i].flags {
				for _, n := range f.Names() {
					if n == name {
						return i, f
					}
				}
			}
		}
		// -h/--help and the bash completion flag are handled by cli itself.
		return -1, nil
	}
	for i := 1; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			rest = append([]string{"--"}, args[i+1:]...)
			break
		}
		if len(a) > 1 && a[0] == '-' {
			name := strings.TrimLeft(a, "-")
			name, _, hasValue := strings.Cut(name, "=")
			li, f := lookup(name)
			if f == nil {
				// Unknown to us: leave it at the deepest level so cli
				// reports it (or handles -h).
				levels[len(levels)-1].args = append(levels[len(levels)-1].args, a)
				continue
			}
			levels[li].args = append(levels[li].args, a)
			if !hasValue && takesValue(f) && i+1 < len(args) {
				i++
				levels[li].args = append(levels[li].args, args[i])
			}
			continue
		}
		// A command name descends only before any positional argument.
		cur := levels[len(levels)-1]
		if len(positional) == 0 {
			if sub := findCommand(cur.subs, a); sub != nil {
				levels = append(levels, &level{name: a, flags: sub.Flags, subs: sub.Subcommands})
				continue
			}
		}
		positional = append(positional, a)
	}
	out := []string{args[0]}
	out = append(out, levels[0].args...)
	for _, l := range levels[1:] {
		out = append(out, l.name)
		out = append(out, l.args...)
	}
	if len(rest) > 0 {
		out = append(out, "--")
		out = append(out, positional...)
		out = append(out, rest[1:]...)
		return out
	}
	// Keep a positional that looks like a flag from being parsed as one.
	for _, p := range positional {
		if strings.HasPrefix(p, "-") {
			out = append(out, "--")
			break
		}
	}
	return append(out, positional...)
}

func findCommand(cmds []*cli.Command, name string) *cli.Command {
	for _, c := range cmds {
		if c.HasName(name) {
			return c
		}
	}
	if name == "help" || name == "h" {
		return &cli.Command{Name: name}
	}
	return nil
}

// takesValue reports whether a flag consumes the next argument.
func takesValue(f cli.Flag) bool {
	if df, ok := f.(cli.DocGenerationFlag); ok {
		return df.TakesValue()
	}
	return true
}
