package report

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

// Demand publication tables ([demand]): the forecast per series and step,
// and the pre-positioning plan per product and warehouse.
const (
	demandTable      = "demand"
	prepositionTable = "preposition"
)

var (
	demandCols      = []string{"product_id", "warehouse", "step", "period_start", "mean", "p50", "p90"}
	prepositionCols = []string{"product_id", "warehouse", "mean", "p90", "stock_on_hand", "preposition_qty", "bestseller_rank", "service_level"}
)

// demandSections: the pre-positioning plan per warehouse (table and
// chart), the products to move first, and the forecast per step; each
// against the previous publication when there is one.
func demandSections(ctx context.Context, p *Publication) ([]Section, error) {
	var out []Section
	if hasTable(p.Manifest, prepositionTable) {
		s, err := prepositionSections(ctx, p)
		if err != nil {
			return nil, err
		}
		out = append(out, s...)
	}
	if hasTable(p.Manifest, demandTable) {
		s, err := forecastSection(ctx, p)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// warehousePlan sums one warehouse's rows of the preposition table.
type warehousePlan struct {
	name                  string
	products              int
	mean, p90, stock, qty float64
	serviceLevel          float64
	prevMean, prevQty     float64
	prevSeen              bool
}

func planByWarehouse(rows [][]any) map[string]*warehousePlan {
	out := map[string]*warehousePlan{}
	for _, r := range rows {
		w := str(r[1])
		pl := out[w]
		if pl == nil {
			pl = &warehousePlan{name: w}
			out[w] = pl
		}
		pl.products++
		pl.mean += num(r[2])
		pl.p90 += num(r[3])
		pl.stock += num(r[4])
		pl.qty += num(r[5])
		pl.serviceLevel = num(r[7])
	}
	return out
}

func prepositionSections(ctx context.Context, p *Publication) ([]Section, error) {
	rows, missing, err := readColumns(ctx, p, p.Manifest, prepositionTable, prepositionCols)
	if err != nil {
		return nil, err
	}
	plans := planByWarehouse(rows)
	if p.Previous != nil && hasTable(p.Previous, prepositionTable) {
		prev, _, err := readColumns(ctx, p, p.Previous, prepositionTable, prepositionCols)
		if err != nil {
			return nil, err
		}
		for w, pp := range planByWarehouse(prev) {
			if pl := plans[w]; pl != nil {
				pl.prevMean, pl.prevQty, pl.prevSeen = pp.mean, pp.qty, true
			}
		}
	}
	var ws []*warehousePlan
	for _, pl := range plans {
		ws = append(ws, pl)
	}
	sort.Slice(ws, func(i, j int) bool {
		if ws[i].qty != ws[j].qty {
			return ws[i].qty > ws[j].qty
		}
		return ws[i].name < ws[j].name
	})
	head := []string{"Warehouse", "Products", "Expected demand (mean)", "Sum of P90", "Stock on hand", "To pre-position", "Service level"}
	numeric := []bool{false, true, true, true, true, true, true}
	if p.Previous != nil {
		head = append(head, "To pre-position, previous", "Change")
		numeric = append(numeric, true, true)
	}
	t := &Table{Caption: "Pre-positioning plan per warehouse, whole horizon (units)", Head: head, Numeric: numeric}
	var total warehousePlan
	cats := []string{}
	groups := []Bars{{Name: "expected demand (mean)"}, {Name: "sum of P90"}, {Name: "stock on hand"}, {Name: "to pre-position"}}
	for i, w := range ws {
		row := []string{w.name, Int(int64(w.products)), Count(round1(w.mean)), Count(round1(w.p90)), Count(round1(w.stock)), Count(round1(w.qty)), Pct(w.serviceLevel, 0)}
		if p.Previous != nil {
			if w.prevSeen {
				row = append(row, Count(round1(w.prevQty)), Signed(w.qty-w.prevQty, 1))
			} else {
				row = append(row, "—", "new")
			}
		}
		t.Rows = append(t.Rows, row)
		total.products += w.products
		total.mean += w.mean
		total.p90 += w.p90
		total.stock += w.stock
		total.qty += w.qty
		if i < 12 {
			cats = append(cats, w.name)
			for k, v := range []float64{w.mean, w.p90, w.stock, w.qty} {
				groups[k].Values = append(groups[k].Values, v)
			}
		}
	}
	facts := []Fact{{"Warehouses", Int(int64(len(ws)))}, {"Products x warehouses", Int(int64(total.products))},
		{"Expected demand (units)", Count(round1(total.mean))}, {"To pre-position (units)", Count(round1(total.qty))}}
	blocks := []Block{{Facts: facts},
		{Text: "For each warehouse over the whole horizon: the expected demand, the sum of the series' P90, the stock on hand, and the quantity to move there ahead of demand (the service-level quantile of each series' demand minus its stock, floored at zero)."}}
	if len(cats) > 0 {
		svg, err := BarChart(Chart{Title: "Pre-positioning plan per warehouse", X: "warehouse" + map[bool]string{true: " (the 12 with most to pre-position)", false: ""}[len(ws) > 12], Y: "units over the horizon"}, cats, groups)
		if err != nil {
			return nil, err
		}
		blocks = append(blocks, Block{Figures: []Figure{{ID: "preposition-chart", Caption: "Demand, stock and quantity to pre-position per warehouse.", SVG: svg}}})
	}
	blocks = append(blocks, Block{Table: t})
	if len(missing) > 0 {
		blocks = append(blocks, Block{Note: "The preposition table has no column " + strings.Join(missing, ", ") + ": shown as zero."})
	}
	plan := Section{ID: "preposition", Title: "Pre-positioning plan per warehouse", Blocks: blocks}

	sort.SliceStable(rows, func(i, j int) bool {
		if a, b := num(rows[i][5]), num(rows[j][5]); a != b {
			return a > b
		}
		return str(rows[i][0])+"/"+str(rows[i][1]) < str(rows[j][0])+"/"+str(rows[j][1])
	})
	top := rows[:min(p.Top, len(rows))]
	tt := &Table{Caption: fmt.Sprintf("The %d largest quantities to pre-position", len(top)), Head: []string{"Product", "Warehouse", "Bestseller rank", "Mean", "P90", "Stock on hand", "To pre-position"},
		Numeric: []bool{false, false, true, true, true, true, true}}
	for _, r := range top {
		tt.Rows = append(tt.Rows, []string{str(r[0]), str(r[1]), Count(num(r[6])), Count(round1(num(r[2]))), Count(round1(num(r[3]))), Count(round1(num(r[4]))), Count(round1(num(r[5])))})
	}
	return []Section{plan, {ID: "preposition-top", Title: "Products to move first", Level: 2, Blocks: []Block{{Table: tt}}}}, nil
}

func round1(v float64) float64 { return float64(int64(v*10+0.5)) / 10 }

// forecastSection: the total forecast per step of the horizon, over all
// series and for the largest warehouses.
func forecastSection(ctx context.Context, p *Publication) (Section, error) {
	rows, _, err := readColumns(ctx, p, p.Manifest, demandTable, demandCols)
	if err != nil {
		return Section{}, err
	}
	type stepSum struct {
		start          string
		series         int
		mean, p50, p90 float64
	}
	steps := map[int]*stepSum{}
	byWH := map[string]map[int]float64{}
	whTotal := map[string]float64{}
	for _, r := range rows {
		h := int(num(r[2]))
		s := steps[h]
		if s == nil {
			s = &stepSum{start: str(r[3])}
			steps[h] = s
		}
		s.series++
		s.mean += num(r[4])
		s.p50 += num(r[5])
		s.p90 += num(r[6])
		w := str(r[1])
		if byWH[w] == nil {
			byWH[w] = map[int]float64{}
		}
		byWH[w][h] += num(r[4])
		whTotal[w] += num(r[4])
	}
	var hs []int
	for h := range steps {
		hs = append(hs, h)
	}
	sort.Ints(hs)
	t := &Table{Caption: "Forecast per step, all series (units)", Head: []string{"Step", "Period start", "Series", "Mean", "Sum of P50", "Sum of P90"}, Numeric: []bool{true, false, true, true, true, true}}
	all := Series{Name: "all warehouses (mean)", Points: true}
	for _, h := range hs {
		s := steps[h]
		t.Rows = append(t.Rows, []string{Int(int64(h)), s.start, Int(int64(s.series)), Count(round1(s.mean)), Count(round1(s.p50)), Count(round1(s.p90))})
		all.X, all.Y = append(all.X, float64(h)), append(all.Y, s.mean)
	}
	var whs []string
	for w := range whTotal {
		whs = append(whs, w)
	}
	sort.Slice(whs, func(i, j int) bool {
		if whTotal[whs[i]] != whTotal[whs[j]] {
			return whTotal[whs[i]] > whTotal[whs[j]]
		}
		return whs[i] < whs[j]
	})
	series := []Series{all}
	for _, w := range whs[:min(5, len(whs))] {
		s := Series{Name: w + " (mean)", Points: true}
		for _, h := range hs {
			s.X, s.Y = append(s.X, float64(h)), append(s.Y, byWH[w][h])
		}
		series = append(series, s)
	}
	blocks := []Block{{Text: "The forecast summed over series for each step of the horizon. Quantiles do not add up: the sum of the series' P90 is an upper reading, not the P90 of the total."}}
	if len(hs) > 0 {
		svg, err := LineChart(Chart{Title: "Forecast per step", X: "step (periods ahead of as_of)", Y: "units (sum of the series' means)", YMin: 0, YMax: maxOf(all.Y) * 1.25}, series)
		if err != nil {
			return Section{}, err
		}
		blocks = append(blocks, Block{Figures: []Figure{{ID: "demand-steps", Caption: "Expected units per step, in total and for the largest warehouses.", SVG: svg}}})
	}
	blocks = append(blocks, Block{Table: t})
	return Section{ID: "forecast", Title: "Forecast per step", Blocks: blocks}, nil
}
