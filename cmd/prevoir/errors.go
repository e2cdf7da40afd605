package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"unicode"

	"github.com/urfave/cli/v2"

	"github.com/prevoir/prevoir/datasets"
)

// flagOfField is the one table from a library option's field (the Go
// name in its options struct, as a *datasets.FieldError names it) to the
// command-line flag that sets it. A field not listed maps to its name in
// kebab case (MaxBadRows -> max-bad-rows), which is what most flags are.
var flagOfField = map[string]string{
	"AsOf":          "as-of",
	"Cs":            "c",
	"C":             "c",
	"IDs":           "id",
	"ID":            "id",
	"TZ":            "tz",
	"Map":           "map",
	"Format":        "format",
	"Replace":       "mode",
	"Name":          "name",
	"Dataset":       "dataset",
	"Shard":         "shard",
	"Shards":        "shard",
	"Entities":      "entities",
	"Schema":        "schema",
	"Limits":        "max-bytes",
	"MaxBytes":      "max-bytes",
	"Reference":     "reference",
	"ReferenceKind": "reference-kind",
	"Kind":          "output-kind",
	"Delimiter":     "delimiter",
	"Whitespace":    "whitespace",
	"FeeCodes":      "fee-codes",
	"CancelPrefix":  "cancel-prefix",
	"Bands":         "band-high",
}

// flagFor returns the flag (without dashes) that sets a library field.
// A dotted path (Features.Horizon) is read by its last element.
func flagFor(field string) string {
	if i := strings.LastIndexByte(field, '.'); i >= 0 {
		field = field[i+1:]
	}
	if f, ok := flagOfField[field]; ok {
		return f
	}
	return kebab(field)
}

