package clv_test

import (
	"context"
	"fmt"
	"math"
	"testing"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/datasets/local"
	"github.com/prevoir/prevoir/datasets/synth"
	"github.com/prevoir/prevoir/features"
	"github.com/prevoir/prevoir/models"
	"github.com/prevoir/prevoir/models/btyd"
	"github.com/prevoir/prevoir/models/logistic"
	"github.com/prevoir/prevoir/models/registry"
	"github.com/prevoir/prevoir/serve/clv"
	"github.com/prevoir/prevoir/serve/publish"
)

// params are plausible daily parameters for the generator (the fit is
// train's business; here only the scoring and publishing are tested).
var params = btyd.Params{Variant: btyd.MBGNBD, R: 0.9, Alpha: 30, A: 1.2, B: 2.8, P: 3, Q: 4, V: 30}

func setup(t *testing.T) (datasets.Store, models.Kinds) {
	t.Helper()
	st, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := synth.Generate(ctx, st, synth.Options{Name: "demo", Customers: 400, Days: 300, Seed: 5}, synth.StoreOptions{}); err != nil {
		t.Fatal(err)
	}
	kinds := models.Kinds{logistic.Kind(), btyd.Kind()}
	card := btyd.NewCard(params, features.CLVDays)
	card.Lineage = &models.Lineage{Dataset: "demo"}
	if _, err := registry.New(st, registry.Options{Kinds: kinds}).Register(ctx, "value", card, nil); err != nil {
		t.Fatal(err)
	}
	return st, kinds
}

// TestScore: one row per customer of the clv feature table; each value
// is the model's for the customer's summary; basis follows the rule
// (insufficient under the minimum age, else repeat for x > 0, else
// single); with no discounting the CLV is value x expected purchases.
func TestScore(t *testing.T) {
	st, kinds := setup(t)
	ctx := context.Background()
	res, err := clv.Score(ctx, st, clv.Options{Dataset: "demo", Model: "value@1", Kinds: kinds, Horizon: btyd.Horizon{Days: 90}, Discount: 0.01})
	if err != nil {
		t.Fatal(err)
	}
	fr, err := features.ReadFrame(ctx, st, res.Features)
	if err != nil {
		t.Fatal(err)
	}
	if res.Manifest.Rows != int64(len(fr.IDs)) || len(fr.IDs) < 300 {
		t.Fatalf("%d rows published, %d in the feature table", res.Manifest.Rows, len(fr.IDs))
	}
	m, err := publish.Resolve(ctx, st, "demo", clv.Task, "latest")
	if err != nil {
		t.Fatal(err)
	}
	i, bases := 0, map[string]int{}
	err = rows(t, st, m, func(row map[string]any) error {
		if row["customer_id"] != fr.IDs[i] {
			t.Fatalf("row %d: %v, want %s", i, row["customer_id"], fr.IDs[i])
		}
		s := btyd.Summary{X: fr.Values[0][i], Tx: fr.Values[1][i], T: fr.Values[2][i]}
		mv := fr.Values[3][i]
		if !fr.Valid[3][i] {
			mv = math.NaN()
		}
		v := params.ExpectedValue(s.X, mv)
		e := params.ConditionalExpected(90, s)
		want := map[string]any{"p_alive": params.PAlive(s), "expected_purchases_90d": e, "expected_value": v, "model": "value@1"}
		for k, w := range want {
			if f, ok := w.(float64); ok {
				if g := row[k].(float64); math.Abs(g-f) > 1e-12*math.Abs(f) {
					t.Errorf("%s: %s = %v, want %v", fr.IDs[i], k, g, f)
				}
				continue
			}
			if row[k] != w {
				t.Errorf("%s: %s = %v, want %v", fr.IDs[i], k, row[k], w)
			}
		}
		if c := row["clv_90d"].(float64); !(c > 0 && c < v*e) {
			t.Errorf("%s: discounted clv %v, undiscounted %v", fr.IDs[i], c, v*e)
		}
		basis := clv.BasisSingle
		switch {
		case s.T < 30:
			basis = clv.BasisInsufficient
		case s.X > 0:
			basis = clv.BasisRepeat
		}
		if row["basis"] != basis {
			t.Errorf("%s: basis %v, want %s (%+v)", fr.IDs[i], row["basis"], basis, s)
		}
		bases[basis]++
		i++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(bases) != 3 {
		t.Errorf("bases %v: want all three", bases)
	}
	// No discounting: CLV = expected value x expected purchases.
	if _, err := clv.Score(ctx, st, clv.Options{Dataset: "demo", Model: "value@1", Kinds: kinds, Discount: 0}); err != nil {
		t.Fatal(err)
	}
	m, _ = publish.Resolve(ctx, st, "demo", clv.Task, "latest")
	err = rows(t, st, m, func(row map[string]any) error {
		c, v, e := row["clv_12m"].(float64), row["expected_value"].(float64), row["expected_purchases_12m"].(float64)
		if math.Abs(c-v*e) > 1e-9*v*e {
			t.Errorf("%v: clv %v, value x purchases %v", row["customer_id"], c, v*e)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []clv.Options{{Discount: -0.1}, {Horizon: btyd.Horizon{Months: 1, Days: 3}}, {Model: "nope@1"}} {
		bad.Dataset, bad.Kinds = "demo", kinds
		if bad.Model == "" {
			bad.Model = "value@1"
		}
		if _, err := clv.Score(ctx, st, bad); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

// rows reads the clv table's rows by column name.
func rows(t *testing.T, st datasets.Store, m *publish.Manifest, fn func(map[string]any) error) error {
	tab, err := m.Table(clv.Table)
	if err != nil {
		t.Fatal(err)
	}
	return publish.Rows(context.Background(), st, m, clv.Table, func(r []any) error {
		row := map[string]any{}
		for i, c := range tab.Columns {
			row[c.Name] = r[i]
		}
		return fn(row)
	})
}

// TestScoreShards: two shards, committed, publish the rows of the
// unsharded run.
func TestScoreShards(t *testing.T) {
	st, kinds := setup(t)
	ctx := context.Background()
	o := clv.Options{Dataset: "demo", Model: "value@1", Kinds: kinds, Discount: 0.01}
	whole, err := clv.Score(ctx, st, o)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	if err := rows(t, st, whole.Manifest, func(r map[string]any) error {
		want[r["customer_id"].(string)] = fmt.Sprint(r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	o.Shards = 2
	for i := 0; i < 2; i++ {
		o.Shard = i
		if _, err := clv.Score(ctx, st, o); err != nil {
			t.Fatal(err)
		}
	}
	m, err := publish.Commit(ctx, st, "demo", clv.Task, whole.Manifest.AsOf, 2, publish.CommitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	if err := rows(t, st, m, func(r map[string]any) error {
		if id := r["customer_id"].(string); want[id] != fmt.Sprint(r) {
			t.Errorf("%s: sharded %v, whole %s", id, r, want[id])
		}
		n++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n != len(want) {
		t.Errorf("%d sharded rows, %d whole", n, len(want))
	}
}
