package report

import (
	"context"
	"strings"
	"testing"

	"github.com/prevoir/prevoir/datasets/local"
	"github.com/prevoir/prevoir/serve/publish"
)

// passThrough is a publish.Scorer whose input rows are its output rows:
// the first value of a row is the index of its table.
type passThrough []publish.TableSpec

func (p passThrough) Tables() []publish.TableSpec { return p }
func (p passThrough) Score(_ context.Context, in [][]any, emit func(int, []any) error) error {
	for _, r := range in {
		if err := emit(r[0].(int), r[1:]); err != nil {
			return err
		}
	}
	return nil
}

// publishRows publishes hand-built rows as a task's publication, as the
// task's scorer would.
func publishRows(t *testing.T, st *local.Store, task, asOf string, specs []publish.TableSpec, rows [][]any) {
	t.Helper()
	src := func(ctx context.Context, fn func([]any) error) error {
		for _, r := range rows {
			if err := fn(r); err != nil {
				return err
			}
		}
		return nil
	}
	if _, err := publish.Publish(context.Background(), st, publish.Options{Dataset: "demo", Task: task, AsOf: asOf,
		Lineage: publish.Lineage{Params: map[string]any{"service_level": 0.95}}}, src, passThrough(specs)); err != nil {
		t.Fatal(err)
	}
}

func cols(spec string) []publish.Column {
	var out []publish.Column
	for _, f := range strings.Fields(spec) {
		name, typ, _ := strings.Cut(f, ":")
		out = append(out, publish.Column{Name: name, Type: typ})
	}
	return out
}

// TestDemandScoresReport: a demand publication of two tables, as
// [demand] specifies them, gives the plan per warehouse summed from the
// preposition rows (against the previous publication) and the forecast
// per step.
func TestDemandScoresReport(t *testing.T) {
	st, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	specs := []publish.TableSpec{
		{Name: "demand", Columns: cols("product_id:string warehouse:string as_of:string period_start:string step:int64 mean:double p50:double p90:double model:string"), SortBy: "product_id", ThenBy: []string{"warehouse", "step"}},
		{Name: "preposition", Columns: cols("product_id:string warehouse:string as_of:string horizon:string mean:double p50:double p90:double bestseller_rank:int64 stock_on_hand:double service_level:double preposition_qty:double"), SortBy: "product_id", ThenBy: []string{"warehouse"}},
	}
	plan := func(asOf string, scale float64) [][]any {
		var rows [][]any
		for _, x := range []struct {
			p, w        string
			mean, stock float64
			rank        int64
		}{{"A", "north", 100, 20, 1}, {"B", "north", 40, 50, 2}, {"A", "south", 60, 0, 1}} {
			for h := int64(1); h <= 4; h++ {
				rows = append(rows, []any{0, x.p, x.w, asOf, "w" + string(rune('0'+h)), h, scale * x.mean / 4, scale * x.mean / 4, scale * x.mean / 3, "demand@1"})
			}
			q := max(0, scale*x.mean*1.3-x.stock)
			rows = append(rows, []any{1, x.p, x.w, asOf, "4w", scale * x.mean, scale * x.mean, scale * x.mean * 1.25, x.rank, x.stock, 0.95, q})
		}
		return rows
	}
	publishRows(t, st, "demand", "2025-01-01", specs, plan("2025-01-01", 1))
	publishRows(t, st, "demand", "2025-01-08", specs, plan("2025-01-08", 1.5))
	d, err := ScoresReport(context.Background(), st, ScoresOptions{Dataset: "demo", Task: "demand"})
	if err != nil {
		t.Fatal(err)
	}
	page := render(t, d)
	// north: A 1.5*100*1.3-20 = 175, B 1.5*40*1.3-50 = 28: 203; the
	// previous plan had 110 + 2 = 112. south: 117, previously 78.
	for _, want := range []string{`id="preposition"`, `id="preposition-chart"`, `id="preposition-top"`, `id="forecast"`, `id="demand-steps"`,
		`<td>north</td><td class="num">2</td><td class="num">210</td>`, `<td class="num">203</td><td class="num">95%</td><td class="num">112</td><td class="num">&#43;91.0</td>`,
		`<td>south</td><td class="num">1</td><td class="num">90</td>`, `<td class="num">117</td><td class="num">95%</td><td class="num">78</td><td class="num">&#43;39.0</td>`,
		// step 1: (100 + 40 + 60) * 1.5 / 4 = 75 over 3 series.
		`<td class="num">1</td><td>w1</td><td class="num">3</td><td class="num">75</td>`,
		"Compared with the previous publication, as of 2025-01-01"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page has no %s", want)
		}
	}
}

