package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/prevoir/prevoir/models"
	"github.com/prevoir/prevoir/models/registry"
)

// cardDataset is the dataset a model was trained on or bound to ("" for
// a model trained on a table file or registered without one).
func cardDataset(c *models.Card) string {
	if c == nil || c.Lineage == nil {
		return ""
	}
	return c.Lineage.Dataset
}

// keyMetric is a model's headline number for listings: the holdout ROC
// AUC when the card has one, else the training one; "-" without metrics.
func keyMetric(c *models.Card) string {
	for _, set := range []string{"holdout", "train"} {
		if m, ok := asObject(c.Metrics[set]); ok {
			if v, ok := m["roc_auc"].(float64); ok {
				return fmt.Sprintf("auc %.4f (%s)", v, set)
			}
		}
	}
	if s := c.Source; s != nil && s.Reference != nil {
		return fmt.Sprintf("ref max|diff| %.2g", s.Reference.MaxDiff)
	}
	return "-"
}

// asObject returns v as a JSON object, converting typed values (a card
// built in this process holds structs; one read from the store, maps).
func asObject(v any) (map[string]any, bool) {
	if v == nil {
		return nil, false
	}
	if m, ok := v.(map[string]any); ok {
		return m, true
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, false
	}
	var m map[string]any
	if json.Unmarshal(b, &m) != nil || m == nil {
		return nil, false
	}
	return m, true
}

// metricNode is one object of a card's metrics that holds numbers: its
// path (holdout, baseline.holdout) and its scalar fields.
type metricNode struct {
	path    string
	scalars map[string]any
}

// tableNode is a list of objects in the metrics (deciles, calibration
// bins, a C search's points), printed as a table with --all.
type tableNode struct {
	path string
	rows []map[string]any
}

// walkMetrics collects the scalar-holding objects and the lists of
// objects under metrics, in sorted path order.
func walkMetrics(metrics map[string]any) (top map[string]any, nodes []metricNode, tables []tableNode) {
	top = map[string]any{}
	var walk func(path string, m map[string]any)
	walk = func(path string, m map[string]any) {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		n := metricNode{path: path, scalars: map[string]any{}}
		for _, k := range keys {
			v := m[k]
			p := k
			if path != "" {
				p = path + "." + k
			}
			if obj, ok := asObject(v); ok && !isList(v) {
				walk(p, obj)
				continue
			}
			if rows, ok := objectList(v); ok {
				tables = append(tables, tableNode{path: p, rows: rows})
				continue
			}
			n.scalars[k] = v
		}
		if path == "" {
			top = n.scalars
		} else if len(n.scalars) > 0 {
			nodes = append(nodes, n)
		}
	}
	walk("", metrics)
	// The model's own train and holdout sets first, then the others.
	first := func(p string) int {
		switch p {
		case "train":
			return 0
		case "holdout":
			return 1
		}
		return 2
	}
	sort.SliceStable(nodes, func(i, j int) bool { return first(nodes[i].path) < first(nodes[j].path) })
	return top, nodes, tables
}

func isList(v any) bool {
	b, err := json.Marshal(v)
	return err == nil && len(b) > 0 && b[0] == '['
}

// objectList returns v as a list of JSON objects.
func objectList(v any) ([]map[string]any, bool) {
	if !isList(v) {
		return nil, false
	}
	b, _ := json.Marshal(v)
	var rows []map[string]any
	if json.Unmarshal(b, &rows) != nil || len(rows) == 0 {
		return nil, false
	}
	return rows, true
}

