package serve

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/datasets/local"
	"github.com/prevoir/prevoir/datasets/privacy"
	"github.com/prevoir/prevoir/datasets/privacy/privacytest"
	"github.com/prevoir/prevoir/datasets/synth"
	"github.com/prevoir/prevoir/features"
)

// TestWritersDropForgotten forgets two customers of an empty store, then
// writes rows of theirs through every writer of customer rows: a CSV
// import, a Parquet import, a datasets.Writer used directly, the generator
// (tables and latent truth) and a feature build on its history. No object
// of the store holds either id afterwards, and each writer counts what it
// dropped. The same rows written to a store without tombstones are found,
// so the search can fail.
func TestWritersDropForgotten(t *testing.T) {
	ctx := context.Background()
	newStore := func() datasets.Store {
		st, err := local.New(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	st, plain := newStore(), newStore()
	const imported, generated = "777777", "000007"
	if _, err := Forget(ctx, st, []string{imported, generated}, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}

	csvPath := filepath.Join(t.TempDir(), "orders.csv")
	os.WriteFile(csvPath, []byte("customer_id,order_id,timestamp,product_id,quantity,unit_price\n"+
		"777777,o1,2024-05-01T10:00:00Z,p1,1,9.5\n123,o2,2024-05-02T10:00:00Z,p2,2,3\n777777.0,o3,2024-06-01T10:00:00Z,p1,1,9.5\n"), 0o644)
	srcs, err := datasets.LocalSources([]string{csvPath})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []datasets.Store{st, plain} {
		res, err := datasets.Import(ctx, s, srcs, datasets.ImportOptions{Dataset: "csv"})
		if err != nil {
			t.Fatal(err)
		}
		if want := map[bool]int64{true: 2, false: 0}[s == st]; res.Suppressed != want || res.Rows != 3-want {
			t.Errorf("csv import: %d rows, %d suppressed; want %d suppressed", res.Rows, res.Suppressed, want)
		}
	}

	// The Parquet parts of the store without tombstones, imported.
	m, err := datasets.ReadManifest(ctx, plain, "csv", "orders")
	if err != nil {
		t.Fatal(err)
	}
	var parts []string
	for _, p := range m.Parts {
		parts = append(parts, filepath.Join(plain.(*local.Store).Root(), p.Key))
	}
	psrcs, err := datasets.LocalSources(parts)
	if err != nil {
		t.Fatal(err)
	}
	res, err := datasets.Import(ctx, st, psrcs, datasets.ImportOptions{Dataset: "pq"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Suppressed != 2 || res.Rows != 1 {
		t.Errorf("parquet import: %d rows, %d suppressed", res.Rows, res.Suppressed)
	}

	// A writer used directly.
	w, err := datasets.NewWriter(st, datasets.Orders, datasets.WriterOptions{Dataset: "direct"})
	if err != nil {
		t.Fatal(err)
	}
	ts := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
	if err := w.Write(ctx, []datasets.Order{{CustomerID: "1", OrderID: "a", Timestamp: ts, ProductID: "p", Quantity: 1},
		{CustomerID: imported, OrderID: "b", Timestamp: ts, ProductID: "p", Quantity: 1},
		{CustomerID: "2", OrderID: "c", Timestamp: ts, ProductID: "p", Quantity: 1}}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(ctx, datasets.CommitOptions{Operation: "test"}); err != nil {
		t.Fatal(err)
	}
	if w.Suppressed() != 1 {
		t.Errorf("writer dropped %d rows, want 1", w.Suppressed())
	}

	// The generator and a feature build on its history.
	for _, s := range []datasets.Store{st, plain} {
		gres, err := synth.Generate(ctx, s, synth.Options{Name: "gen", Customers: 300, Days: 200, Seed: 7}, synth.StoreOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if (gres.Suppressed > 0) != (s == st) {
			t.Errorf("generate: %d rows suppressed", gres.Suppressed)
		}
		if _, err := features.Build(ctx, s, features.Options{Dataset: "gen", AsOf: "2024-12-01"}); err != nil {
			t.Fatal(err)
		}
	}

	for _, id := range []string{imported, generated} {
		if keys, err := privacytest.Holding(ctx, st, id); err != nil || len(keys) != 0 {
			t.Errorf("customer %s forgotten before the writes is stored in %v (%v)", id, keys, err)
		}
		if keys, err := privacytest.Holding(ctx, plain, id); err != nil || len(keys) == 0 {
			t.Errorf("without tombstones, no object holds %s (%v): the search cannot fail", id, err)
		}
	}
	// The latent truth of the generator is kept for the other customers.
	if l, err := synth.LatentFor(ctx, st, "gen", "000008"); err != nil || l == nil {
		t.Errorf("latent truth of 000008: %v %v", l, err)
	}
}

// TestFeatureBuildDropsForgotten: a customer tombstoned while their rows
// are still in the dataset (a forget whose rewrite has not run yet) gets
// no feature row.
func TestFeatureBuildDropsForgotten(t *testing.T) {
	ctx := context.Background()
	st, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := synth.Generate(ctx, st, synth.Options{Name: "gen", Customers: 300, Days: 200, Seed: 7}, synth.StoreOptions{}); err != nil {
		t.Fatal(err)
	}
	tombstoneOnly := privacy.RewriterFunc{Name: "none",
		Func:     func(context.Context, privacy.IDs) ([]privacy.Rewrite, error) { return nil, nil },
		FindFunc: func(context.Context, privacy.IDs) ([]string, error) { return nil, nil }}
	if _, err := privacy.Forget(ctx, st, []string{"000007"}, time.Now(), tombstoneOnly); err != nil {
		t.Fatal(err)
	}
	if _, err := features.Build(ctx, st, features.Options{Dataset: "gen", AsOf: "2024-12-01"}); err != nil {
		t.Fatal(err)
	}
	keys, err := privacytest.Holding(ctx, st, "000007")
	if err != nil {
		t.Fatal(err)
	}
	inDataset := 0
	for _, k := range keys {
		if strings.HasPrefix(k, "features/") {
			t.Errorf("feature object %s holds a forgotten customer", k)
		}
		if strings.HasPrefix(k, "datasets/") {
			inDataset++
		}
	}
	if inDataset == 0 {
		t.Error("the dataset holds no row of 000007: the test proves nothing")
	}
}
