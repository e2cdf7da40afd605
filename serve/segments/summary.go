package segments

import (
	"context"
	"fmt"
	"sort"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/serve/publish"
)

// Group is one segment's or cell's summary.
type Group struct {
	Name      string  `json:"name"`
	Customers int64   `json:"customers"`
	MeanSpend float64 `json:"mean_spend"`
	// MeanCLV is nil when the publication has no CLV.
	MeanCLV *float64 `json:"mean_clv"`
	clvN    int64
	clvSum  float64
}

// Summary is what `scores show segments` prints: per segment and per
// cell, the customers, their mean spend and mean CLV.
type Summary struct {
	Segments []Group `json:"segments"`
	Cells    []Group `json:"cells"`
}

// Summarize reads a segments publication and groups it by segment and by
// cell, each sorted by name.
func Summarize(ctx context.Context, st datasets.Store, m *publish.Manifest) (*Summary, error) {
	if m.Task != Task {
		return nil, fmt.Errorf("%s publication: not a segments publication", m.Task)
	}
	t, err := m.Table(Table)
	if err != nil {
		return nil, err
	}
	pos := map[string]int{}
	for i, c := range t.Columns {
		pos[c.Name] = i
	}
	for _, c := range []string{"segment", "cell", "spend", "clv"} {
		if _, ok := pos[c]; !ok {
			return nil, fmt.Errorf("segments publication as of %s has no %s column", m.AsOf, c)
		}
	}
	segs, cells := map[string]*Group{}, map[string]*Group{}
	add := func(by map[string]*Group, name string, spend float64, clv any) {
		g := by[name]
		if g == nil {
			g = &Group{Name: name}
			by[name] = g
		}
		g.Customers++
		g.MeanSpend += spend
		if v, ok := clv.(float64); ok {
			g.clvN++
			g.clvSum += v
		}
	}
	err = publish.Rows(ctx, st, m, Table, func(r []any) error {
		spend, _ := r[pos["spend"]].(float64)
		seg, _ := r[pos["segment"]].(string)
		cell, _ := r[pos["cell"]].(string)
		add(segs, seg, spend, r[pos["clv"]])
		add(cells, cell, spend, r[pos["clv"]])
		return nil
	})
	if err != nil {
		return nil, err
	}
	list := func(by map[string]*Group) []Group {
		out := make([]Group, 0, len(by))
		for _, g := range by {
			g.MeanSpend /= float64(g.Customers)
			if g.clvN > 0 {
				v := g.clvSum / float64(g.clvN)
				g.MeanCLV = &v
			}
			out = append(out, *g)
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
		return out
	}
	return &Summary{Segments: list(segs), Cells: list(cells)}, nil
}
