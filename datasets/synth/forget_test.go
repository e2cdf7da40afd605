package synth

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/datasets/privacy"
)

// everyRow calls fn with the customer id of every row of every
// customer-keyed table of the dataset, read from the Parquet parts.
func everyRow(t *testing.T, st datasets.Store, ds string, fn func(table, id string)) {
	t.Helper()
	ctx := context.Background()
	scan := func(table string, read func(key string) ([]string, error)) {
		m, err := datasets.ReadManifest(ctx, st, ds, table)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range m.Parts {
			ids, err := read(p.Key)
			if err != nil {
				t.Fatal(err)
			}
			for _, id := range ids {
				fn(table, id)
			}
		}
	}
	ids := func(n int, get func(i int) string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = get(i)
		}
		return out
	}
	scan("orders", func(k string) ([]string, error) {
		r, err := datasets.ReadPart(ctx, st, datasets.Orders, k)
		return ids(len(r), func(i int) string { return r[i].CustomerID }), err
	})
	scan("events", func(k string) ([]string, error) {
		r, err := datasets.ReadPart(ctx, st, datasets.Events, k)
		return ids(len(r), func(i int) string { return r[i].CustomerID }), err
	})
	scan("customers", func(k string) ([]string, error) {
		r, err := datasets.ReadPart(ctx, st, datasets.Customers, k)
		return ids(len(r), func(i int) string { return r[i].CustomerID }), err
	})
	scan("loyalty", func(k string) ([]string, error) {
		r, err := datasets.ReadPart(ctx, st, datasets.Loyalty, k)
		return ids(len(r), func(i int) string { return r[i].CustomerID }), err
	})
	scan("consent", func(k string) ([]string, error) {
		r, err := datasets.ReadPart(ctx, st, datasets.ConsentTable, k)
		return ids(len(r), func(i int) string { return r[i].CustomerID }), err
	})
}

