package main

import (
	"fmt"
	"os"
	"os/user"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/prevoir/prevoir/models/registry"
)

// registryOptions are the registry options of this binary: its version,
// its model kinds, and who moves aliases from where (recorded in each
// model's alias history).
func registryOptions() registry.Options {
	host, _ := os.Hostname()
	return registry.Options{PrevoirVersion: Version(), Kinds: modelKinds(), User: userName(), Host: host}
}

// userName is the OS user running the command: the account's name, else
// $USER, else the numeric uid.
func userName() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return strconv.Itoa(os.Getuid())
}

func modelsHistoryCommand() *cli.Command {
	return &cli.Command{
		Name:      "history",
		Usage:     "every alias move of a model (alias, from, to, time, user, host), or with --at where each alias pointed then",
		ArgsUsage: "NAME",
		Description: `Moves are recorded by the same write that makes them (models promote,
train --promote), oldest first. --at DATE is the state at 00:00 UTC of that
day (before any move made on it); --at also takes an RFC 3339 time such as
2011-10-15T12:00:00Z. Aliases set before prevoir recorded history are shown
as "before records began".`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "at", Usage: "print where each alias pointed at `TIME`: YYYY-MM-DD (00:00 UTC) or RFC 3339"},
		},
		Action: modelsHistory,
	}
}

// historyRow is one line of `models history`: a recorded move, or an alias
// from before records began (no time, user or host).
type historyRow struct {
	Time          *time.Time `json:"time,omitempty"`
	Alias         string     `json:"alias"`
	From          int        `json:"from"`
	To            int        `json:"to"`
	User          string     `json:"user,omitempty"`
	Host          string     `json:"host,omitempty"`
	BeforeRecords bool       `json:"before_records,omitempty"`
}

func modelsHistory(c *cli.Context) error {
	if c.NArg() != 1 {
		return usageErrorf("models history: want one model NAME")
	}
	name := c.Args().First()
	if err := registry.ValidName(name); err != nil {
		return &usageError{err: fmt.Errorf("models history: %w", err)}
	}
	var at time.Time
	if c.IsSet("at") {
		t, err := registry.ParseAt(c.String("at"))
		if err != nil {
			return fmt.Errorf("models history: %w", err)
		}
		at = t
	}
	reg, err := openRegistry(c)
	if err != nil {
		return err
	}
	h, err := reg.History(c.Context, name)
	if err != nil {
		return err
	}
	if c.IsSet("at") {
		return printHistoryAt(c, h, at)
	}
	rows := historyRows(h)
	if wantJSON(c) {
		return printJSON(c, rows)
	}
	if len(rows) == 0 {
		fmt.Fprintf(out(c), "%s has no aliases and no recorded alias moves (prevoir models promote %s@VERSION --alias champion)\n", name, name)
		return nil
	}
	tw := tabwriter.NewWriter(out(c), 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tALIAS\tFROM\tTO\tUSER\tHOST")
	for _, r := range rows {
		when := "before records began"
		if r.Time != nil {
			when = r.Time.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", when, r.Alias, versionOrDash(r.From), versionOrDash(r.To), dash(r.User), dash(r.Host))
	}
	return tw.Flush()
}

// historyRows lists the aliases from before records began (sorted), then
// every move, oldest first; never nil.
func historyRows(h *registry.History) []historyRow {
	rows := []historyRow{}
	for _, a := range h.At(time.Time{}) {
		if a.BeforeRecords {
			rows = append(rows, historyRow{Alias: a.Alias, To: a.Version, BeforeRecords: true})
		}
	}
	for _, m := range h.Moves {
		t := m.Time
		rows = append(rows, historyRow{Time: &t, Alias: m.Alias, From: m.From, To: m.To, User: m.User, Host: m.Host})
	}
	return rows
}

// printHistoryAt prints ALIAS -> VERSION for each alias at instant at.
func printHistoryAt(c *cli.Context, h *registry.History, at time.Time) error {
	state := h.At(at)
	if wantJSON(c) {
		return printJSON(c, state)
	}
	if len(state) == 0 {
		fmt.Fprintf(out(c), "no alias of %s pointed at a version at %s\n", h.Name, at.Format(time.RFC3339))
		return nil
	}
	tw := tabwriter.NewWriter(out(c), 0, 4, 2, ' ', 0)
	for _, a := range state {
		how := "(before records began)"
		if m := a.Move; m != nil {
			how = fmt.Sprintf("(since %s, by %s@%s)", m.Time.UTC().Format(time.RFC3339), dash(m.User), dash(m.Host))
		}
		fmt.Fprintf(tw, "%s -> %d\t%s\n", a.Alias, a.Version, how)
	}
	return tw.Flush()
}

func versionOrDash(v int) string {
	if v == 0 {
		return "-"
	}
	return strconv.Itoa(v)
}
