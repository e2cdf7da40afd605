package datasets_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/datasets/datatest"
)

// importText writes text to dir/name and imports it into an empty
// dataset "d" (created first by a good import, so that a refused one must
// leave the store byte-identical).
func importText(t *testing.T, name, text string, opts datasets.ImportOptions) (datasets.Store, *datasets.ImportResult, error) {
	t.Helper()
	ctx := context.Background()
	st := newStore(t)
	dir := t.TempDir()
	good := filepath.Join(dir, "good.csv")
	os.WriteFile(good, []byte("customer_id,order_id,timestamp,product_id,quantity,category\nc1,o1,2024-01-02T10:00:00Z,p1,1,toys\n"), 0o644)
	if _, err := datasets.Import(ctx, st, sources(t, good), datasets.ImportOptions{Dataset: "d"}); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, st)
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	opts.Dataset = "d"
	res, err := datasets.Import(ctx, st, sources(t, p), opts)
	if err != nil {
		sameSnapshot(t, before, snapshot(t, st))
	}
	return st, res, err
}

const checkHeader = "customer_id,order_id,timestamp,product_id,quantity,category\n"

// TestImportRefusesBadIDs: ids with control characters or longer than
// MaxIDBytes, and text that is not UTF-8, are refused with
// file:line:column; the store is left byte-identical.
func TestImportRefusesBadIDs(t *testing.T) {
	long := strings.Repeat("x", datasets.MaxIDBytes+1)
	cases := []struct {
		name, line, want string
	}{
		{"nul in customer id", "c\x002,o2,2024-01-03T10:00:00Z,p1,1,toys", "bad.csv:2:1: column customer_id"},
		{"tab in order id", "c2,o\t2,2024-01-03T10:00:00Z,p1,1,toys", "bad.csv:2:2: column order_id"},
		{"C1 control in product id", "c2,o2,2024-01-03T10:00:00Z,p\u00851,1,toys", "bad.csv:2:4: column product_id"},
		{"long product id", "c2,o2,2024-01-03T10:00:00Z," + long + ",1,toys", "bad.csv:2:4: column product_id"},
		{"invalid utf-8 id", "c\xff2,o2,2024-01-03T10:00:00Z,p1,1,toys", "bad.csv:2:1: column customer_id"},
		{"invalid utf-8 text", "c2,o2,2024-01-03T10:00:00Z,p1,1,to\xe9ys", "bad.csv:2:6: column category"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := importText(t, "bad.csv", checkHeader+c.line+"\n", datasets.ImportOptions{})
			var re *datasets.RowError
			if !errors.As(err, &re) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want a bad line at %q", err, c.want)
			}
		})
	}
	// A 256-byte id and non-ASCII UTF-8 are fine.
	ok := strings.Repeat("é", datasets.MaxIDBytes/2)
	if _, _, err := importText(t, "ok.csv", checkHeader+"c2,o2,2024-01-03T10:00:00Z,"+ok+",1,jouets à gogo\n", datasets.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
}

// TestImportInvalidUTF8Replace repairs invalid text with U+FFFD when asked.
func TestImportInvalidUTF8Replace(t *testing.T) {
	st, res, err := importText(t, "latin1.csv", checkHeader+"c\xe92,o2,2024-01-03T10:00:00Z,p1,1,caf\xe9\n",
		datasets.ImportOptions{InvalidUTF8: datasets.InvalidUTF8Replace})
	if err != nil {
		t.Fatal(err)
	}
	var got []datasets.Order
	for _, p := range res.Manifest.Parts {
		rows, err := datasets.ReadPart(context.Background(), st, datasets.Orders, p.Key)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, rows...)
	}
	found := false
	for _, o := range got {
		if o.OrderID == "o2" {
			found = true
			if o.CustomerID != "c\uFFFD2" || o.Category != "caf\uFFFD" {
				t.Errorf("repaired row: customer %q category %q", o.CustomerID, o.Category)
			}
		}
	}
	if !found {
		t.Error("row o2 not stored")
	}
	_, _, err = importText(t, "x.csv", checkHeader, datasets.ImportOptions{InvalidUTF8: "ignore"})
	if fe, ok := datasets.AsFieldError(err); !ok || fe.Field != "InvalidUTF8" {
		t.Errorf("unknown policy: err = %v, want a FieldError on InvalidUTF8", err)
	}
}

