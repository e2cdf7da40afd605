package report

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/prevoir/prevoir/serve/nightly"
)

// RunDocument is the report of one nightly run (`prevoir run`): its
// outcome, the stages with their times and rows, each task's
// publication, the retraining decisions, the quality check of the
// publications of one horizon ago and the triggers fired per rule. It
// names no customer: it is written into the store beside the run's
// summary, which forgetting does not rewrite.
func RunDocument(s *nightly.Summary, version string) (*Document, error) {
	status := "every task published"
	if !s.OK {
		status = "FAILED: at least one task did not publish; earlier publications stay in place"
	}
	d := &Document{
		Title:     fmt.Sprintf("Nightly run of %s as of %s", s.Dataset, s.AsOf),
		Subtitle:  fmt.Sprintf("run %s by %s, started %s: %s", s.Run, s.Holder, s.StartedAt.UTC().Format(time.RFC3339), status),
		Generated: time.Now(), PrevoirVersion: version,
	}
	published := 0
	var rows int64
	for _, t := range s.Tasks {
		if t.Status == nightly.StatusPublished {
			published++
			rows += t.Rows
		}
	}
	outcome := Section{Title: "Outcome", Blocks: []Block{{Facts: []Fact{
		{"Status", map[bool]string{true: "ok", false: "failed"}[s.OK]},
		{"Tasks published", fmt.Sprintf("%d of %d", published, len(s.Tasks))},
		{"Rows published", Int(rows)},
		{"Elapsed", time.Duration(s.Elapsed).Round(time.Millisecond).String()},
	}}}}
	for _, w := range s.Warnings {
		outcome.Blocks = append(outcome.Blocks, Block{Note: w})
	}
	for _, n := range s.Notes {
		outcome.Blocks = append(outcome.Blocks, Block{Text: n})
	}
	d.Sections = append(d.Sections, outcome)
	st, err := runStages(s)
	if err != nil {
		return nil, err
	}
	d.Sections = append(d.Sections, st, runTasks(s))
	if len(s.Retrain) > 0 {
		d.Sections = append(d.Sections, runRetrain(s))
	}
	if len(s.Quality) > 0 {
		d.Sections = append(d.Sections, runQuality(s))
	}
	if s.Triggers != nil {
		tr, err := runTriggers(s.Triggers)
		if err != nil {
			return nil, err
		}
		d.Sections = append(d.Sections, tr)
	}
	if g := s.GC; g != nil {
		d.Sections = append(d.Sections, Section{Title: "Store garbage collection", Blocks: []Block{{Facts: []Fact{
			{"Objects removed", Int(int64(len(g.Removed)))}, {"Bytes freed", Int(g.Bytes)}, {"Minimum age", fmt.Sprint(g.MinAge)},
		}}}})
	}
	return d, nil
}

// runStages is the table of stages and a chart of their times.
func runStages(s *nightly.Summary) (Section, error) {
	sec := Section{Title: "Stages"}
	if len(s.Stages) == 0 {
		sec.Blocks = append(sec.Blocks, Block{Text: "No stage ended."})
		return sec, nil
	}
	t := &Table{Caption: "Stages in the order they ended", Head: []string{"Stage", "Task", "Rows", "Time (s)", "Rows/s", "Outcome"},
		Numeric: []bool{false, false, true, true, true, false}}
	var names []string
	var secs []float64
	for _, g := range s.Stages {
		el := time.Duration(g.Elapsed).Seconds()
		rate := "–"
		if el > 0 && g.Rows > 0 {
			rate = Int(int64(float64(g.Rows) / el))
		}
		out := "done"
		if g.Failed {
			out = "failed"
		}
		t.Rows = append(t.Rows, []string{g.Stage, g.Task, Int(g.Rows), Num(el, 3), rate, out})
		t.Highlight = append(t.Highlight, g.Failed)
		name := g.Stage
		if g.Task != "" {
			name += " " + g.Task
		}
		names = append(names, name)
		secs = append(secs, el)
	}
	svg, err := HorizontalBars(Chart{Title: "Time per stage", X: "elapsed (seconds)", NoLegend: true}, names, secs)
	if err != nil {
		return sec, err
	}
	sec.Blocks = append(sec.Blocks, Block{Table: t}, Block{Figures: []Figure{{ID: "run-stages", Caption: "Wall time of each stage, in seconds.", SVG: svg}}})
	return sec, nil
}

func runTasks(s *nightly.Summary) Section {
	t := &Table{Caption: "Tasks", Head: []string{"Task", "Status", "Model", "Publication", "Rows", "Features reused", "Time (s)", "Error"},
		Numeric: []bool{false, false, false, false, true, false, true, false}}
	for _, r := range s.Tasks {
		t.Rows = append(t.Rows, []string{r.Task, r.Status, r.Model, r.Publication, Int(r.Rows),
			map[bool]string{true: "yes", false: "no"}[r.FeaturesReused], Num(time.Duration(r.Elapsed).Seconds(), 3), r.Error})
		t.Highlight = append(t.Highlight, r.Status != nightly.StatusPublished)
	}
	return Section{Title: "Tasks", Blocks: []Block{{Table: t}}}
}