// kebab turns a Go field name into a flag name: MaxBadRows -> max-bad-rows.
func kebab(s string) string {
	var b strings.Builder
	rs := []rune(s)
	for i, r := range rs {
		if unicode.IsUpper(r) {
			// A new word starts at an upper-case letter after a lower-case
			// one, or before a lower-case one in an acronym (HTTPServer).
			if i > 0 && (unicode.IsLower(rs[i-1]) || i+1 < len(rs) && unicode.IsLower(rs[i+1]) && unicode.IsUpper(rs[i-1])) {
				b.WriteByte('-')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// fieldText is a FieldError as the user reads it: the flag and the value
// they typed, then what is wrong.
func fieldText(fe *datasets.FieldError) string {
	s := "--" + flagFor(fe.Field)
	if len(flagFor(fe.Field)) == 1 {
		s = s[1:] // a one-letter flag reads -c, as the help shows it
	}
	if fe.Value != "" {
		s += " " + fe.Value
	}
	s += ": " + fe.Msg
	if len(fe.With) > 0 {
		with := make([]string, len(fe.With))
		for i, w := range fe.With {
			with[i] = "--" + flagFor(w)
		}
		s += " (" + strings.Join(with, ", ") + ")"
	}
	return s
}

// exitStatus classifies err: 2 for a usage error (the command line is
// wrong: an unknown command or flag, a missing required flag, a malformed
// or unknown value), 1 for any other failure. It returns the message to
// print, with library field names turned into flags.
func exitStatus(err error) (int, string) {
	msg := err.Error()
	if fe, ok := datasets.AsFieldError(err); ok {
		return 2, strings.Replace(msg, fe.Error(), fieldText(fe), 1)
	}
	var ue *usageError
	if errors.As(err, &ue) {
		return 2, msg
	}
	// urfave/cli's help command exits 3 for an unknown topic: a usage
	// error too.
	var ec cli.ExitCoder
	if errors.As(err, &ec) && ec.ExitCode() == 3 {
		return 2, msg
	}
	// urfave/cli's own usage errors (flag parsing) come through
	// OnUsageError as usageError; its required-flag check is replaced by
	// requireFlags, so nothing else is a usage error.
	return 1, msg
}

// report prints err on stderr, as one line of text or, with --json, as a
// JSON object, and returns the exit code.
func report(stderr io.Writer, err error, asJSON bool) int {
	code, msg := exitStatus(err)
	if asJSON {
		kind := "failure"
		if code == 2 {
			kind = "usage"
		}
		b, _ := json.Marshal(map[string]any{"error": msg, "kind": kind, "exit_code": code})
		fmt.Fprintf(stderr, "%s\n", b)
		return code
	}
	fmt.Fprintf(stderr, "prevoir: %s\n", msg)
	return code
}

// jsonRequested reports whether --json is among the command-line flags
// (before a "--").
func jsonRequested(args []string) bool {
	for _, a := range args[1:] {
		switch a {
		case "--":
			return false
		case "--json", "-json", "--json=true", "-json=true":
			return true
		}
	}
	return false
}

var (
	undefinedFlag = regexp.MustCompile(`^flag provided but not defined: -+(\S+)$`)
	invalidValue  = regexp.MustCompile(`^invalid value "(.*)" for flag -+(\S+): `)
)

// valueWant says what a flag of f's type takes.
func valueWant(f cli.Flag) string {
	switch f.(type) {
	case *cli.IntFlag, *cli.Int64Flag:
		return "want a whole number"
	case *cli.UintFlag, *cli.Uint64Flag:
		return "want a whole number >= 0"
	case *cli.Float64Flag:
		return "want a number"
	case *cli.BoolFlag:
		return "want true or false"
	}
	return "not a valid value"
}

// flagUsageError turns a flag-parsing error of command c into a usage
// error, suggesting the nearest flag for an unknown one.
func flagUsageError(c *cli.Context, err error) error {
	var flags []cli.Flag
	if c.Command != nil {
		flags = append(flags, c.Command.Flags...)
	}
	flags = append(flags, globalFlags()...)
	prefix := ""
	if p := commandPath(c); p != "" {
		prefix = p + ": "
	}
	if m := undefinedFlag.FindStringSubmatch(err.Error()); m != nil {
		var names []string
		for _, f := range flags {
			names = append(names, f.Names()...)
		}
		dashes := "--"
		if len(m[1]) == 1 {
			dashes = "-"
		}
		msg := fmt.Sprintf("%sunknown flag %s%s", prefix, dashes, m[1])
		if s := nearest(m[1], names); s != "" {
			msg += "; did you mean --" + s + "?"
		}
		return &usageError{err: errors.New(msg + " (see --help)")}
	}
	if m := invalidValue.FindStringSubmatch(err.Error()); m != nil {
		want := "not a valid value"
		if f := findFlag(m[2], flags); f != nil {
			want = valueWant(f)
		}
		return &usageError{err: fmt.Errorf("%s--%s %s: %s", prefix, m[2], m[1], want)}
	}
	return &usageError{err: fmt.Errorf("%s%w", prefix, err)}
}

// requireFlags takes over urfave/cli's check of required flags, which
// prints the whole help before its error: a missing required flag is one
// line, and exit status 2. The flags are marked "(required)" in the help.
func requireFlags(c *cli.Command) {
	var required []string
	for _, f := range c.Flags {
		switch f := f.(type) {
		case *cli.StringFlag:
			if f.Required {
				f.Required = false
				f.Usage += " (required)"
				required = append(required, f.Name)
			}
		case *cli.IntFlag:
			if f.Required {
				f.Required = false
				f.Usage += " (required)"
				required = append(required, f.Name)
			}
		}
	}
	if len(required) == 0 {
		return
	}
	before := c.Before
	c.Before = func(ctx *cli.Context) error {
		var missing []string
		for _, r := range required {
			if !ctx.IsSet(r) {
				missing = append(missing, "--"+r)
			}
		}
		switch len(missing) {
		case 0:
		case 1:
			return usageErrorf("%s: %s is required (see --help)", commandPath(ctx), missing[0])
		default:
			return usageErrorf("%s: %s are required (see --help)", commandPath(ctx), strings.Join(missing, ", "))
		}
		if before != nil {
			return before(ctx)
		}
		return nil
	}
}

// suggestCommand returns "; did you mean X?" for the command nearest to
// name, or "" when none is near.
func suggestCommand(cmds []*cli.Command, name string) string {
	var names []string
	for _, c := range cmds {
		if !c.Hidden {
			names = append(names, c.Name)
		}
	}
	if s := nearest(name, names); s != "" {
		return "; did you mean " + s + "?"
	}
	return ""
}

// nearest returns the candidate closest to s by edit distance, if it is
// close enough to be a typo (at most a third of its length, at least 2).
func nearest(s string, candidates []string) string {
	best, bestD := "", -1
	for _, c := range candidates {
		d := editDistance(s, c)
		if bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	if bestD < 0 || bestD >= len(s) || bestD > max(2, len(best)/3) {
		return ""
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// commandPath is the command as typed without the program name, such as
// "models import".
func commandPath(c *cli.Context) string {
	if c.Command == nil || c.Command.Name == "" {
		return ""
	}
	if c.Command.Name == c.App.Name {
		return "" // the application itself
	}
	if p := strings.TrimPrefix(c.Command.HelpName, c.App.Name+" "); p != "" && p != c.App.Name {
		return p
	}
	return c.Command.Name
}
