package serve

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/datasets/local"
	"github.com/prevoir/prevoir/datasets/privacy"
	"github.com/prevoir/prevoir/datasets/synth"
	"github.com/prevoir/prevoir/features"
)

// TestForgetEveryLayer forgets one customer of a generated history that
// has a churn feature table: afterwards no dataset row, latent row or
// feature row holds the id, the tombstone exists, and a rerun is harmless.
func TestForgetEveryLayer(t *testing.T) {
	ctx := context.Background()
	st, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := synth.Generate(ctx, st, synth.Options{Name: "demo", Customers: 300, Days: 200, Seed: 7}, synth.StoreOptions{}); err != nil {
		t.Fatal(err)
	}
	res, err := features.Build(ctx, st, features.Options{Dataset: "demo", AsOf: "2024-12-01"})
	if err != nil {
		t.Fatal(err)
	}
	// Pick a customer the feature table holds.
	var victim string
	idCol := -1
	for i, c := range res.Manifest.Schema {
		if c.Name == "customer_id" {
			idCol = i
		}
	}
	if idCol < 0 {
		t.Fatalf("no customer_id column in %v", res.Manifest.Schema)
	}
	before := 0
	if err := features.Rows(ctx, st, res.Manifest, func(row []any) error {
		before++
		if victim == "" {
			victim = fmt.Sprint(row[idCol])
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if victim == "" {
		t.Fatal("empty feature table")
	}

	now := time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC)
	rep, err := Forget(ctx, st, []string{victim}, now)
	if err != nil {
		t.Fatal(err)
	}
	layers := map[string]bool{}
	for _, r := range rep.Rewrites {
		layers[r.Layer] = true
	}
	if !layers["features"] {
		t.Errorf("forget did not rewrite the feature table: %+v", rep.Rewrites)
	}

	// No feature row holds the id; every other row is still there.
	m, err := features.Latest(ctx, st, "demo", features.TaskChurn, "2024-12-01", "")
	if err != nil {
		t.Fatal(err)
	}
	after := 0
	if err := features.Rows(ctx, st, m, func(row []any) error {
		after++
		if fmt.Sprint(row[idCol]) == victim {
			t.Errorf("feature row of %s survived forget", victim)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if after != before-1 {
		t.Errorf("feature rows %d -> %d, want one fewer", before, after)
	}

	// No order row holds the id.
	om, err := datasets.ReadManifest(ctx, st, "demo", "orders")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range om.Parts {
		rows, err := datasets.ReadPart(ctx, st, datasets.Orders, p.Key)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			if r.CustomerID == victim {
				t.Fatalf("order row of %s survived forget in %s", victim, p.Key)
			}
		}
	}

	sup, err := privacy.Load(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	if !sup.Forgotten(victim) {
		t.Error("no tombstone for the forgotten customer")
	}

	// A rerun changes nothing.
	objsBefore, _ := st.List(ctx, "")
	if _, err := Forget(ctx, st, []string{victim}, now); err != nil {
		t.Fatal(err)
	}
	objsAfter, _ := st.List(ctx, "")
	if len(objsBefore) != len(objsAfter) {
		t.Errorf("rerun changed the store: %d -> %d objects", len(objsBefore), len(objsAfter))
	}
	for i := range objsBefore {
		if i < len(objsAfter) && objsBefore[i].Key != objsAfter[i].Key && !strings.HasPrefix(objsBefore[i].Key, "suppressions/") {
			t.Errorf("rerun changed %s", objsBefore[i].Key)
		}
	}
}
