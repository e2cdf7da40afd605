package segments_test

import (
	"context"
	"math"
	"path/filepath"
	"sort"
	"testing"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/datasets/datatest"
	"github.com/prevoir/prevoir/datasets/local"
	"github.com/prevoir/prevoir/datasets/synth"
	"github.com/prevoir/prevoir/features"
	"github.com/prevoir/prevoir/models"
	"github.com/prevoir/prevoir/models/btyd"
	"github.com/prevoir/prevoir/models/logistic"
	"github.com/prevoir/prevoir/models/registry"
	"github.com/prevoir/prevoir/serve/publish"
	"github.com/prevoir/prevoir/serve/segments"
)

var kinds = models.Kinds{logistic.Kind(), btyd.Kind()}

// table is docs/FEATURES.md's segment table, row r = 5..1, column f = 1..5.
var table = [5][5]string{
	{"new", "promising", "promising", "champions", "champions"},
	{"new", "promising", "promising", "loyal", "loyal"},
	{"needs attention", "needs attention", "needs attention", "loyal", "loyal"},
	{"hibernating", "hibernating", "at risk", "at risk", "cannot lose"},
	{"lost", "lost", "at risk", "at risk", "cannot lose"},
}

func TestSegmentTable(t *testing.T) {
	for r := 1; r <= 5; r++ {
		for f := 1; f <= 5; f++ {
			if got, want := segments.Segment(r, f), table[5-r][f-1]; got != want {
				t.Errorf("Segment(%d, %d) = %q, want %q", r, f, got, want)
			}
		}
	}
}

// TestQuintiles: without ties, five groups of n/5; equal values share a
// score, the one of the first of them in order (1 + floor(5 L / n)).
func TestQuintiles(t *testing.T) {
	vals := make([]float64, 100)
	for i := range vals {
		vals[i] = float64((i * 37) % 100)
	}
	counts := map[int]int{}
	for i, q := range segments.Quintiles(vals, false) {
		counts[q]++
		if want := 1 + int(vals[i])/20; q != want {
			t.Errorf("value %v: score %d, want %d", vals[i], q, want)
		}
	}
	for q := 1; q <= 5; q++ {
		if counts[q] != 20 {
			t.Errorf("score %d: %d values", q, counts[q])
		}
	}
	ties := []float64{1, 1, 1, 1, 1, 1, 2, 3, 4, 5}
	got := segments.Quintiles(ties, false)
	want := []int{1, 1, 1, 1, 1, 1, 4, 4, 5, 5}
	rev := segments.Quintiles(ties, true)
	wantRev := []int{3, 3, 3, 3, 3, 3, 2, 2, 1, 1}
	for i := range ties {
		if got[i] != want[i] || rev[i] != wantRev[i] {
			t.Fatalf("ties: %v, reversed %v", got, rev)
		}
	}
}

