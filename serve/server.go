package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/models"
	"github.com/prevoir/prevoir/models/registry"
)

// Options configure a Server. Zero values take the defaults in brackets.
type Options struct {
	// Dataset is the dataset whose publications are served.
	Dataset string
	// Tokens are the bearer tokens accepted; a server without any
	// refuses every protected endpoint.
	Tokens []Token
	// MetricsOpen serves /metrics without a token (else admin scope).
	MetricsOpen bool
	// MaxAge is the age from which a publication is stale (0: never).
	MaxAge time.Duration
	// Poll is the interval between checks of the store for new
	// publications and alias moves [5s]; negative disables polling.
	Poll time.Duration
	// MaxBodyBytes bounds a request body [1 MiB].
	MaxBodyBytes int64
	// MaxPredictRows bounds the rows of one prediction request [1000].
	MaxPredictRows int
	// MaxPageRows bounds ?limit= of a scores page [100000].
	MaxPageRows int
	// MaxStreams bounds the scores streams served at once [8].
	MaxStreams int
	// ReadHeaderTimeout [5s], ReadTimeout [30s] and IdleTimeout [60s]
	// of the HTTP server; ShutdownTimeout [30s] is how long Run lets
	// requests finish after its context ends.
	ReadHeaderTimeout, ReadTimeout, IdleTimeout, ShutdownTimeout time.Duration
	// Kinds are the model kinds predictions load (logistic when nil).
	Kinds models.Kinds
	// Registerer receives the server's metrics (a new registry when nil;
	// never the global one).
	Registerer prometheus.Registerer
	// Gatherer serves /metrics; it must be the registry behind
	// Registerer when both are set.
	Gatherer prometheus.Gatherer
	// Now is the clock [time.Now].
	Now func() time.Time
	// Logger receives the server's logs [slog.Default()].
	Logger *slog.Logger
}

func (o *Options) defaults() error {
	if o.Dataset == "" {
		return datasets.Fieldf("Dataset", "", "the server needs a dataset")
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&o.Poll, 5*time.Second)
	def(&o.ReadHeaderTimeout, 5*time.Second)
	def(&o.ReadTimeout, 30*time.Second)
	def(&o.IdleTimeout, 60*time.Second)
	def(&o.ShutdownTimeout, 30*time.Second)
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 1 << 20
	}
	if o.MaxPredictRows <= 0 {
		o.MaxPredictRows = 1000
	}
	if o.MaxPageRows <= 0 {
		o.MaxPageRows = 100_000
	}
	if o.MaxStreams <= 0 {
		o.MaxStreams = 8
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Registerer == nil {
		r := prometheus.NewRegistry()
		o.Registerer, o.Gatherer = r, r
	}
	if o.Gatherer == nil {
		g, ok := o.Registerer.(prometheus.Gatherer)
		if !ok {
			return datasets.Fieldf("Gatherer", "", "needed when Registerer is not a registry")
		}
		o.Gatherer = g
	}
	return nil
}

// Server serves a store's publications and models over HTTP. Lookups are
// answered from an immutable snapshot held in memory; Reload builds a new
// one and swaps it in atomically.
type Server struct {
	st      datasets.Store
	reg     *registry.Registry
	o       Options
	snap    atomic.Pointer[snapshot]
	reloadM sync.Mutex
	streams chan struct{}
	models  modelCache
	metrics *metrics
	handler http.Handler
}

// New returns a server of st. It loads nothing: Reload (or Run) does.
func New(st datasets.Store, o Options) (*Server, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	s := &Server{st: st, o: o, streams: make(chan struct{}, o.MaxStreams)}
	s.reg = registry.New(st, registry.Options{Kinds: o.Kinds})
	s.models.loaded = map[string]*loadedModel{}
	m, err := newMetrics(o.Registerer, s)
	if err != nil {
		return nil, err
	}
	s.metrics = m
	s.handler = s.routes()
	return s, nil
}

// Handler returns the server's HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

// current returns the snapshot in service, nil before the first load.
func (s *Server) current() *snapshot { return s.snap.Load() }

// Reload checks the store and, when a publication, a LATEST pointer, a
// model, an alias or the suppressions changed, loads a new snapshot and
// swaps it in. It reports whether it did. On error the snapshot in
// service stays.
func (s *Server) Reload(ctx context.Context) (changed bool, err error) {
	s.reloadM.Lock()
	defer s.reloadM.Unlock()
	start := time.Now()
	defer func() {
		result := "unchanged"
		switch {
		case err != nil:
			result = "error"
		case changed:
			result = "loaded"
		}
		s.metrics.reloads.WithLabelValues(result).Inc()
		if changed {
			s.metrics.reloadSeconds.Observe(time.Since(start).Seconds())
		}
	}()
	fp, err := fingerprint(ctx, s.st, s.o.Dataset)
	if err != nil {
		return false, fmt.Errorf("reload: %w", err)
	}
	if cur := s.current(); cur != nil && cur.fingerprint == fp {
		return false, nil
	}
	snap, err := loadSnapshot(ctx, s.st, s.o.Dataset, s.reg, fp, s.o.Now())
	if err != nil {
		return false, fmt.Errorf("reload: %w", err)
	}
	s.snap.Store(snap)
	// The build's scratch and the previous snapshot are garbage now (or
	// once the requests holding it end): hand their pages back to the OS
	// rather than keep twice the index resident between reloads.
	debug.FreeOSMemory()
	s.o.Logger.Info("snapshot loaded", "dataset", s.o.Dataset, "tasks", strings.Join(snap.tasks, ","),
		"customers", snap.customers.len(), "products", snap.products.len(), "models", len(snap.names), "duration", time.Since(start))
	return true, nil
}

// Run loads the first snapshot, serves on ln until ctx ends, polling the
// store every Options.Poll, then shuts down gracefully: the listener
// closes, requests in flight get Options.ShutdownTimeout to finish.
func (s *Server) Run(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: s.o.ReadHeaderTimeout,
		ReadTimeout:       s.o.ReadTimeout,
		IdleTimeout:       s.o.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.o.Logger.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	var wg sync.WaitGroup
	pollCtx, stopPoll := context.WithCancel(ctx)
	defer stopPoll()
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.poll(pollCtx)
	}()
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	var err error
	select {
	case err = <-errc:
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.o.ShutdownTimeout)
		err = hs.Shutdown(sctx)
		cancel()
		if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) && err == nil {
			err = serr
		}
	}
	stopPoll()
	wg.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// poll loads the first snapshot (retrying until it succeeds), then checks
// the store every Options.Poll.
func (s *Server) poll(ctx context.Context) {
	wait := time.Duration(0)
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		if _, err := s.Reload(ctx); err != nil && ctx.Err() == nil {
			s.o.Logger.Warn("reload failed; serving the previous snapshot", "err", err)
		}
		wait = s.o.Poll
		if wait < 0 {
			if s.current() != nil {
				return
			}
			wait = time.Second
		}
	}
}
