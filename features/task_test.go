package features

import (
	"bytes"
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/prevoir/prevoir/datasets/local"
)

// TestMultiKeyRows: a table with several id columns (two strings, an
// int64, a timestamp) round-trips through a part, ReadFrame and the
// forgetter's re-encoding, each id in its column.
func TestMultiKeyRows(t *testing.T) {
	ctx := context.Background()
	st, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cols := []Column{
		{Name: "product_id", Type: "string", Role: "id"},
		{Name: "warehouse", Type: "string", Role: "id"},
		{Name: "step", Type: "int64", Role: "id"},
		{Name: "as_of", Type: "timestamp", Role: "id"},
		{Name: "units_l1", Type: "double", Kind: Numeric, Nullable: true, Role: "feature"},
		{Name: "units", Type: "int64", Role: "label"},
	}
	at := time.Date(2011, 11, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
	rows := []outRow{
		{cust: "85123A", keys: []string{"UK"}, ints: []int64{1}, asOf: at, vals: []float64{3.5, 4}, valid: []bool{true, true}},
		{cust: "85123A", keys: []string{"UK"}, ints: []int64{2}, asOf: at, vals: []float64{0, 7}, valid: []bool{false, true}},
		{cust: "22423", keys: []string{"FR"}, ints: []int64{1}, asOf: at, vals: []float64{1, 0}, valid: []bool{true, true}},
	}
	b, err := encodePart(cols, rows)
	if err != nil {
		t.Fatal(err)
	}
	pi, err := putPart(ctx, st, "features/x/demand/2011-11-01/abc/part-0.parquet", b, int64(len(rows)), 0)
	if err != nil {
		t.Fatal(err)
	}
	m := &Manifest{Schema: cols, Parts: []PartInfo{pi}, Label: "units"}
	fr, err := ReadFrame(ctx, st, m)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"85123A", "85123A", "22423"}; !reflect.DeepEqual(fr.IDs, want) {
		t.Errorf("IDs = %v, want %v", fr.IDs, want)
	}
	if want := [][]string{{"UK", "UK", "FR"}}; !reflect.DeepEqual(fr.Keys, want) {
		t.Errorf("Keys = %v, want %v", fr.Keys, want)
	}
	if want := [][]int64{{1, 2, 1}}; !reflect.DeepEqual(fr.Ints, want) {
		t.Errorf("Ints = %v, want %v", fr.Ints, want)
	}
	if len(fr.AsOf) != 3 || fr.AsOf[2].UnixMicro() != at {
		t.Errorf("AsOf = %v", fr.AsOf)
	}
	if !reflect.DeepEqual(fr.Label, []float64{4, 7, 0}) || fr.Valid[0][1] {
		t.Errorf("label %v, valid %v", fr.Label, fr.Valid)
	}
	// The forgetter re-encodes rows read back: the same bytes' content.
	var back []outRow
	if err := Rows(ctx, st, m, func(row []any) error { back = append(back, rowFromAny(cols, row)); return nil }); err != nil {
		t.Fatal(err)
	}
	b2, err := encodePart(cols, back)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, b2) {
		t.Error("rows read back re-encode differently")
	}
}