func runRetrain(s *nightly.Summary) Section {
	t := &Table{Caption: "Champion and challenger, evaluated on the same held-out cutoff",
		Head:    []string{"Task", "Model", "Holdout", "Metric", "Champion", "Challenger", "Margin", "Decision", "Reason"},
		Numeric: []bool{false, false, false, false, true, true, true, false, false}}
	for _, d := range s.Retrain {
		dec := "kept the champion"
		if d.Promoted {
			dec = "promoted the challenger"
		}
		t.Rows = append(t.Rows, []string{d.Task, d.Model, d.Holdout, d.Metric,
			fmt.Sprintf("v%d: %s", d.Champion, Num(d.ChampionValue, 4)), fmt.Sprintf("v%d: %s", d.Challenger, Num(d.ChallengerValue, 4)),
			Num(d.Margin, 4), dec, d.Reason})
		t.Highlight = append(t.Highlight, d.Promoted)
	}
	return Section{Title: "Retraining", Blocks: []Block{{Table: t}}}
}

func runQuality(s *nightly.Summary) Section {
	t := &Table{Caption: "Publications of one horizon ago against what happened since",
		Head:    []string{"Task", "Publication", "Customers", "ROC AUC", "Calibration error", "Mean predicted", "Observed rate"},
		Numeric: []bool{false, false, true, true, true, true, true}}
	sec := Section{Title: "Quality after the fact"}
	ft := &Table{Caption: "Offers and forecasts of one horizon ago against what happened since",
		Head:    []string{"Task", "Publication", "Checked", "Figures"},
		Numeric: []bool{false, false, true, false}}
	for _, q := range s.Quality {
		if q.Measure() == nightly.QualityProbabilities {
			t.Rows = append(t.Rows, []string{q.Task, q.Publication, Int(q.Customers), Num(q.AUC, 4), Num(q.Calibration, 4),
				Pct(q.MeanPredicted, 1), Pct(q.ObservedRate, 1)})
			t.Highlight = append(t.Highlight, len(q.Warnings) > 0)
		} else {
			checked, figs := Int(q.Customers)+" customers who bought", ""
			if q.Measure() == nightly.QualityForecast {
				checked = Int(q.Rows) + " forecasts"
				figs = fmt.Sprintf("WAPE %s, bias %s, P90 coverage %s", Num(q.Figures[nightly.FigureWAPE], 3),
					Signed(q.Figures[nightly.FigureBias], 3), Pct(q.Figures[nightly.FigureP90Coverage], 1))
			} else {
				n := q.Figures[nightly.FigureTop]
				figs = fmt.Sprintf("hit rate@%.0f %s, MAP@%.0f %s", n, Pct(q.Figures[nightly.FigureHitRate], 1), n, Num(q.Figures[nightly.FigureMAP], 4))
			}
			ft.Rows = append(ft.Rows, []string{q.Task, q.Publication, checked, figs})
			ft.Highlight = append(ft.Highlight, len(q.Warnings) > 0)
		}
		for _, w := range q.Warnings {
			sec.Blocks = append(sec.Blocks, Block{Note: w})
		}
	}
	var tables []Block
	if len(t.Rows) > 0 {
		tables = append(tables, Block{Table: t})
	}
	if len(ft.Rows) > 0 {
		tables = append(tables, Block{Table: ft})
	}
	sec.Blocks = append(tables, sec.Blocks...)
	return sec
}

func runTriggers(tr *nightly.TriggerSummary) (Section, error) {
	sec := Section{Title: "Triggers"}
	if tr.Status != nightly.StatusPublished {
		sec.Blocks = append(sec.Blocks, Block{Note: fmt.Sprintf("Triggers %s: %s", tr.Status, tr.Error)})
		return sec, nil
	}
	sec.Blocks = append(sec.Blocks, Block{Facts: []Fact{{"Events", Int(tr.Events)}, {"Since", tr.Since}, {"Publication", tr.Publication}}})
	rules := slices.Sorted(maps.Keys(tr.ByRule))
	t := &Table{Caption: "Events per rule", Head: []string{"Rule", "Fired", "Held back by the cooldown", "Opted out"}, Numeric: []bool{false, true, true, true}}
	var fired, cooled, opted []float64
	for _, r := range rules {
		t.Rows = append(t.Rows, []string{r, Int(tr.ByRule[r]), Int(tr.CooledDown[r]), Int(tr.OptedOut[r])})
		fired = append(fired, float64(tr.ByRule[r]))
		cooled = append(cooled, float64(tr.CooledDown[r]))
		opted = append(opted, float64(tr.OptedOut[r]))
	}
	sec.Blocks = append(sec.Blocks, Block{Table: t})
	if len(rules) > 0 {
		svg, err := BarChart(Chart{Title: "Trigger events per rule", X: "rule", Y: "events (customers)"}, rules,
			[]Bars{{Name: "fired", Values: fired}, {Name: "cooldown", Values: cooled}, {Name: "opted out", Values: opted}})
		if err != nil {
			return sec, err
		}
		sec.Blocks = append(sec.Blocks, Block{Figures: []Figure{{ID: "run-triggers", Caption: "Events fired, and firings held back, per rule.", SVG: svg}}})
	}
	for _, n := range tr.Notes {
		sec.Blocks = append(sec.Blocks, Block{Text: n})
	}
	return sec, nil
}
