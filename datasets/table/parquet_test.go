package table_test

import (
	"testing"

	"github.com/prevoir/prevoir/datasets/datatest"
	"github.com/prevoir/prevoir/datasets/table"
)

// TestParquetDuckDB reads the DuckDB fixtures through the table reader
// (train --table, models predict, --reference): the same text as import.
// The unsigned and FIXED_LEN_BYTE_ARRAY decimal columns are the ones the
// two former converters disagreed on.
func TestParquetDuckDB(t *testing.T) {
	r, err := table.OpenFile(datatest.Testdata(t, "parquet/orders_duckdb.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got := readAll(t, r)
	if len(got) != 10 {
		t.Fatalf("%d rows", len(got))
	}
	want := []string{"4000000000", "O0", "2024-03-01T12:00:00Z", "P0", "1", "1234567890123.45"}
	for i, w := range want {
		if got[0][i] != w {
			t.Errorf("row 1 column %s = %q, want %q", r.Header()[i], got[0][i], w)
		}
	}
	if got[9][5] != "1234567890132.45" || got[9][0] != "4000000000" {
		t.Errorf("row 10 = %q", got[9])
	}
	for _, f := range []string{"types_plain.parquet", "types_dict.parquet"} {
		r, err := table.OpenFile(datatest.Testdata(t, "parquet/"+f))
		if err != nil {
			t.Fatal(err)
		}
		rows := readAll(t, r)
		r.Close()
		// u32, dec_flba, ts_us_utc, f32, uid of the first row (make.mjs).
		first := rows[0]
		for i, w := range map[int]string{6: "4000000000", 11: "12345678901234567890.1234567890", 14: "2024-03-01T12:30:00.25Z", 19: "0.1", 23: "123e4567-e89b-12d3-a456-426614174000"} {
			if first[i] != w {
				t.Errorf("%s: column %s = %q, want %q", f, r.Header()[i], first[i], w)
			}
		}
	}
}