// After forget, no stored dataset object holds the customer's rows,
// describe counts one customer fewer, the tombstone exists, earlier
// manifests mark the deleted parts, and re-importing the customer's
// original lines (under another file name) does not bring them back.
func TestForgetGenerated(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	const ds = "f"
	if _, err := Generate(ctx, st, Options{Name: ds, Customers: 2000, Seed: 5, Days: 200}, StoreOptions{}); err != nil {
		t.Fatal(err)
	}
	before, err := datasets.Describe(ctx, st, ds)
	if err != nil {
		t.Fatal(err)
	}
	// Pick a customer with orders, events and a loyalty ledger.
	counts := map[string]map[string]int{}
	everyRow(t, st, ds, func(table, id string) {
		if counts[id] == nil {
			counts[id] = map[string]int{}
		}
		counts[id][table]++
	})
	victim := ""
	for id, c := range counts {
		if c["orders"] > 3 && c["events"] > 0 && c["loyalty"] > 0 && (victim == "" || id < victim) {
			victim = id
		}
	}
	if victim == "" {
		t.Fatal("no customer with orders, events and loyalty")
	}
	// Keep the victim's original lines as a CSV, to import again later.
	var lines []datasets.Order
	m0, _ := datasets.ReadManifest(ctx, st, ds, "orders")
	for _, p := range m0.Parts {
		rows, err := datasets.ReadPart(ctx, st, datasets.Orders, p.Key)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			if r.CustomerID == victim {
				lines = append(lines, r)
			}
		}
	}

	at := time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC)
	rewriters := []privacy.Rewriter{privacy.DatasetsRewriter(st, at)}
	rep, err := privacy.Forget(ctx, st, []string{victim}, at, rewriters...)
	if err != nil {
		t.Fatal(err)
	}
	wantRows := int64(0)
	for _, n := range counts[victim] {
		wantRows += int64(n)
	}
	if rep.Rows != wantRows+1 { // + the latent row
		t.Errorf("removed %d rows, want %d", rep.Rows, wantRows+1)
	}
	everyRow(t, st, ds, func(table, id string) {
		if id == victim {
			t.Fatalf("%s still holds %s", table, victim)
		}
	})
	if err := ReadLatentCustomers(ctx, st, ds, func(c *LatentCustomer) error {
		if c.CustomerID == victim {
			t.Fatalf("_latent still holds %s", victim)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	after, err := datasets.Describe(ctx, st, ds)
	if err != nil {
		t.Fatal(err)
	}
	if after.Customers != before.Customers-1 || after.Lines != before.Lines-int64(counts[victim]["orders"]) {
		t.Errorf("describe: %d customers, %d lines; before %d, %d", after.Customers, after.Lines, before.Customers, before.Lines)
	}
	vs, err := datasets.Validate(ctx, st, ds)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vs {
		if len(v.Problems) > 0 {
			t.Errorf("validate after forget: %+v", v)
		}
	}
	sup, err := privacy.Load(ctx, st)
	if err != nil || !sup.Forgotten(victim) {
		t.Fatalf("no tombstone for %s (%v)", victim, err)
	}
	// Every deleted part is gone, and the kept manifest marks it.
	deleted := map[string]bool{}
	for _, rw := range rep.Rewrites {
		for _, k := range rw.Deleted {
			deleted[k] = true
			if _, err := st.Stat(ctx, k); err == nil {
				t.Errorf("deleted part %s still exists", k)
			}
		}
	}
	if len(deleted) == 0 {
		t.Fatal("forget deleted no part")
	}
	kept, err := datasets.ReadManifestKey(ctx, st, datasets.HistoryKey(ds, "orders", 1))
	if err != nil {
		t.Fatal(err)
	}
	marked := 0
	for _, p := range kept.Parts {
		if deleted[p.Key] != p.RedactedByForget {
			t.Errorf("kept manifest: part %s redacted_by_forget=%v, deleted=%v", p.Key, p.RedactedByForget, deleted[p.Key])
		}
		if p.RedactedByForget {
			marked++
		}
	}
	if marked == 0 {
		t.Error("kept manifest marks no part")
	}

	// Rerunning is harmless: nothing rewritten.
	rep2, err := privacy.Forget(ctx, st, []string{victim}, at, rewriters...)
	if err != nil || len(rep2.Rewrites) != 0 || rep2.NewTombstones != 0 {
		t.Fatalf("rerun: %+v %v", rep2, err)
	}

	// Generating again with the same options recognises the generation
	// through the forgets: nothing is written, the customer stays gone.
	again, err := Generate(ctx, st, Options{Name: ds, Customers: 2000, Seed: 5, Days: 200}, StoreOptions{})
	if err != nil || !again.Reused {
		t.Fatalf("generate after forget: reused %v, err %v", again.Reused, err)
	}
	everyRow(t, st, ds, func(table, id string) {
		if id == victim {
			t.Fatalf("generate after forget brought back a %s row of %s", table, victim)
		}
	})

	// Re-importing the original lines under a new file name, with the
	// import-time filter, does not bring the customer back.
	dir := t.TempDir()
	path := filepath.Join(dir, "resent-"+victim+".csv")
	var sb strings.Builder
	sb.WriteString("customer_id,order_id,timestamp,product_id,quantity,unit_price,warehouse,category\n")
	for _, r := range lines {
		sb.WriteString(strings.Join([]string{r.CustomerID, r.OrderID, datasets.FromMicros(r.Timestamp).Format(time.RFC3339), r.ProductID,
			ftoa(r.Quantity), ftoa(*r.UnitPrice), r.Warehouse, r.Category}, ",") + "\n")
	}
	if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	srcs, err := datasets.LocalSources([]string{path})
	if err != nil {
		t.Fatal(err)
	}
	res, err := datasets.Import(ctx, st, srcs, datasets.ImportOptions{Dataset: ds, Table: "orders"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Suppressed != int64(len(lines)) || res.Rows != 0 {
		t.Errorf("re-import: %d rows, %d suppressed; want 0, %d", res.Rows, res.Suppressed, len(lines))
	}
	everyRow(t, st, ds, func(table, id string) {
		if id == victim {
			t.Fatalf("re-import brought %s back into %s", victim, table)
		}
	})

}

func ftoa(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
