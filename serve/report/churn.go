package report

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/prevoir/prevoir/serve/publish"
)

// churnRow is one customer of a churn publication.
type churnRow struct {
	id      string
	p       float64
	band    string
	reasons []string // kept for the top rows only
}

// churnRows reads a churn publication's main table, by column name:
// every customer's probability and band, and the top rows (highest
// probability, then customer id) with their reasons, so memory holds the
// reasons of top rows only.
func churnRows(ctx context.Context, p *Publication, m *publish.Manifest, top int) (rows, best []churnRow, err error) {
	t, err := m.Table("")
	if err != nil {
		return nil, nil, err
	}
	col := map[string]int{}
	for i, c := range t.Columns {
		col[c.Name] = i
	}
	for _, need := range []string{"customer_id", "probability", "band"} {
		if _, ok := col[need]; !ok {
			return nil, nil, fmt.Errorf("publication %s: table %s has no column %s", publish.Prefix(m.Dataset, m.Task, m.AsOf), t.Name, need)
		}
	}
	var rs []string
	for _, r := range []string{"reason_1", "reason_2", "reason_3"} {
		if _, ok := col[r]; ok {
			rs = append(rs, r)
		}
	}
	before := func(a, b churnRow) bool { return a.p > b.p || a.p == b.p && a.id < b.id }
	rows = make([]churnRow, 0, t.Rows)
	err = publish.Rows(ctx, p.Store, m, t.Name, func(row []any) error {
		r := churnRow{}
		r.id, _ = row[col["customer_id"]].(string)
		r.p, _ = row[col["probability"]].(float64)
		r.band, _ = row[col["band"]].(string)
		rows = append(rows, r)
		if top <= 0 || len(best) == top && !before(r, best[top-1]) {
			return nil
		}
		for _, c := range rs {
			if s, _ := row[col[c]].(string); s != "" {
				r.reasons = append(r.reasons, s)
			}
		}
		i := sort.Search(len(best), func(i int) bool { return before(r, best[i]) })
		best = slices.Insert(best, i, r)
		if len(best) > top {
			best = best[:top]
		}
		return nil
	})
	return rows, best, err
}

// churnBands are the band names, highest first.
var churnBands = []string{"high", "medium", "low"}

// churnSections: the score distribution (against the previous
// publication), band sizes, the top customers, and who entered or left
// the high band since the previous publication.
func churnSections(ctx context.Context, p *Publication) ([]Section, error) {
	cur, top, err := churnRows(ctx, p, p.Manifest, p.Top)
	if err != nil {
		return nil, err
	}
	var prev []churnRow
	if p.Previous != nil {
		if prev, _, err = churnRows(ctx, p, p.Previous, 0); err != nil {
			return nil, err
		}
	}
	dist, err := churnDistribution(p, cur, prev)
	if err != nil {
		return nil, err
	}
	bands, err := churnBandSection(p, cur, prev)
	if err != nil {
		return nil, err
	}
	out := []Section{dist, bands, churnTopSection(top)}
	if p.Previous != nil {
		out = append(out, churnChanges(p, cur, prev))
	}
	return out, nil
}

// histogram is the share of rows per bin of width 1/bins over [0, 1].
func histogram(rows []churnRow, bins int) []float64 {
	h := make([]float64, bins)
	for _, r := range rows {
		h[min(int(r.p*float64(bins)), bins-1)]++
	}
	for k := range h {
		h[k] /= float64(max(1, len(rows)))
	}
	return h
}

// quantile of sorted values (linear interpolation).
func quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	x := q * float64(len(sorted)-1)
	i := int(x)
	if i+1 >= len(sorted) {
		return sorted[len(sorted)-1]
	}
	return sorted[i] + (x-float64(i))*(sorted[i+1]-sorted[i])
}

func probabilities(rows []churnRow) []float64 {
	ps := make([]float64, len(rows))
	for i, r := range rows {
		ps[i] = r.p
	}
	sort.Float64s(ps)
	return ps
}

// PSI is the population stability index of two distributions over the
// same bins (shares), with empty bins floored at 1e-4: under 0.1 is
// usually read as stable, 0.1 to 0.25 as a moderate shift, above as a
// large one.
func PSI(cur, prev []float64) float64 {
	var s float64
	for k := range cur {
		a, b := max(cur[k], 1e-4), max(prev[k], 1e-4)
		s += (a - b) * math.Log(a/b)
	}
	return s
}

