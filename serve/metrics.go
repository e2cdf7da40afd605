package serve

import (
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the server's Prometheus metrics, on the registerer the
// caller passes (never the global one), in base units.
type metrics struct {
	requests      *prometheus.CounterVec
	duration      *prometheus.HistogramVec
	streams       prometheus.Gauge
	rows          *prometheus.CounterVec
	predictions   *prometheus.CounterVec
	reloads       *prometheus.CounterVec
	reloadSeconds prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer, s *Server) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "prevoir_http_requests_total", Help: "HTTP requests answered, by route and status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "prevoir_http_request_duration_seconds", Help: "Time to answer an HTTP request, by route.",
			Buckets: []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30},
		}, []string{"route"}),
		streams: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "prevoir_scores_streams", Help: "Scores streams being served now.",
		}),
		rows: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "prevoir_scores_rows_streamed_total", Help: "Publication rows written to scores streams, by task.",
		}, []string{"task"}),
		predictions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "prevoir_predictions_total", Help: "Rows predicted online, by model name.",
		}, []string{"model"}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "prevoir_reloads_total", Help: "Checks of the store for changes, by result: loaded, unchanged or error.",
		}, []string{"result"}),
		reloadSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "prevoir_reload_duration_seconds", Help: "Time to load a new snapshot.",
			Buckets: prometheus.ExponentialBuckets(0.01, 4, 8),
		}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration, m.streams, m.rows, m.predictions, m.reloads, m.reloadSeconds, snapshotCollector{s}} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

var (
	descAge = prometheus.NewDesc("prevoir_publication_age_seconds",
		"Age of the latest publication served, from its creation time, by task.", []string{"task"}, nil)
	descStale = prometheus.NewDesc("prevoir_publication_stale",
		"1 when the latest publication served is older than the maximum age, by task.", []string{"task"}, nil)
	descPubRows = prometheus.NewDesc("prevoir_publication_rows",
		"Rows of the latest publication's main table, by task.", []string{"task"}, nil)
	descCustomers = prometheus.NewDesc("prevoir_index_customers",
		"Customers in the lookup index.", nil, nil)
	descLoaded = prometheus.NewDesc("prevoir_snapshot_loaded_timestamp_seconds",
		"When the snapshot in service was loaded, Unix time.", nil, nil)
)

// snapshotCollector reports the snapshot in service at scrape time.
type snapshotCollector struct{ s *Server }

func (c snapshotCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descAge, descStale, descPubRows, descCustomers, descLoaded} {
		ch <- d
	}
}

func (c snapshotCollector) Collect(ch chan<- prometheus.Metric) {
	snap := c.s.current()
	if snap == nil {
		return
	}
	for _, t := range snap.tasks {
		p := snap.pubs[t]
		f := c.s.freshnessOf(p)
		stale := 0.0
		if f.Stale {
			stale = 1
		}
		ch <- prometheus.MustNewConstMetric(descAge, prometheus.GaugeValue, c.s.o.Now().Sub(p.m.CreatedAt).Seconds(), t)
		ch <- prometheus.MustNewConstMetric(descStale, prometheus.GaugeValue, stale, t)
		ch <- prometheus.MustNewConstMetric(descPubRows, prometheus.GaugeValue, float64(p.m.Rows), t)
	}
	ch <- prometheus.MustNewConstMetric(descCustomers, prometheus.GaugeValue, float64(snap.customers.len()))
	ch <- prometheus.MustNewConstMetric(descLoaded, prometheus.GaugeValue, float64(snap.loadedAt.UnixNano())/1e9)
}

func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) {
	promhttp.HandlerFor(s.o.Gatherer, promhttp.HandlerOpts{}).ServeHTTP(w, r)
}

// instrument counts a route's requests by status and times them. Its
// statusWriter carries the server (for writeError's log). The route's
// duration observer and its counters by status are looked up once, not
// per request.
func (s *Server) instrument(pattern string, next http.Handler) http.Handler {
	rm := &routeMetrics{requests: s.metrics.requests, pattern: pattern, dur: s.metrics.duration.WithLabelValues(pattern)}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := statusWriters.Get().(*statusWriter)
		*sw = statusWriter{ResponseWriter: w, code: http.StatusOK, s: s}
		next.ServeHTTP(sw, r)
		rm.dur.Observe(time.Since(start).Seconds())
		rm.count(sw.code)
		*sw = statusWriter{}
		statusWriters.Put(sw)
	})
}

// routeMetrics are one route's observers.
type routeMetrics struct {
	requests *prometheus.CounterVec
	pattern  string
	dur      prometheus.Observer
	// byCode caches the requests counter of each status 100-599, made
	// on first use so /metrics lists only the statuses answered.
	byCode [500]atomic.Pointer[prometheus.Counter]
}

// count adds a request answered with code.
func (rm *routeMetrics) count(code int) {
	if code < 100 || code > 599 {
		rm.requests.WithLabelValues(rm.pattern, strconv.Itoa(code)).Inc()
		return
	}
	p := rm.byCode[code-100].Load()
	if p == nil {
		c := rm.requests.WithLabelValues(rm.pattern, strconv.Itoa(code))
		p = &c
		rm.byCode[code-100].Store(p) // a race stores the same child
	}
	(*p).Inc()
}

var statusWriters = sync.Pool{New: func() any { return new(statusWriter) }}

// statusWriter records the status code written.
type statusWriter struct {
	http.ResponseWriter
	code  int
	wrote bool
	s     *Server
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.code, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

// Flush passes on to the underlying writer.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