// printMetrics writes a card's metrics as aligned tables: objects with
// the same fields side by side (train, holdout, the baseline's), one
// metric a row; lists (deciles, calibration) only when all is set.
func printMetrics(w io.Writer, metrics map[string]any, all bool) {
	top, nodes, tables := walkMetrics(metrics)
	if !all {
		// Curve points are for plots (prevoir models report).
		nodes = slices.DeleteFunc(nodes, func(n metricNode) bool { return strings.HasSuffix(n.path, "curves") })
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, k := range sortedKeys(top) {
		fmt.Fprintf(tw, "  %s\t%s\n", k, cell(top[k]))
	}
	tw.Flush()
	// Group the objects by their set of fields.
	var groups [][]metricNode
	index := map[string]int{}
	for _, n := range nodes {
		sig := strings.Join(sortedKeys(n.scalars), ",")
		i, ok := index[sig]
		if !ok {
			i = len(groups)
			index[sig] = i
			groups = append(groups, nil)
		}
		groups[i] = append(groups[i], n)
	}
	for i, g := range groups {
		if i > 0 || len(top) > 0 {
			fmt.Fprintln(w)
		}
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprint(tw, "  METRIC")
		for _, n := range g {
			fmt.Fprintf(tw, "\t%s", strings.ToUpper(n.path))
		}
		fmt.Fprintln(tw)
		for _, k := range sortedKeys(g[0].scalars) {
			fmt.Fprintf(tw, "  %s", k)
			for _, n := range g {
				fmt.Fprintf(tw, "\t%s", cell(n.scalars[k]))
			}
			fmt.Fprintln(tw)
		}
		tw.Flush()
	}
	if !all {
		if len(tables) > 0 {
			names := make([]string, len(tables))
			for i, t := range tables {
				names[i] = t.path
			}
			fmt.Fprintf(w, "  (%s: --all prints them)\n", strings.Join(names, ", "))
		}
		return
	}
	for _, t := range tables {
		fmt.Fprintf(w, "  %s:\n", t.path)
		cols := sortedKeys(t.rows[0])
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(tw, "\t%s\t\n", strings.ToUpper(strings.Join(cols, "\t")))
		for _, r := range t.rows {
			fmt.Fprint(tw, "\t")
			for _, c := range cols {
				fmt.Fprintf(tw, "%s\t", cell(r[c]))
			}
			fmt.Fprintln(tw)
		}
		tw.Flush()
	}
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// cell prints a metric value in one short cell: numbers to 4 significant
// decimals, lists of numbers comma-separated, nothing as Go map text.
func cell(v any) string {
	switch x := v.(type) {
	case nil:
		return "-"
	case float64:
		if x == float64(int64(x)) && x < 1e15 && x > -1e15 {
			return strconv.FormatInt(int64(x), 10)
		}
		if math.Abs(x) < 1e-3 {
			return strconv.FormatFloat(x, 'g', 3, 64)
		}
		return strconv.FormatFloat(x, 'f', 4, 64)
	case int:
		return strconv.Itoa(x)
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "?"
	}
	var anyv any
	if json.Unmarshal(b, &anyv) == nil {
		if xs, ok := anyv.([]any); ok {
			parts := make([]string, len(xs))
			for i, x := range xs {
				parts[i] = cell(x)
			}
			return strings.Join(parts, ",")
		}
		if f, ok := anyv.(float64); ok {
			return cell(f)
		}
	}
	return showValue(anyv)
}

// diffRank orders `models diff` rows by what a reader looks for first:
// parameters, then the schema, then headline metrics, then the rest;
// bins (deciles, calibration, search points) last, and only with --all.
func diffRank(path string) (rank int, bin bool) {
	switch {
	case strings.Contains(path, "deciles") || strings.Contains(path, "calibration") || strings.Contains(path, ".points") || strings.Contains(path, ".curves.") || strings.Contains(path, ".top_products"):
		return 4, true
	case strings.HasPrefix(path, "parameters"):
		return 0, false
	case strings.HasPrefix(path, "inputs") || path == "schema_fingerprint":
		return 1, false
	case strings.HasPrefix(path, "metrics"):
		return 2, false
	}
	return 3, false
}

// latestCard returns the card of name's latest version, nil when name has
// no version yet.
func latestCard(ctx context.Context, reg *registry.Registry, name string) (*models.Card, error) {
	vs, err := reg.Versions(ctx, name)
	if errors.Is(err, models.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return reg.Card(ctx, name, vs[len(vs)-1])
}

// checkScope refuses to register card as a version of name when name's
// latest version belongs to another dataset (or one is trained on a
// dataset and the other not): a model name is one model of one dataset.
// force registers anyway.
func checkScope(ctx context.Context, reg *registry.Registry, name string, card *models.Card, force bool) error {
	if force {
		return nil
	}
	prev, err := latestCard(ctx, reg, name)
	if err != nil || prev == nil {
		return err
	}
	was, now := cardDataset(prev), cardDataset(card)
	if was == now {
		return nil
	}
	describe := func(ds string) string {
		if ds == "" {
			return "no dataset"
		}
		return "dataset " + ds
	}
	return fmt.Errorf("model %s@%d is of %s, this one of %s: use another --name, or --force to register it as %s's next version anyway",
		name, prev.Version, describe(was), describe(now), name)
}