func churnDistribution(p *Publication, cur, prev []churnRow) (Section, error) {
	const bins = 20
	cats := make([]string, bins)
	for k := range cats {
		cats[k] = Int(int64(100 * k / bins))
	}
	hc := histogram(cur, bins)
	groups := []Bars{{Name: "as of " + p.Manifest.AsOf, Values: hc}}
	qs := []float64{0.1, 0.25, 0.5, 0.75, 0.9}
	pc := probabilities(cur)
	head := []string{"Publication", "Customers", "Mean", "P10", "P25", "Median", "P75", "P90"}
	t := &Table{Caption: "Churn probability: quantiles", Head: head, Numeric: []bool{false, true, true, true, true, true, true, true}}
	row := func(name string, ps []float64) []string {
		var sum float64
		for _, v := range ps {
			sum += v
		}
		r := []string{name, Int(int64(len(ps))), Pct(sum/float64(max(1, len(ps))), 1)}
		for _, q := range qs {
			r = append(r, Pct(quantile(ps, q), 1))
		}
		return r
	}
	t.Rows = append(t.Rows, row(p.Manifest.AsOf, pc))
	var blocks []Block
	if p.Previous != nil {
		hp := histogram(prev, bins)
		groups = append(groups, Bars{Name: "as of " + p.Previous.AsOf + " (previous)", Values: hp})
		t.Rows = append(t.Rows, row(p.Previous.AsOf+" (previous)", probabilities(prev)))
		psi := PSI(hc, hp)
		verdict := "stable"
		switch {
		case psi >= 0.25:
			verdict = "a large shift: check the data and the model before acting on the scores"
		case psi >= 0.1:
			verdict = "a moderate shift"
		}
		blocks = append(blocks, Block{Facts: []Fact{{"Population stability index (20 bins)", Num(psi, 3)}, {"Median change", Points(quantile(pc, 0.5)-quantile(probabilities(prev), 0.5), 1)}}},
			Block{Text: "The distribution against the previous publication is " + verdict + " (PSI under 0.1 is usually read as stable, 0.1 to 0.25 as moderate, above 0.25 as large)."})
	}
	svg, err := BarChart(Chart{Title: "Churn probability distribution", X: "churn probability bin (%, labelled by its lower edge)", Y: "share of customers", PercentY: true}, cats, groups)
	if err != nil {
		return Section{}, err
	}
	blocks = append(blocks, Block{Figures: []Figure{{ID: "churn-distribution", Caption: "Share of customers per 5-point probability bin" + map[bool]string{true: ", this publication beside the previous one.", false: "."}[p.Previous != nil], SVG: svg}}}, Block{Table: t})
	return Section{ID: "distribution", Title: "Score distribution", Blocks: blocks}, nil
}

func bandCounts(rows []churnRow) map[string]int64 {
	n := map[string]int64{}
	for _, r := range rows {
		n[r.band]++
	}
	return n
}

func churnBandSection(p *Publication, cur, prev []churnRow) (Section, error) {
	nc, np := bandCounts(cur), bandCounts(prev)
	head := []string{"Band", "Customers", "Share"}
	num := []bool{false, true, true}
	if p.Previous != nil {
		head = append(head, "Previous", "Previous share", "Change")
		num = append(num, true, true, true)
	}
	t := &Table{Caption: "Customers per band", Head: head, Numeric: num}
	groups := []Bars{{Name: "as of " + p.Manifest.AsOf, Values: nil}}
	if p.Previous != nil {
		groups = append(groups, Bars{Name: "as of " + p.Previous.AsOf + " (previous)"})
	}
	for _, b := range churnBands {
		r := []string{b, Int(nc[b]), Pct(float64(nc[b])/float64(max(1, len(cur))), 1)}
		groups[0].Values = append(groups[0].Values, float64(nc[b]))
		if p.Previous != nil {
			r = append(r, Int(np[b]), Pct(float64(np[b])/float64(max(1, len(prev))), 1), signedInt(nc[b]-np[b]))
			groups[1].Values = append(groups[1].Values, float64(np[b]))
		}
		t.Rows = append(t.Rows, r)
	}
	svg, err := BarChart(Chart{Title: "Customers per churn band", X: "band", Y: "customers"}, churnBands, groups)
	if err != nil {
		return Section{}, err
	}
	blocks := []Block{{Text: bandText(p)}, {Figures: []Figure{{ID: "churn-bands", Caption: "Customers in each band.", SVG: svg}}}, {Table: t}}
	return Section{ID: "bands", Title: "Band sizes", Blocks: blocks}, nil
}