// registerCLV registers a bgnbd-gg model in days as clv@champion.
func registerCLV(t *testing.T, st datasets.Store, dataset string) {
	t.Helper()
	p := btyd.Params{Variant: btyd.BGNBD, R: 0.5, Alpha: 30, A: 0.8, B: 2.5, P: 3, Q: 4, V: 30}
	card := btyd.NewCard(p, features.CLVDays)
	card.Lineage = &models.Lineage{Dataset: dataset}
	reg := registry.New(st, registry.Options{Kinds: kinds})
	ctx := context.Background()
	c, err := reg.Register(ctx, "clv", card, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Promote(ctx, "clv", c.Version, "champion"); err != nil {
		t.Fatal(err)
	}
}

// registerChurn registers a logistic churn model (recency raises the
// probability) as churn@champion.
func registerChurn(t *testing.T, st datasets.Store, inputs features.Schema) {
	t.Helper()
	intercept := -1.0
	card := &models.Card{Kind: models.KindLogistic, Task: "churn", Output: logistic.Output, Link: logistic.Link, Inputs: inputs,
		Intercept: &intercept, Coefficients: map[string]float64{},
		Preprocessing: &models.Preprocessing{Mean: map[string]float64{}, Scale: map[string]float64{}, Impute: map[string]float64{}}}
	for _, f := range inputs.Features {
		card.Coefficients[f.Name], card.Preprocessing.Impute[f.Name] = 0, 0
	}
	card.Coefficients["recency_days"] = 1
	card.Preprocessing.Mean["recency_days"], card.Preprocessing.Scale["recency_days"] = 90, 60
	reg := registry.New(st, registry.Options{Kinds: kinds})
	ctx := context.Background()
	c, err := reg.Register(ctx, "churn", card, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Promote(ctx, "churn", c.Version, "champion"); err != nil {
		t.Fatal(err)
	}
}

type segRow struct {
	id              string
	r, f, m         int64
	segment, tier   string
	risk, cell, rfm string
	spend           float64
	clv             any
}

func readRows(t *testing.T, st datasets.Store, m *publish.Manifest) []segRow {
	t.Helper()
	var out []segRow
	err := publish.Rows(context.Background(), st, m, segments.Table, func(r []any) error {
		out = append(out, segRow{id: r[0].(string), r: r[2].(int64), f: r[3].(int64), m: r[4].(int64), rfm: r[5].(string), segment: r[6].(string),
			tier: r[7].(string), risk: r[8].(string), cell: r[9].(string), spend: r[10].(float64), clv: r[11]})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// checkSegments checks the published rows against the churn feature
// table as of the date: one row per customer, the scores by the quintile
// rule, mean recency falling as r rises, segments by the table, cells.
func checkSegments(t *testing.T, st datasets.Store, m *publish.Manifest) []segRow {
	t.Helper()
	ctx := context.Background()
	fr, err := features.Build(ctx, st, features.Options{Dataset: m.Dataset, AsOf: m.AsOf})
	if err != nil {
		t.Fatal(err)
	}
	frame, err := features.ReadFrame(ctx, st, fr.Manifest)
	if err != nil {
		t.Fatal(err)
	}
	rows := readRows(t, st, m)
	if len(rows) != len(frame.IDs) || len(rows) == 0 {
		t.Fatalf("%d rows, %d customers with a purchase in the lookback", len(rows), len(frame.IDs))
	}
	rec := frame.Values[frame.Schema.Index("recency_days")]
	ord := frame.Values[frame.Schema.Index("orders_365d")]
	// The quintile rule, counted directly: 1 + floor(5 L / n).
	score := func(vals []float64, i int, reverse bool) int64 {
		l := 0
		for _, v := range vals {
			if !reverse && v < vals[i] || reverse && v > vals[i] {
				l++
			}
		}
		return int64(1 + 5*l/len(vals))
	}
	recSum, recN := map[int64]float64{}, map[int64]float64{}
	for i, r := range rows {
		if r.id != frame.IDs[i] {
			t.Fatalf("row %d: %s, want %s", i, r.id, frame.IDs[i])
		}
		if i%7 == 0 { // the direct count is quadratic: a sample
			if r.r != score(rec, i, true) || r.f != score(ord, i, false) {
				t.Errorf("%s: r %d f %d, want %d %d", r.id, r.r, r.f, score(rec, i, true), score(ord, i, false))
			}
		}
		if want := table[5-r.r][r.f-1]; r.segment != want {
			t.Errorf("%s: r %d f %d: segment %q, want %q", r.id, r.r, r.f, r.segment, want)
		}
		if r.cell != r.tier+"-value/"+r.risk+"-risk" || r.rfm != string(rune('0'+r.r))+string(rune('0'+r.f))+string(rune('0'+r.m)) {
			t.Errorf("%s: cell %q rfm %q", r.id, r.cell, r.rfm)
		}
		recSum[r.r] += rec[i]
		recN[r.r]++
	}
	prev := math.Inf(1)
	for q := int64(1); q <= 5; q++ {
		if recN[q] == 0 {
			continue
		}
		mean := recSum[q] / recN[q]
		if !(mean < prev) {
			t.Errorf("mean recency %v at r=%d, %v below", mean, q, prev)
		}
		prev = mean
	}
	return rows
}

// TestScoreGenerated: with a clv model only, values come from CLV and risk
// from p_alive; once a churn champion exists, risk comes from the churn
// publication it scores; Summarize counts every customer.
func TestScoreGenerated(t *testing.T) {
	st, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := synth.Generate(ctx, st, synth.Options{Name: "demo", Customers: 500, Days: 400, Seed: 9}, synth.StoreOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := segments.Score(ctx, st, segments.Options{Dataset: "demo", Kinds: kinds}); err == nil {
		t.Error("segments without any churn or clv model")
	}
	registerCLV(t, st, "demo")
	res, err := segments.Score(ctx, st, segments.Options{Dataset: "demo", Kinds: kinds})
	if err != nil {
		t.Fatal(err)
	}
	if res.ValueBy != "clv of clv@1" || res.RiskBy[:11] != "1 - p_alive" {
		t.Errorf("value by %q, risk by %q", res.ValueBy, res.RiskBy)
	}
	rows := checkSegments(t, st, res.Manifest)
	for _, r := range rows {
		if _, ok := r.clv.(float64); !ok {
			t.Fatalf("%s: clv %v", r.id, r.clv)
		}
	}
	fr, err := features.Build(ctx, st, features.Options{Dataset: "demo", AsOf: res.Manifest.AsOf})
	if err != nil {
		t.Fatal(err)
	}
	registerChurn(t, st, fr.Manifest.FeatureSchema())
	res, err = segments.Score(ctx, st, segments.Options{Dataset: "demo", AsOf: res.Manifest.AsOf, Kinds: kinds})
	if err != nil {
		t.Fatal(err)
	}
	if res.RiskBy != "churn probability of churn@1" {
		t.Errorf("risk by %q", res.RiskBy)
	}
	rows = checkSegments(t, st, res.Manifest)
	risks := map[string]int{}
	for _, r := range rows {
		risks[r.risk]++
	}
	sum, err := segments.Summarize(ctx, st, res.Manifest)
	if err != nil {
		t.Fatal(err)
	}
	n := int64(0)
	for _, g := range sum.Segments {
		n += g.Customers
		if g.MeanCLV == nil || !(g.MeanSpend > 0) {
			t.Errorf("group %+v", g)
		}
	}
	if n != int64(len(rows)) || len(sum.Cells) < 3 || len(risks) < 2 {
		t.Errorf("%d customers in the segments, %d rows; cells %d; risks %v", n, len(rows), len(sum.Cells), risks)
	}
}

// TestOnlineRetail: segments of Online Retail as of 2011-09-01, valued by
// a clv model in days: the 3,314 customers with a sale in the year before,
// scores by the quintile rule, monetary groups near-equal (spend has few
// ties), mean recency falling as r rises, segments by the table.
func TestOnlineRetail(t *testing.T) {
	dir := datatest.Shared(t, "online_retail/by-day")
	files, err := filepath.Glob(filepath.Join(dir, "*.csv"))
	if err != nil || len(files) == 0 {
		t.Fatalf("%d files, %v", len(files), err)
	}
	sort.Strings(files)
	st, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	srcs, err := datasets.LocalSources(files)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{"customer_id": "CustomerID", "order_id": "InvoiceNo", "timestamp": "InvoiceDate", "product_id": "StockCode",
		"quantity": "Quantity", "unit_price": "UnitPrice", "warehouse": "Country"}
	if _, err := datasets.Import(ctx, st, srcs, datasets.ImportOptions{Dataset: "retail", Map: m, TZ: "Europe/London", Currency: "GBP"}); err != nil {
		t.Fatal(err)
	}
	registerCLV(t, st, "retail")
	res, err := segments.Score(ctx, st, segments.Options{Dataset: "retail", AsOf: "2011-09-01", Kinds: kinds})
	if err != nil {
		t.Fatal(err)
	}
	rows := checkSegments(t, st, res.Manifest)
	if len(rows) != 3314 {
		t.Errorf("%d rows, want 3314", len(rows))
	}
	counts := map[int64]int{}
	segs := map[string]int{}
	for _, r := range rows {
		counts[r.m]++
		segs[r.segment]++
	}
	for q := int64(1); q <= 5; q++ {
		if d := counts[q] - len(rows)/5; d < -5 || d > 5 {
			t.Errorf("m=%d: %d customers of %d", q, counts[q], len(rows))
		}
	}
	t.Logf("segments: %v", segs)
}