// TestImportParquetInvalidUTF8: a Parquet string column holding invalid
// UTF-8 is refused at its row and column, like text.
func TestImportParquetInvalidUTF8(t *testing.T) {
	type row struct {
		CustomerID string `parquet:"customer_id"`
		Timestamp  string `parquet:"timestamp"`
		Quantity   int64  `parquet:"quantity"`
	}
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[row](&buf)
	w.Write([]row{{"c1", "2024-01-02T00:00:00Z", 1}, {"c\xff", "2024-01-02T00:00:00Z", 1}})
	w.Close()
	_, _, err := importText(t, "bad.parquet", buf.String(), datasets.ImportOptions{Replace: true})
	if err == nil || !strings.Contains(err.Error(), "bad.parquet:2:1: column customer_id") || !strings.Contains(err.Error(), "UTF-8") {
		t.Fatalf("err = %v", err)
	}
}

// TestImportHeaderOnly: a file with a header and no rows commits nothing
// and says so, naming the file (CSV, gzip-less and Parquet).
func TestImportHeaderOnly(t *testing.T) {
	for _, c := range []struct{ name, text string }{
		{"header.csv", checkHeader},
		{"header_blank.csv", checkHeader + "\n\r\n"},
	} {
		_, _, err := importText(t, c.name, c.text, datasets.ImportOptions{})
		var fe *datasets.FileError
		if !errors.Is(err, datasets.ErrNoRows) || !errors.As(err, &fe) || !strings.HasSuffix(fe.Path, c.name) {
			t.Errorf("%s: err = %v, want ErrNoRows naming the file", c.name, err)
		}
	}
	b, err := os.ReadFile(datatest.Testdata(t, "parquet/types_empty.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = importText(t, "empty.parquet", string(b), datasets.ImportOptions{Replace: true, Map: map[string]string{"timestamp": "ts_us", "quantity": "i32"}})
	if !errors.Is(err, datasets.ErrNoRows) || !strings.Contains(err.Error(), "empty.parquet") {
		t.Errorf("parquet: err = %v, want ErrNoRows naming the file", err)
	}
}

// TestImportSniffsDelimiter: without a delimiter, import detects it from
// the header line with the table reader's rule (SniffDelimiter), skipping
// a BOM and leading blank lines.
func TestImportSniffsDelimiter(t *testing.T) {
	for _, c := range []struct{ name, text string }{
		{"semicolon.csv", "\ufeffcustomer_id;order_id;timestamp;product_id;quantity;category\nc2;o2;2024-01-03T10:00:00Z;p1;2.5;\"a;b\"\n"},
		{"pipe.txt", "\n\r\ncustomer_id|order_id|timestamp|product_id|quantity|category\r\nc2|o2|2024-01-03T10:00:00Z|p1|2.5|\"a;b\"\r\n"},
		{"tab.tsv", "customer_id\torder_id\ttimestamp\tproduct_id\tquantity\tcategory\nc2\to2\t2024-01-03T10:00:00Z\tp1\t2.5\ta;b\n"},
	} {
		st, res, err := importText(t, c.name, c.text, datasets.ImportOptions{})
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		var rows []datasets.Order
		for _, p := range res.Manifest.Parts {
			got, err := datasets.ReadPart(context.Background(), st, datasets.Orders, p.Key)
			if err != nil {
				t.Fatal(err)
			}
			rows = append(rows, got...)
		}
		found := false
		for _, o := range rows {
			if o.OrderID == "o2" {
				found = o.CustomerID == "c2" && o.Quantity == 2.5 && o.Category == "a;b"
			}
		}
		if !found {
			t.Errorf("%s: row o2 not read right: %+v", c.name, rows)
		}
	}
}

// TestImportCurrency: the currency is an ISO 4217 code, refused as a
// FieldError otherwise.
func TestImportCurrency(t *testing.T) {
	_, _, err := importText(t, "x.csv", checkHeader+"c2,o2,2024-01-03T10:00:00Z,p1,1,toys\n", datasets.ImportOptions{Currency: "gbp"})
	if fe, ok := datasets.AsFieldError(err); !ok || fe.Field != "Currency" || !strings.Contains(err.Error(), "GBP") {
		t.Errorf("gbp: err = %v, want a FieldError on Currency suggesting GBP", err)
	}
	_, _, err = importText(t, "x.csv", checkHeader+"c2,o2,2024-01-03T10:00:00Z,p1,1,toys\n", datasets.ImportOptions{Currency: "EURO"})
	if fe, ok := datasets.AsFieldError(err); !ok || fe.Field != "Currency" {
		t.Errorf("EURO: err = %v, want a FieldError on Currency", err)
	}
}
