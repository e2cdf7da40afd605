package publish

import (
	"reflect"
	"testing"
)

// TestSortThenBy: rows sort by SortBy, then by each ThenBy column by its
// type (a step 10 after a step 2, not before as text would).
func TestSortThenBy(t *testing.T) {
	spec := TableSpec{Name: "demand", SortBy: "product_id", ThenBy: []string{"warehouse", "step"}, Columns: []Column{
		{Name: "product_id", Type: TypeString}, {Name: "warehouse", Type: TypeString}, {Name: "step", Type: TypeInt64}}}
	if err := checkSpecs([]TableSpec{spec}); err != nil {
		t.Fatal(err)
	}
	rows := [][]any{{"b", "x", int64(1)}, {"a", "y", int64(10)}, {"a", "y", int64(2)}, {"a", "x", int64(3)}, {"b", nil, int64(1)}}
	tables := [][][]any{rows}
	sortTables([]TableSpec{spec}, tables)
	want := [][]any{{"a", "x", int64(3)}, {"a", "y", int64(2)}, {"a", "y", int64(10)}, {"b", nil, int64(1)}, {"b", "x", int64(1)}}
	if !reflect.DeepEqual(tables[0], want) {
		t.Errorf("sorted = %v, want %v", tables[0], want)
	}
	bad := spec
	bad.ThenBy = []string{"nope"}
	if err := checkSpecs([]TableSpec{bad}); err == nil {
		t.Error("a ThenBy naming no column was accepted")
	}
}
