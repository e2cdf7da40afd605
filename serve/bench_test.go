package serve

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
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

// BenchmarkLookup is the server side of GET /v1/customers/{id} (no
// network): routing, token check, index search and JSON.
func BenchmarkLookup(b *testing.B) {
	st := newStore(b)
	publishAll(b, st, "2024-03-01", 20_000)
	s, _ := newTestServer(b, st, Options{})
	h := s.Handler()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req := httptest.NewRequest("GET", fmt.Sprintf("/v1/customers/C%05d", i%20_000), nil)
		req.Header.Set("Authorization", "Bearer "+tokCustomers)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatal(w.Code, w.Body.String())
		}
	}
}

// BenchmarkPredict is the server side of a one-row prediction.
func BenchmarkPredict(b *testing.B) {
	st := newStore(b)
	publishAll(b, st, "2024-03-01", 10)
	registerModels(b, st)
	s, _ := newTestServer(b, st, Options{})
	h := s.Handler()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req := httptest.NewRequest("POST", "/v1/models/churn@champion/predict", strings.NewReader(`{"rows":[{"recency_days":20,"segment":"b"}]}`))
		req.Header.Set("Authorization", "Bearer "+tokPredict)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatal(w.Code, w.Body.String())
		}
	}
}
