package report

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"sort"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/serve/publish"
)

// ScoresOptions select the publication a scores report is about.
type ScoresOptions struct {
	Options
	Dataset, Task string
	// AsOf is the publication's date; "" or "latest" is the one LATEST
	// points to.
	AsOf string
	// Top is how many rows the top-rows and what-changed tables list; 0
	// means 20.
	Top int
}

// Publication is what a task's section builder reads: the publication,
// the one before it (nil when it is the first), and the store to read
// their rows from.
type Publication struct {
	Store    datasets.Store
	Manifest *publish.Manifest
	Previous *publish.Manifest
	Top      int
}

// ScoreSections returns a publication's task sections. A new task adds
// its case here and its builder in its own file (offers.go, demand.go).
func ScoreSections(ctx context.Context, p *Publication) ([]Section, error) {
	switch p.Manifest.Task {
	case "churn":
		return churnSections(ctx, p)
	case "demand":
		return demandSections(ctx, p)
	case "propensity":
		return offersSections(ctx, p)
	}
	return nil, nil
}

// ScoresReport is the report of one publication: its summary (rows,
// tables, model, parameters), then its task's sections, which compare it
// with the previous publication of the same task.
func ScoresReport(ctx context.Context, st datasets.Store, o ScoresOptions) (*Document, error) {
	m, err := publish.Resolve(ctx, st, o.Dataset, o.Task, o.AsOf)
	if err != nil {
		return nil, err
	}
	prev, err := previous(ctx, st, m)
	if err != nil {
		return nil, err
	}
	top := o.Top
	if top <= 0 {
		top = 20
	}
	d := &Document{Title: fmt.Sprintf("Scores report: %s, %s as of %s", m.Task, m.Dataset, m.AsOf), Generated: o.Now, PrevoirVersion: o.PrevoirVersion}
	d.Subtitle = "The first publication of this task: nothing to compare with."
	if prev != nil {
		d.Subtitle = "Compared with the previous publication, as of " + prev.AsOf + "."
	}
	d.Sections = append(d.Sections, summarySection(m, prev))
	s, err := ScoreSections(ctx, &Publication{Store: st, Manifest: m, Previous: prev, Top: top})
	if err != nil {
		return nil, err
	}
	d.Sections = append(d.Sections, s...)
	return d, nil
}

// previous returns the latest publication of m's dataset and task before
// m's date, or nil.
func previous(ctx context.Context, st datasets.Store, m *publish.Manifest) (*publish.Manifest, error) {
	es, err := publish.List(ctx, st, m.Dataset, m.Task)
	if err != nil {
		return nil, err
	}
	sort.Slice(es, func(i, j int) bool { return es[i].AsOf > es[j].AsOf })
	for _, e := range es {
		if e.AsOf >= m.AsOf {
			continue
		}
		p, err := publish.ReadManifest(ctx, st, e.Dataset, e.Task, e.AsOf)
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed since the listing
		}
		return p, err
	}
	return nil, nil
}

// summarySection is what every publication has: rows, tables, model and
// parameters.
func summarySection(m, prev *publish.Manifest) Section {
	facts := []Fact{{"As of", m.AsOf}, {"Rows", Int(m.Rows)}}
	if prev != nil {
		facts = append(facts, Fact{"Rows in the previous publication", Int(prev.Rows) + " (" + prev.AsOf + ")"})
	}
	if m.Model != nil {
		facts = append(facts, Fact{"Model", fmt.Sprintf("%s@%d", m.Model.Name, m.Model.Version)})
	}
	facts = append(facts, Fact{"Suppressed (forgotten customers)", Int(m.Suppressed)}, Fact{"Published", m.CreatedAt.UTC().Format("2006-01-02 15:04 UTC")})
	t := &Table{Caption: "Tables", Head: []string{"Table", "Rows", "Parts", "Size", "Columns"}, Numeric: []bool{false, true, true, true, false}}
	for _, tb := range m.Tables {
		var bytes int64
		for _, p := range tb.Parts {
			bytes += p.Bytes
		}
		cols := ""
		for i, c := range tb.Columns {
			if i > 0 {
				cols += ", "
			}
			cols += c.Name
		}
		size := Int(bytes) + " bytes"
		if bytes >= 1024 {
			size = Int((bytes+512)/1024) + " KiB"
		}
		t.Rows = append(t.Rows, []string{tb.Name, Int(tb.Rows), Int(int64(len(tb.Parts))), size, cols})
	}
	blocks := []Block{{Facts: facts}, {Table: t}}
	if len(m.Params) > 0 {
		pt := &Table{Caption: "Parameters", Head: []string{"Parameter", "Value"}}
		for _, k := range sortedKeys(m.Params) {
			b, _ := json.Marshal(m.Params[k])
			pt.Rows = append(pt.Rows, []string{k, string(b)})
		}
		blocks = append(blocks, Block{Table: pt})
	}
	for _, n := range m.Notes {
		blocks = append(blocks, Block{Note: n})
	}
	return Section{ID: "publication", Title: "Publication " + m.Dataset + "/" + m.Task + "/" + m.AsOf, Blocks: blocks}
}
