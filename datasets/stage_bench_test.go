package datasets

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// The import's stages measured one at a time, on order lines shaped like
// bench/kit orders' (made here, so no file is needed):
// splitting and parsing text chunks, and sorting and encoding parts.
// make bench measures the whole import against DuckDB; these say which
// stage a change moved. Run with -cpu 1 for the per-core cost.

// benchOrdersCSV returns n order lines with a header, deterministic.
func benchOrdersCSV(n int) string {
	r := rand.New(rand.NewPCG(42, 7))
	cats := []string{"electronics", "household", "beverages", "grocery", "toys", "clothing", "beauty", "garden"}
	var b strings.Builder
	b.WriteString("customer_id,order_id,timestamp,product_id,category,quantity,unit_price,warehouse\n")
	t := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)
	order := 0
	for b.Len() >= 0 && n > 0 {
		order++
		cust := r.IntN(n/20+1) + 1
		t = t.Add(time.Duration(r.IntN(120)) * time.Second)
		wh := r.IntN(4) + 1
		for k := r.IntN(4) + 1; k > 0 && n > 0; k-- {
			n--
			fmt.Fprintf(&b, "%d,%d,%s,P%06d,%s,%d,%d.%02d,W%d\n", cust, order, t.Format("2006-01-02T15:04:05Z"),
				r.IntN(20000), cats[r.IntN(len(cats))], r.IntN(5)+1, r.IntN(120), r.IntN(100), wh)
		}
	}
	return b.String()
}

// discardStore is a Store whose Puts only count bytes.
type discardStore struct{ n atomic.Int64 }

func (d *discardStore) Open(context.Context, string) (Object, error) { return nil, fs.ErrNotExist }
func (d *discardStore) Stat(context.Context, string) (ObjectInfo, error) {
	return ObjectInfo{}, fs.ErrNotExist
}
func (d *discardStore) Put(_ context.Context, key string, r io.Reader, _ int64, _ PutOptions) (ObjectInfo, error) {
	n, err := io.Copy(io.Discard, r)
	d.n.Add(n)
	return ObjectInfo{Key: key, Size: n}, err
}
func (d *discardStore) List(context.Context, string) ([]ObjectInfo, error) { return nil, nil }
func (d *discardStore) Delete(context.Context, string) error               { return nil }
func (d *discardStore) URL() string                                        { return "discard:" }

// benchParser returns a worker parsing benchOrdersCSV's lines.
func benchParser(tb testing.TB, header string) *worker[Order] {
	rules, err := compileLineRules(LineTypeRules{})
	if err != nil {
		tb.Fatal(err)
	}
	w, err := NewWriter[Order](&discardStore{}, Orders, WriterOptions{Dataset: "bench"})
	if err != nil {
		tb.Fatal(err)
	}
	im := &importer[Order]{t: Orders, loc: time.UTC, rules: rules, w: w,
		opts: ImportOptions{Dataset: "bench", Format: TextFormat{Delimiter: ','}}}
	p, err := im.newPlan("bench.csv", TextFormat{Delimiter: ','}, strings.Split(header, ","), 8, header)
	if err != nil {
		tb.Fatal(err)
	}
	return p.newWorker()
}

// benchRows parses n lines into rows.
func benchRows(tb testing.TB, n int) []Order {
	text := benchOrdersCSV(n)
	header, body, _ := strings.Cut(text, "\n")
	res := benchParser(tb, header).parse(&chunkJob[Order]{data: body, line: 2, nls: strings.Count(body, "\n")})
	if len(res.bad) > 0 || res.fatal != nil || len(res.rows) != n {
		tb.Fatalf("parse: %d rows, bad %v, fatal %v", len(res.rows), res.bad, res.fatal)
	}
	return res.rows
}

func BenchmarkParseChunk(b *testing.B) {
	const lines = 1 << 14
	text := benchOrdersCSV(lines)
	header, body, _ := strings.Cut(text, "\n")
	w := benchParser(b, header)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		res := w.parse(&chunkJob[Order]{data: body, line: 2, nls: strings.Count(body, "\n")})
		if len(res.rows) != lines {
			b.Fatal(len(res.rows))
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*lines), "ns/line")
}

func BenchmarkWriteParts(b *testing.B) {
	const lines = 1 << 18
	rows := benchRows(b, lines)
	st := &discardStore{}
	ctx := context.Background()
	owned := make([]Order, len(rows))
	for b.Loop() {
		// The import hands the writer the rows it parsed (no copy); the
		// writer clears them once written.
		b.StopTimer()
		copy(owned, rows)
		b.StartTimer()
		w, err := NewWriter[Order](st, Orders, WriterOptions{Dataset: "bench", Run: "r"})
		if err != nil {
			b.Fatal(err)
		}
		for i := 0; i < len(owned); i += copyBatch {
			if _, err := w.writeOwned(ctx, owned[i:min(i+copyBatch, len(owned)):min(i+copyBatch, len(owned))], nil); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Flush(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*lines), "ns/line")
	b.ReportMetric(float64(st.n.Load())/float64(b.N*lines), "B/line")
}

// BenchOrdersCSV is benchOrdersCSV for the external benchmarks.
var BenchOrdersCSV = benchOrdersCSV
