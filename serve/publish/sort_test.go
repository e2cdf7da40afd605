package publish

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/prevoir/prevoir/datasets/local"
)

// writeTable writes rows through a tableWriter into a new store and reads
// the table back; it returns the rows, the table and the store's parts.
func writeTable(t *testing.T, spec TableSpec, partRows int, rows [][]any) ([][]any, Table, []string) {
	t.Helper()
	ctx := context.Background()
	st, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	o := Options{Dataset: "d", Task: "toy", AsOf: "2024-05-01", PartRows: partRows}
	if err := o.defaults(); err != nil {
		t.Fatal(err)
	}
	w := newTableWriter(ctx, st, o, "run", spec)
	for _, r := range rows {
		if err := w.add(slices.Clone(r)); err != nil {
			t.Fatal(err)
		}
	}
	tab, err := w.close()
	if err != nil {
		t.Fatal(err)
	}
	var got [][]any
	for _, p := range tab.Parts {
		if p.Rows > int64(partRows) {
			t.Errorf("part %s has %d rows, more than %d", p.Key, p.Rows, partRows)
		}
		err := readPart(ctx, st, o.Format, spec.Columns, p, func(r []any) error { got = append(got, slices.Clone(r)); return nil })
		if err != nil {
			t.Fatal(err)
		}
	}
	objs, err := st.List(ctx, "scores/")
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range objs {
		keys = append(keys, o.Key)
	}
	return got, tab, keys
}

// TestSortThenBy: rows sort by SortBy, then by each ThenBy column by its
// type (a step 10 after a step 2, not before as text would).
func TestSortThenBy(t *testing.T) {
	spec := TableSpec{Name: "demand", SortBy: "product_id", ThenBy: []string{"warehouse", "step"}, Columns: []Column{
		{Name: "product_id", Type: TypeString}, {Name: "warehouse", Type: TypeString}, {Name: "step", Type: TypeInt64}}}
	if err := checkSpecs([]TableSpec{spec}); err != nil {
		t.Fatal(err)
	}
	rows := [][]any{{"b", "x", int64(1)}, {"a", "y", int64(10)}, {"a", "y", int64(2)}, {"a", "x", int64(3)}, {"b", nil, int64(1)}}
	want := [][]any{{"a", "x", int64(3)}, {"a", "y", int64(2)}, {"a", "y", int64(10)}, {"b", nil, int64(1)}, {"b", "x", int64(1)}}
	for _, partRows := range []int{100, 2, 1} {
		got, _, _ := writeTable(t, spec, partRows, rows)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("parts of %d rows: sorted = %v, want %v", partRows, got, want)
		}
	}
	bad := spec
	bad.ThenBy = []string{"nope"}
	if err := checkSpecs([]TableSpec{bad}); err == nil {
		t.Error("a ThenBy naming no column was accepted")
	}
}

// TestSpillMerge: a table larger than a part, given in any order, comes
// out as a stable sort of its rows in full parts, and the sorted runs it
// spilled are removed; given in order, its runs are its parts, nothing
// rewritten.
func TestSpillMerge(t *testing.T) {
	spec := TableSpec{Name: "offers", SortBy: "customer_id", ThenBy: []string{"rank"}, Columns: []Column{
		{Name: "customer_id", Type: TypeString}, {Name: "rank", Type: TypeInt64}, {Name: "seq", Type: TypeInt64}}}
	r := rand.New(rand.NewPCG(1, 2))
	var rows [][]any
	for i := range 1000 {
		// Few distinct keys: equal keys must keep their input order (seq).
		rows = append(rows, []any{fmt.Sprintf("c%02d", r.IntN(40)), int64(r.IntN(3)), int64(i)})
	}
	want := slices.Clone(rows)
	slices.SortStableFunc(want, func(a, b []any) int {
		if c := compareValues(a[0], b[0]); c != 0 {
			return c
		}
		return compareValues(a[1], b[1])
	})
	got, tab, keys := writeTable(t, spec, 64, rows)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("merged rows differ from a stable sort of the input")
	}
	if tab.Rows != 1000 || len(tab.Parts) != 16 {
		t.Errorf("table: %d rows in %d parts, want 1000 in 16", tab.Rows, len(tab.Parts))
	}
	if len(keys) != len(tab.Parts) {
		t.Errorf("store holds %d parts, the table lists %d: spilled runs left behind", len(keys), len(tab.Parts))
	}

	got, tab, keys = writeTable(t, spec, 64, want)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("rows given in order came out changed")
	}
	for i, p := range tab.Parts {
		if want := fmt.Sprintf("scores/d/toy/2024-05-01/offers/part-run-%05d.parquet", i); p.Key != want {
			t.Errorf("in order, part %d is %s, want the run %s (no merge)", i, p.Key, want)
		}
	}
	if len(keys) != 16 {
		t.Errorf("in order: %d objects, want 16", len(keys))
	}

	empty, tab, _ := writeTable(t, spec, 64, nil)
	if len(empty) != 0 || len(tab.Parts) != 1 || tab.Rows != 0 {
		t.Errorf("empty table: %d rows in %d parts, want one empty part", len(empty), len(tab.Parts))
	}
}