// TestOffersScoresReport: an offers publication (task propensity, table
// offers, the columns [offers] specifies) gives the most offered items,
// probability by rank, and first offers changed since the previous one.
func TestOffersScoresReport(t *testing.T) {
	st, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	specs := []publish.TableSpec{{Name: "offers", Columns: cols("customer_id:string as_of:string rank:int64 item:string level:string probability:double model:string"),
		SortBy: "customer_id", ThenBy: []string{"rank"}, Customer: "customer_id"}}
	offers := func(asOf string, first map[string]string) [][]any {
		var rows [][]any
		for _, c := range []string{"c1", "c2", "c3"} {
			if first[c] == "" {
				continue
			}
			rows = append(rows, []any{0, c, asOf, int64(1), first[c], "category", 0.5, "offers@1"}, []any{0, c, asOf, int64(2), "tea", "category", 0.2, "offers@1"})
		}
		return rows
	}
	publishRows(t, st, "propensity", "2025-01-01", specs, offers("2025-01-01", map[string]string{"c1": "milk", "c2": "bread", "c3": "milk"}))
	publishRows(t, st, "propensity", "2025-02-01", specs, offers("2025-02-01", map[string]string{"c1": "milk", "c2": "jam"}))
	d, err := ScoresReport(context.Background(), st, ScoresOptions{Dataset: "demo", Task: "propensity", Top: 5})
	if err != nil {
		t.Fatal(err)
	}
	page := render(t, d)
	for _, want := range []string{`id="offers"`, `id="offers-items"`, `id="offers-ranks"`, `id="offers-top"`, `id="offers-changes"`,
		// tea is offered to both customers, second.
		`<td>tea</td><td>category</td><td class="num">2</td><td class="num">100.0%</td><td class="num">0</td><td class="num">20.0%</td>`,
		`<td class="num">1</td><td class="num">2</td><td class="num">50.0%</td>`,
		// c2's first offer changed (bread to jam), c1's did not; c3 has none now.
		"<dd>50.0% of 2</dd>", "<dt>No longer offered anything</dt><dd>1</dd>", "Entered the most offered: jam. Left it: bread."} {
		if !strings.Contains(page, want) {
			t.Errorf("the page has no %s", want)
		}
	}
}

// TestChurnScoresReport: a churn publication's top rows are the highest
// probabilities (ties by customer) with their reasons, kept while
// streaming; bands are counted against the previous publication.
func TestChurnScoresReport(t *testing.T) {
	st, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	specs := []publish.TableSpec{{Name: "churn", Columns: cols("customer_id:string as_of:string probability:double band:string model:string reason_1:string reason_2:string reason_3:string"),
		SortBy: "customer_id", Customer: "customer_id"}}
	rows := func(asOf string, ps map[string]float64) [][]any {
		var out [][]any
		for id, p := range ps {
			band := "low"
			if p >= 0.7 {
				band = "high"
			} else if p >= 0.4 {
				band = "medium"
			}
			out = append(out, []any{0, id, asOf, p, band, "churn@1", "why " + id, "", ""})
		}
		return out
	}
	publishRows(t, st, "churn", "2025-01-01", specs, rows("2025-01-01", map[string]float64{"a": 0.9, "b": 0.5, "c": 0.1}))
	publishRows(t, st, "churn", "2025-02-01", specs, rows("2025-02-01", map[string]float64{"a": 0.8, "b": 0.95, "c": 0.2, "d": 0.95, "e": 0.3}))
	d, err := ScoresReport(context.Background(), st, ScoresOptions{Dataset: "demo", Task: "churn", Top: 2})
	if err != nil {
		t.Fatal(err)
	}
	page := render(t, d)
	for _, want := range []string{
		`<td class="num">1</td><td>b</td><td class="num">95.0%</td><td>high</td><td>why b</td>`,
		`<td class="num">2</td><td>d</td><td class="num">95.0%</td><td>high</td><td>why d</td>`,
		"The 2 customers most likely to churn",
		// high: a, b, d now (1 before); low: c, e (1 before).
		`<td>high</td><td class="num">3</td><td class="num">60.0%</td><td class="num">1</td><td class="num">33.3%</td><td class="num">&#43;2</td>`,
		`<dt>Entered the high band</dt><dd>2</dd>`, `<dt>New customers</dt><dd>2</dd>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page has no %s", want)
		}
	}
	if strings.Contains(page, "why a") {
		t.Error("a row outside the top kept its reasons on the page")
	}
}