// bandText says where the bands start, from the publication's
// parameters.
func bandText(p *Publication) string {
	var b struct{ High, Medium float64 }
	raw, _ := json.Marshal(p.Manifest.Params["bands"])
	if json.Unmarshal(raw, &b) != nil || b.High == 0 {
		return "Bands as the publication's parameters set them."
	}
	return fmt.Sprintf("High from %s, medium from %s, low below.", Pct(b.High, 0), Pct(b.Medium, 0))
}

func signedInt(n int64) string {
	if n > 0 {
		return "+" + Int(n)
	}
	return Int(n)
}

func churnTopSection(top []churnRow) Section {
	t := &Table{Caption: fmt.Sprintf("The %d customers most likely to churn", len(top)), Head: []string{"#", "Customer", "Probability", "Band", "Reasons"}, Numeric: []bool{true, false, true, false, false}}
	for i, r := range top {
		t.Rows = append(t.Rows, []string{Int(int64(i + 1)), r.id, Pct(r.p, 1), r.band, strings.Join(r.reasons, "; ")})
	}
	return Section{ID: "top", Title: "Top customers", Blocks: []Block{{Table: t}}}
}

// churnChanges lists customers entering and leaving the high band since
// the previous publication.
func churnChanges(p *Publication, cur, prev []churnRow) Section {
	before := make(map[string]churnRow, len(prev))
	for _, r := range prev {
		before[r.id] = r
	}
	now := make(map[string]bool, len(cur))
	type move struct {
		id         string
		from, to   string
		pFrom, pTo float64
		seen, gone bool
	}
	var entered, left []move
	var added, moved int64
	for _, r := range cur {
		now[r.id] = true
		b, ok := before[r.id]
		if !ok {
			added++
		}
		if ok && b.band != r.band {
			moved++
		}
		if r.band == "high" && (!ok || b.band != "high") {
			entered = append(entered, move{id: r.id, from: b.band, to: r.band, pFrom: b.p, pTo: r.p, seen: ok})
		}
		if ok && b.band == "high" && r.band != "high" {
			left = append(left, move{id: r.id, from: b.band, to: r.band, pFrom: b.p, pTo: r.p, seen: true})
		}
	}
	var gone int64
	for _, r := range prev {
		if !now[r.id] {
			gone++
			if r.band == "high" {
				left = append(left, move{id: r.id, from: r.band, pFrom: r.p, seen: true, gone: true})
			}
		}
	}
	sort.SliceStable(entered, func(i, j int) bool { return entered[i].pTo > entered[j].pTo })
	sort.SliceStable(left, func(i, j int) bool { return left[i].pFrom > left[j].pFrom })
	table := func(caption string, ms []move) *Table {
		t := &Table{Caption: fmt.Sprintf("%s (%s; the first %d)", caption, Int(int64(len(ms))), min(p.Top, len(ms))), Head: []string{"Customer", "Before", "Band before", "Now", "Band now"}, Numeric: []bool{false, true, false, true, false}}
		for _, m := range ms[:min(p.Top, len(ms))] {
			r := []string{m.id, "—", "not scored", "—", "not scored"}
			if m.seen {
				r[1], r[2] = Pct(m.pFrom, 1), m.from
			}
			if !m.gone {
				r[3], r[4] = Pct(m.pTo, 1), m.to
			}
			t.Rows = append(t.Rows, r)
		}
		return t
	}
	facts := []Fact{{"Entered the high band", Int(int64(len(entered)))}, {"Left the high band", Int(int64(len(left)))},
		{"Changed band (any)", Int(moved)}, {"New customers", Int(added)}, {"No longer scored", Int(gone)}}
	blocks := []Block{{Text: "Customers whose band changed between the previous publication (as of " + p.Previous.AsOf + ") and this one; a customer not scored before counts as entering, one no longer scored (gone quiet past the lookback, or forgotten) as leaving."},
		{Facts: facts}}
	if len(entered) > 0 {
		blocks = append(blocks, Block{Table: table("Entered the high band, highest probability first", entered)})
	}
	if len(left) > 0 {
		blocks = append(blocks, Block{Table: table("Left the high band, highest previous probability first", left)})
	}
	return Section{ID: "changes", Title: "What changed since " + p.Previous.AsOf, Blocks: blocks}
}
