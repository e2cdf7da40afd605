package serve

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/prevoir/prevoir/datasets/datatest"
)

// BenchmarkIndexMemory measures the heap an index of churn rows takes per
// customer, rows shaped as serve/churn publishes them (three reasons in
// words, full-precision probabilities): the figure docs/SERVING.md gives
// per million customers.
//
//	go test -run '^$' -bench IndexMemory -benchtime 1x ./serve
func BenchmarkIndexMemory(b *testing.B) {
	const n = 200_000
	cols := churnSpec.Columns
	for i := 0; i < b.N; i++ {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		ib := newIndexBuilder()
		for c := 0; c < n; c++ {
			id := fmt.Sprintf("C%07d", c)
			row := []any{id, "2025-01-01", float64(c%9973) / 9973.123456789, "medium", "churn@3",
				fmt.Sprintf("no order for %d days", 30+c%300), "3.2 times the usual gap since the last order", "spending down 40% on the 90 days before"}
			ib.add(id, 0, "", cols, row)
		}
		x := ib.build()
		runtime.GC()
		runtime.ReadMemStats(&after)
		per := float64(after.HeapAlloc-before.HeapAlloc) / n
		b.ReportMetric(per, "B/customer")
		b.ReportMetric(per*1e6/(1<<20), "MiB/1M-customers")
		runtime.KeepAlive(x)
	}
}

// benchWriter is a ResponseWriter that keeps only the status and the
// body's length, reused across iterations so the benchmarks count the
// handler's allocations, not the recorder's.
type benchWriter struct {
	h    http.Header
	code int
	n    int
}

func (w *benchWriter) Header() http.Header { return w.h }
func (w *benchWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}
func (w *benchWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	w.n += len(b)
	return len(b), nil
}
func (w *benchWriter) reset() {
	clear(w.h)
	w.code, w.n = 0, 0
}

// rewindBody is a request body read again by every iteration.
type rewindBody struct {
	strings.Reader
	text string
}

func (b *rewindBody) Close() error { return nil }
func (b *rewindBody) rewind()      { b.Reset(b.text) }

// BenchmarkLookup is the server side of GET /v1/customers/{id} (no
// network): path guard, routing, token check, metrics, index search and
// JSON, over 20,000 customers with churn, offers and triggers rows.
func BenchmarkLookup(b *testing.B) {
	st := newStore(b)
	publishAll(b, st, "2024-03-01", 20_000)
	s, _ := newTestServer(b, st, Options{})
	h := s.Handler()
	reqs := make([]*http.Request, 1000)
	for i := range reqs {
		reqs[i] = httptest.NewRequest("GET", fmt.Sprintf("/v1/customers/C%05d", i*19%20_000), nil)
		reqs[i].Header.Set("Authorization", "Bearer "+tokCustomers)
	}
	w := &benchWriter{h: http.Header{}}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w.reset()
		h.ServeHTTP(w, reqs[i%len(reqs)])
		if w.code != http.StatusOK {
			b.Fatal(w.code)
		}
	}
}

// BenchmarkPredict is the server side of a one-row prediction of the
// native logistic model (two inputs, one categorical).
func BenchmarkPredict(b *testing.B) {
	benchPredict(b, "churn@champion", `{"rows":[{"recency_days":20,"segment":"b"}]}`)
}

// BenchmarkPredictImported is a one-row prediction of the imported
// LightGBM model (its inputs from testdata/gbdt/lgb4).
func BenchmarkPredictImported(b *testing.B) {
	lines := strings.Split(datatest.ReadTestdata("gbdt/lgb4/binary_categorical_input.csv"), "\n")
	header, first := strings.Split(lines[0], ","), strings.Split(lines[1], ",")
	var kv []string
	for i, v := range first {
		if v == "" {
			v = "null"
		}
		kv = append(kv, strconv.Quote(header[i])+":"+v)
	}
	benchPredict(b, "lgb", `{"rows":[{`+strings.Join(kv, ",")+`}]}`)
}

func benchPredict(b *testing.B, ref, body string) {
	st := newStore(b)
	publishAll(b, st, "2024-03-01", 10)
	registerModels(b, st)
	s, _ := newTestServer(b, st, Options{})
	h := s.Handler()
	req := httptest.NewRequest("POST", "/v1/models/"+ref+"/predict", nil)
	req.Header.Set("Authorization", "Bearer "+tokPredict)
	rb := &rewindBody{text: body}
	req.Body = rb
	w := &benchWriter{h: http.Header{}}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w.reset()
		rb.rewind()
		h.ServeHTTP(w, req)
		if w.code != http.StatusOK {
			b.Fatal(w.code)
		}
	}
}
