package demand_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/datasets/local"
	"github.com/prevoir/prevoir/features"
	"github.com/prevoir/prevoir/models"
	"github.com/prevoir/prevoir/models/negbin"
	"github.com/prevoir/prevoir/models/registry"
	"github.com/prevoir/prevoir/serve/demand"
	"github.com/prevoir/prevoir/serve/publish"
	"github.com/prevoir/prevoir/train"
)

func write[T any](t *testing.T, st datasets.Store, tab *datasets.Table[T], rows []T) {
	t.Helper()
	ctx := context.Background()
	w, err := datasets.NewWriter(st, tab, datasets.WriterOptions{Dataset: "d"})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ctx, rows); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(ctx, datasets.CommitOptions{Operation: "test", TZ: "UTC"}); err != nil {
		t.Fatal(err)
	}
}

// history sells 12 products in two warehouses, daily, for 2023-2024,
// each at its own weekly rate.
func history(t *testing.T, st datasets.Store) {
	r := rand.New(rand.NewPCG(9, 9))
	var orders []datasets.Order
	start := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)
	for d := 0; d < 640; d++ {
		for p := 0; p < 12; p++ {
			for _, wh := range []string{"north", "south"} {
				if r.Float64() > 0.05*float64(p+1) {
					continue
				}
				price := 2.5
				orders = append(orders, datasets.Order{CustomerID: fmt.Sprintf("C%d", r.IntN(200)), OrderID: fmt.Sprintf("O%d-%d-%s", d, p, wh),
					Timestamp: start.AddDate(0, 0, d).Add(time.Duration(r.IntN(86400)) * time.Second).UnixMicro(),
					ProductID: fmt.Sprintf("P%02d", p), Warehouse: wh, Quantity: float64(1 + r.IntN(3)), UnitPrice: &price, LineType: datasets.LineSale})
			}
		}
	}
	write(t, st, datasets.Orders, orders)
}

// TestScore: a trained model publishes both tables in one manifest: the
// forecast sorted by product, warehouse, step with p50 <= p90 and the
// asked quantile, and one plan row per series whose mean is the sum of
// its steps' and whose quantity is the service-level quantile minus the
// stock counted before as_of (a count at as_of is not seen).
func TestScore(t *testing.T) {
	ctx := context.Background()
	st, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	history(t, st)
	at := time.Date(2024, 8, 1, 0, 0, 0, 0, time.UTC)
	write(t, st, datasets.Stock, []datasets.StockLevel{
		{ProductID: "P11", Warehouse: "north", AsOf: at.AddDate(0, 0, -3).UnixMicro(), OnHand: 5},
		{ProductID: "P11", Warehouse: "north", AsOf: at.AddDate(0, 0, -1).UnixMicro(), OnHand: 7},
		{ProductID: "P11", Warehouse: "north", AsOf: at.UnixMicro(), OnHand: 1000},
		{ProductID: "P11", Warehouse: "south", AsOf: at.AddDate(0, 0, -1).UnixMicro(), OnHand: 1e6},
	})
	out, err := train.TrainDemand(ctx, st, train.DemandOptions{Features: features.Options{Dataset: "d", AsOf: "2024-07-04"}, Cutoffs: 6, Step: datasets.Span{Days: 28}})
	if err != nil {
		t.Fatal(err)
	}
	kinds := models.Kinds{negbin.Kind()}
	reg := registry.New(st, registry.Options{Kinds: kinds})
	if _, err := reg.Register(ctx, "fc", out.Card, nil); err != nil {
		t.Fatal(err)
	}
	res, err := demand.Score(ctx, st, demand.Options{Dataset: "d", Model: "fc", AsOf: "2024-08-01", Kinds: kinds, Quantiles: []float64{0.975}, ServiceLevel: 0.9})
	if err != nil {
		t.Fatal(err)
	}
	m := res.Manifest
	if res.Series != 24 || len(m.Tables) != 2 || m.Tables[0].Name != "demand" || m.Tables[1].Name != "preposition" || m.Rows != 24*4 || m.Tables[1].Rows != 24 {
		t.Fatalf("publication: %d series, tables %+v", res.Series, m.Tables)
	}
	read := func(table string) [][]string {
		var b bytes.Buffer
		if _, err := publish.Export(ctx, st, m, &b, publish.ExportOptions{Table: table}); err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(&b).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		return rows
	}
	f := func(s string) float64 { v, _ := strconv.ParseFloat(s, 64); return v }
	fc := read("demand")
	if fmt.Sprint(fc[0]) != fmt.Sprint([]string{"product_id", "warehouse", "as_of", "period_start", "step", "mean", "p50", "p90", "q97_5", "model"}) {
		t.Fatalf("header %v", fc[0])
	}
	sums := map[string]float64{}
	for i, r := range fc[1:] {
		if i > 0 {
			p := fc[i]
			if p[0] > r[0] || p[0] == r[0] && (p[1] > r[1] || p[1] == r[1] && f(p[4]) >= f(r[4])) {
				t.Fatalf("rows %v then %v: not sorted", p, r)
			}
		}
		if !(f(r[6]) <= f(r[7]) && f(r[7]) <= f(r[8])) || r[2] != "2024-08-01" {
			t.Errorf("row %v", r)
		}
		if r[4] == "2" && r[3] != "2024-08-08" {
			t.Errorf("step 2 starts %s", r[3])
		}
		sums[r[0]+"/"+r[1]] += f(r[5])
	}
	plan := read("preposition")
	if fmt.Sprint(plan[0]) != fmt.Sprint([]string{"product_id", "warehouse", "as_of", "horizon", "mean", "p50", "p90", "bestseller_rank", "stock_on_hand", "service_level", "preposition_qty"}) {
		t.Fatalf("plan header %v", plan[0])
	}
	for _, r := range plan[1:] {
		k := r[0] + "/" + r[1]
		if math.Abs(f(r[4])-sums[k]) > 1e-9*sums[k] || r[3] != "4w" || r[9] != "0.9" {
			t.Errorf("plan %v: mean, want %v", r, sums[k])
		}
		switch k {
		case "P11/north":
			if r[8] != "7" || r[7] != "1" {
				t.Errorf("P11/north: stock %s rank %s, want 7 (the last count before as_of) and 1", r[8], r[7])
			}
		case "P11/south":
			if r[10] != "0" {
				t.Errorf("P11/south: quantity %s with a million on hand", r[10])
			}
		default:
			if r[8] != "" || r[10] != r[6] {
				t.Errorf("%s: stock %q, quantity %s: want the p90 %s (service level 0.9, no stock count)", k, r[8], r[10], r[6])
			}
		}
	}
	if _, err := demand.Score(ctx, st, demand.Options{Dataset: "d", Model: "fc", AsOf: "2024-08-01", Kinds: kinds, ServiceLevel: 1.5}); err == nil {
		t.Error("service level 1.5 accepted")
	}
}
