package datasets_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/datasets/local"
)

const testdata = "../testdata/datasets/"

func newStore(t *testing.T) datasets.Store {
	t.Helper()
	st, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// snapshot maps every key of the store to the SHA-256 of its bytes.
func snapshot(t *testing.T, st datasets.Store) map[string]string {
	t.Helper()
	objs, err := st.List(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, o := range objs {
		b, err := datasets.ReadAll(context.Background(), st, o.Key)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		out[o.Key] = hex.EncodeToString(sum[:])
	}
	return out
}

func sameSnapshot(t *testing.T, before, after map[string]string) {
	t.Helper()
	for k, v := range before {
		if after[k] != v {
			t.Errorf("object %s changed or vanished", k)
		}
	}
	for k := range after {
		if _, ok := before[k]; !ok {
			t.Errorf("object %s appeared", k)
		}
	}
}

func sources(t *testing.T, paths ...string) []datasets.SourceFile {
	t.Helper()
	s, err := datasets.LocalSources(paths)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func retailOpts(name string) datasets.ImportOptions {
	return datasets.ImportOptions{Dataset: name, Map: retailMap()}
}

func TestImportRetailSample(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	res, err := datasets.Import(ctx, st, sources(t, testdata+"retail_ok"), retailOpts("retail"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows != 11 || res.Manifest == nil || res.Manifest.Seq != 1 {
		t.Fatalf("result: %+v", res)
	}
	m := res.Manifest
	if len(m.Parts) != 2 || m.Parts[0].Month != "2010-12" || m.Parts[1].Month != "2011-01" {
		t.Errorf("parts: %+v", m.Parts)
	}
	for _, p := range m.Parts {
		if !regexp.MustCompile(`^datasets/retail/orders/month=\d{4}-\d{2}/part-[0-9TZ]+-[0-9a-f]+-\d{5}\.parquet$`).MatchString(p.Key) {
			t.Errorf("part key %s", p.Key)
		}
	}
	if len(m.Sources) != 2 || !filepath.IsAbs(m.Sources[0].Path) || len(m.Sources[0].SHA256) != 64 {
		t.Errorf("sources: %+v", m.Sources)
	}
	if m.TZ != "UTC" || m.FormatVersion != 1 || len(m.Schema) != 12 || m.LineTypes == nil {
		t.Errorf("manifest: %+v", m)
	}
	if m.TimeRange == nil || m.TimeRange.Min.Format(time.RFC3339) != "2010-12-01T08:26:00Z" || m.TimeRange.Max.Format(time.RFC3339) != "2011-01-04T10:00:00Z" {
		t.Errorf("time range %+v", m.TimeRange)
	}

	rows, err := datasets.ReadPart(ctx, st, datasets.Orders, m.Parts[0].Key)
	if err != nil {
		t.Fatal(err)
	}
	byProduct := map[string]datasets.Order{}
	for i, o := range rows {
		byProduct[o.ProductID] = o
		if i > 0 && (rows[i-1].CustomerID > o.CustomerID || rows[i-1].CustomerID == o.CustomerID && rows[i-1].Timestamp > o.Timestamp) {
			t.Errorf("rows not sorted by (customer_id, timestamp) at %d", i)
		}
	}
	// Values verbatim except integral floats; derived line types.
	for _, c := range []struct{ product, customer, order, lineType string }{
		{"85123A", "17850", "536365", datasets.LineSale},
		{"22633", "00004", "536366", datasets.LineSale},
		{"POST", "12583", "536367", datasets.LineFee},
		{"D", "14527", "C536379", datasets.LineAdjustment},
		{"35004C", "15311", "C536383", datasets.LineReturn},
		{"22139", "", "536414", datasets.LineAdjustment},
		{"21773", "", "536544", datasets.LineSale},
		{"gift_0001_20", "", "536596", datasets.LineFee},
	} {
		o, ok := byProduct[c.product]
		if !ok {
			t.Errorf("product %s missing", c.product)
			continue
		}
		if o.CustomerID != c.customer || o.OrderID != c.order || o.LineType != c.lineType {
			t.Errorf("%s: customer %q order %q type %s, want %q %q %s", c.product, o.CustomerID, o.OrderID, o.LineType, c.customer, c.order, c.lineType)
		}
	}
	o := byProduct["85123A"]
	if o.Quantity != 6 || o.UnitPrice == nil || *o.UnitPrice != 2.55 || o.Amount != nil || o.Warehouse != "United Kingdom" ||
		datasets.FromMicros(o.Timestamp).Format(time.RFC3339) != "2010-12-01T08:26:00Z" {
		t.Errorf("85123A row: %+v", o)
	}

	d, err := datasets.Describe(ctx, st, "retail")
	if err != nil {
		t.Fatal(err)
	}
	// Expected figures counted by hand from testdata/datasets/retail_ok.
	if d.Lines != 11 || d.Customers != 5 || d.Orders != 10 || d.Products != 11 || d.Warehouses != 2 {
		t.Errorf("describe counts: %+v", d)
	}
	want := map[string]int64{"sale": 6, "return": 1, "fee": 2, "adjustment": 2}
	for k, v := range want {
		if d.LineTypes[k] != v {
			t.Errorf("line type %s: %d, want %d", k, d.LineTypes[k], v)
		}
	}
	for k, v := range map[string]float64{"sale": 106.35, "return": -4.65, "fee": 35.02, "adjustment": -27.5} {
		if math.Abs(d.Value[k]-v) > 1e-9 {
			t.Errorf("value %s: %v, want %v", k, d.Value[k], v)
		}
	}
	if d.AnonymousShare != math.Round(3.0/11*1e6)/1e6 || d.ReturnsShare != math.Round(1.0/7*1e6)/1e6 {
		t.Errorf("shares: %v %v", d.AnonymousShare, d.ReturnsShare)
	}
	vs, err := datasets.Validate(ctx, st, "retail")
	if err != nil || len(vs) != 1 || vs[0].Rows != 11 {
		t.Errorf("validate: %+v %v", vs, err)
	}
}

// TestImportFailuresLeaveStoreUnchanged: every failure kind reports the
// source path first, in the documented format, and leaves every object
// of the store as it was.
func TestImportFailuresLeaveStoreUnchanged(t *testing.T) {
	cases := []struct {
		name string
		file string
		opts func(*datasets.ImportOptions)
		want string // regexp after the path
	}{
		{"truncated gzip", "truncated_gzip/orders.csv.gz", nil, `^:\d+: truncated or corrupt gzip stream \(unexpected EOF\): line \d+ is the last complete line$`},
		{"wrong delimiter", "wrong_delimiter/orders.csv", func(o *datasets.ImportOptions) { o.Format.Delimiter = ',' }, `^: missing column "CustomerID" \(mapped to customer_id\); the header has one column "InvoiceNo;StockCode;.*wrong delimiter\? the header line has 6 ';' \(the delimiter is detected when none is given\)$`},
		{"detected delimiter, decimal comma", "wrong_delimiter/orders.csv", nil, `^:2:5: column UnitPrice: value "2,55": not a number`},
		{"missing column", "missing_column/orders.csv", nil, `^: missing column "InvoiceDate" \(mapped to timestamp\); the header has 6 columns "InvoiceNo", "StockCode"`},
		{"unparsable date", "bad_date/orders.csv", nil, `^:3:4: column InvoiceDate: value "2010-13-01 08:26:00": not an ISO 8601 time .*give a time layout`},
		{"non-numeric quantity", "bad_quantity/orders.csv", nil, `^:3:3: column Quantity: value "six": not a number \(1 bad lines, more than the 0 allowed; nothing was imported\)$`},
		{"empty file", "empty/orders.csv", nil, `^: empty file$`},
		{"ambiguous date layout", "ambiguous_date/orders.csv", nil, `^:2:4: column InvoiceDate: value "12/1/2010 8:26": ambiguous date layout: day/month order unknown; give the time layout "2/1/2006 15:04" \(day first\) or "1/2/2006 15:04" \(month first\)$`},
		{"ambiguous even with bad rows allowed", "ambiguous_date/orders.csv", func(o *datasets.ImportOptions) { o.MaxBadRows = 100 }, `^:2:4: column InvoiceDate: value "12/1/2010 8:26": ambiguous date layout`},
		{"columns that don't match the dataset", "retail_ok/2010-12-01.csv", func(o *datasets.ImportOptions) { delete(o.Map, "warehouse") }, `^: columns customer_id,order_id,timestamp,product_id,quantity,unit_price,line_type don't match the existing dataset retail table orders \(customer_id,order_id,timestamp,product_id,quantity,unit_price,warehouse,line_type\)`},
	}
	ctx := context.Background()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := newStore(t)
			if _, err := datasets.Import(ctx, st, sources(t, testdata+"retail_ok"), retailOpts("retail")); err != nil {
				t.Fatal(err)
			}
			before := snapshot(t, st)
			opts := retailOpts("retail")
			if c.opts != nil {
				c.opts(&opts)
			}
			path := testdata + c.file
			// A good file first, so the failure has parts to clean up.
			good := filepath.Join(t.TempDir(), "good.csv")
			copyFile(t, testdata+"retail_ok/2010-12-02.csv", good)
			_, err := datasets.Import(ctx, st, sources(t, good, path), opts)
			if err == nil {
				t.Fatal("import succeeded, want an error")
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, path) && !strings.HasPrefix(msg, good) {
				t.Fatalf("error does not start with the source path: %s", msg)
			}
			if strings.HasPrefix(msg, path) {
				rest := strings.TrimPrefix(msg, path)
				if !regexp.MustCompile(c.want).MatchString(rest) {
					t.Errorf("error:\n  %s\nwant path then\n  %s", msg, c.want)
				}
			} else if c.name != "columns that don't match the dataset" {
				t.Errorf("error names the good file: %s", msg)
			}
			sameSnapshot(t, before, snapshot(t, st))
		})
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestImportIdempotentAppend(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	dir := t.TempDir()
	copyFile(t, testdata+"retail_ok/2010-12-01.csv", filepath.Join(dir, "2010-12-01.csv"))
	if _, err := datasets.Import(ctx, st, sources(t, dir), retailOpts("retail")); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, st)
	res, err := datasets.Import(ctx, st, sources(t, dir), retailOpts("retail"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Manifest != nil || res.Rows != 0 || len(res.Files) != 1 || res.Files[0].Skipped == "" {
		t.Errorf("re-import: %+v", res)
	}
	sameSnapshot(t, before, snapshot(t, st))

	// Last night's file plus tonight's: only tonight's is read.
	copyFile(t, testdata+"retail_ok/2010-12-02.csv", filepath.Join(dir, "2010-12-02.csv"))
	res, err = datasets.Import(ctx, st, sources(t, dir), retailOpts("retail"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows != 3 || res.Manifest.Seq != 2 || res.Manifest.Rows != 11 || len(res.Manifest.Sources) != 2 {
		t.Errorf("append: rows %d, manifest %+v", res.Rows, res.Manifest)
	}
	if res.Manifest.Previous != datasets.HistoryKey("retail", "orders", 1) {
		t.Errorf("previous = %q", res.Manifest.Previous)
	}
	// Both versions are kept for lineage.
	for seq := 1; seq <= 2; seq++ {
		m, err := datasets.ReadManifestKey(ctx, st, datasets.HistoryKey("retail", "orders", seq))
		if err != nil || m.Seq != seq {
			t.Errorf("kept manifest %d: %v", seq, err)
		}
	}
	// A changed file under the same path is new data.
	b, _ := os.ReadFile(filepath.Join(dir, "2010-12-02.csv"))
	b = bytes.Replace(b, []byte("536597,22114"), []byte("536599,22114"), 1)
	os.WriteFile(filepath.Join(dir, "2010-12-02.csv"), b, 0o644)
	res, err = datasets.Import(ctx, st, sources(t, dir), retailOpts("retail"))
	if err != nil || res.Rows != 3 || res.Manifest.Rows != 14 {
		t.Errorf("changed file: %+v %v", res, err)
	}
	// Replace: the table is exactly the sources given.
	opts := retailOpts("retail")
	opts.Replace = true
	res, err = datasets.Import(ctx, st, sources(t, testdata+"retail_ok/2010-12-01.csv"), opts)
	if err != nil || res.Manifest.Rows != 8 || len(res.Manifest.Sources) != 1 || res.Manifest.Operation != "import-replace" {
		t.Errorf("replace: %+v %v", res, err)
	}
}

func TestImportBadRowsAndRejects(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	var rejects bytes.Buffer
	opts := retailOpts("retail")
	opts.MaxBadRows = 1
	opts.Rejects = &rejects
	res, err := datasets.Import(ctx, st, sources(t, testdata+"bad_quantity/orders.csv"), opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows != 2 || res.Rejected != 1 || res.Manifest.Sources[0].Rejected != 1 {
		t.Errorf("result %+v", res)
	}
	recs, err := csv.NewReader(&rejects).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{testdata + "bad_quantity/orders.csv", "3", "3", "Quantity", "six", "not a number", "536365,71053,six,2010-12-01 08:26:00,3.39,17850.0,United Kingdom"}
	if len(recs) != 2 || strings.Join(recs[1], "|") != strings.Join(want, "|") {
		t.Errorf("rejects: %q", recs)
	}
}

func TestImportOtherLayouts(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	// CDNOW: headerless, whitespace-separated, CRLF, YYYYMMDD, no product.
	res, err := datasets.Import(ctx, st, sources(t, testdata+"cdnow_like"), datasets.ImportOptions{
		Dataset: "cdnow", Format: datasets.TextFormat{Whitespace: true}, NoHeader: true,
		Map: map[string]string{"customer_id": "#1", "timestamp": "#3", "quantity": "#4", "amount": "#5"},
	})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := datasets.ReadPart(ctx, st, datasets.Orders, res.Manifest.Parts[0].Key)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 4 || rows[0].CustomerID != "00001" || *rows[0].Amount != 11.77 || rows[0].UnitPrice != nil || rows[0].ProductID != "" ||
		datasets.FromMicros(rows[0].Timestamp).Format(time.RFC3339) != "1997-01-01T00:00:00Z" || rows[0].LineType != datasets.LineSale {
		t.Errorf("cdnow rows: %d %+v", len(rows), rows[0])
	}
	// Walmart: DD/MM/YY needs --time-format; no customer, no quantity.
	wopts := datasets.ImportOptions{Dataset: "walmart", TZ: "America/Chicago", Currency: "USD",
		Map: map[string]string{"warehouse": "Store", "timestamp": "Date", "amount": "Weekly_Sales"}}
	_, err = datasets.Import(ctx, st, sources(t, testdata+"walmart_like"), wopts)
	if !errors.Is(err, datasets.ErrAmbiguousTime) || !strings.Contains(err.Error(), `"2/1/06" (day first)`) {
		t.Fatalf("walmart without --time-format: %v", err)
	}
	wopts.TimeFormat = "02/01/06"
	res, err = datasets.Import(ctx, st, sources(t, testdata+"walmart_like"), wopts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows != 3 || res.Manifest.TZ != "America/Chicago" || res.Manifest.Currency != "USD" {
		t.Errorf("walmart: %+v", res.Manifest)
	}
	rows, _ = datasets.ReadPart(ctx, st, datasets.Orders, res.Manifest.Parts[0].Key)
	// 5 February 2010, 00:00 in Chicago (CST, UTC-6).
	if rows[0].CustomerID != "" || rows[0].Quantity != 1 || datasets.FromMicros(rows[0].Timestamp).Format(time.RFC3339) != "2010-02-05T06:00:00Z" || rows[0].Warehouse != "1" {
		t.Errorf("walmart row: %+v %s", rows[0], datasets.FromMicros(rows[0].Timestamp))
	}
	// Another table of the same dataset must share its zone.
	_, err = datasets.Import(ctx, st, sources(t, testdata+"walmart_like"), datasets.ImportOptions{Dataset: "walmart", Table: "stock", TimeFormat: "02/01/06",
		Map: map[string]string{"product_id": "Store", "as_of": "Date", "on_hand": "Weekly_Sales"}})
	if err == nil || !strings.Contains(err.Error(), "does not match the zone America/Chicago") {
		t.Errorf("stock with another zone: %v", err)
	}
}

// TestImportParquetSource re-imports the parts of one dataset as the
// source of another: same rows.
func TestImportParquetSource(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	res, err := datasets.Import(ctx, st, sources(t, testdata+"retail_ok"), retailOpts("retail"))
	if err != nil {
		t.Fatal(err)
	}
	root := st.(*local.Store).Root()
	var paths []string
	for _, p := range res.Manifest.Parts {
		paths = append(paths, filepath.Join(root, p.Key))
	}
	res2, err := datasets.Import(ctx, st, sources(t, paths...), datasets.ImportOptions{Dataset: "copy"})
	if err != nil {
		t.Fatal(err)
	}
	d1, _ := datasets.Describe(ctx, st, "retail")
	d2, _ := datasets.Describe(ctx, st, "copy")
	j1, _ := json.Marshal(d1)
	j2, _ := json.Marshal(d2)
	if res2.Rows != 11 || !bytes.Equal(j1, j2) {
		t.Errorf("parquet re-import differs:\n%s\n%s", j1, j2)
	}
}

// TestDescribeSameRowsSameBytes: one concatenated file and two daily
// files, imported with different spill sizes, describe identically.
func TestDescribeSameRowsSameBytes(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	if _, err := datasets.Import(ctx, st, sources(t, testdata+"retail_ok"), retailOpts("daily")); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(testdata + "retail_ok/2010-12-01.csv")
	b, _ := os.ReadFile(testdata + "retail_ok/2010-12-02.csv")
	_, b, _ = bytes.Cut(b, []byte("\n"))
	one := filepath.Join(t.TempDir(), "all.csv")
	os.WriteFile(one, append(a, b...), 0o644)
	opts := retailOpts("whole")
	opts.Writer.SpillRows = 2
	opts.ChunkBytes = 64
	if _, err := datasets.Import(ctx, st, sources(t, one), opts); err != nil {
		t.Fatal(err)
	}
	d1, _ := datasets.Describe(ctx, st, "daily")
	d2, _ := datasets.Describe(ctx, st, "whole")
	j1, _ := json.Marshal(d1)
	j2, _ := json.Marshal(d2)
	if !bytes.Equal(j1, j2) {
		t.Errorf("describe differs:\n%s\n%s", j1, j2)
	}
	m, _ := datasets.ReadManifest(ctx, st, "whole", "orders")
	if len(m.Parts) < 5 {
		t.Errorf("SpillRows 2 gave %d parts", len(m.Parts))
	}
}

func TestResolveDataset(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	if _, err := datasets.ResolveDataset(ctx, st, ""); !errors.Is(err, datasets.ErrNoDataset) {
		t.Errorf("empty store: %v", err)
	}
	datasets.Import(ctx, st, sources(t, testdata+"retail_ok"), retailOpts("a"))
	if n, err := datasets.ResolveDataset(ctx, st, ""); n != "a" || err != nil {
		t.Errorf("one dataset: %q %v", n, err)
	}
	datasets.Import(ctx, st, sources(t, testdata+"retail_ok"), retailOpts("b"))
	_, err := datasets.ResolveDataset(ctx, st, "")
	if !errors.Is(err, datasets.ErrNoDataset) || !strings.Contains(err.Error(), "a, b") {
		t.Errorf("two datasets: %v", err)
	}
	if n, err := datasets.ResolveDataset(ctx, st, "b"); n != "b" || err != nil {
		t.Errorf("named: %q %v", n, err)
	}
	if _, err := datasets.ResolveDataset(ctx, st, "c"); !errors.Is(err, datasets.ErrNoDataset) {
		t.Errorf("missing: %v", err)
	}
	if _, err := datasets.ReadManifest(ctx, st, "c", "orders"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing manifest: %v", err)
	}
}
