package serve

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/models"
	"github.com/prevoir/prevoir/models/registry"
	"github.com/prevoir/prevoir/serve/publish"
)

// route is one endpoint: its ServeMux pattern (the same text as its path
// in openapi.json), the scope a token needs ("" for an open endpoint),
// and its handler.
type route struct {
	pattern string
	scope   string
	handle  http.HandlerFunc
}

// routeTable lists every endpoint; openapi.json documents exactly these
// (a test checks both ways).
func (s *Server) routeTable() []route {
	metricsScope := ScopeAdmin
	if s.o.MetricsOpen {
		metricsScope = ""
	}
	return []route{
		{"GET /healthz", "", s.healthz},
		{"GET /readyz", "", s.readyz},
		{"GET /openapi.json", "", serveOpenAPI},
		{"GET /metrics", metricsScope, s.serveMetrics},
		{"GET /v1/scores/{task}", ScopeScores, s.scores},
		{"GET /v1/scores/{task}/manifest", ScopeScores, s.manifest},
		{"GET /v1/customers/{id}", ScopeCustomers, s.customer},
		{"GET /v1/products/{id}/forecast", ScopeScores, s.forecast},
		{"GET /v1/models", ScopePredict, s.listModels},
		{"GET /v1/models/{name}", ScopePredict, s.showModel},
		{"POST /v1/models/{name}/predict", ScopePredict, s.predict},
		{"POST /v1/admin/reload", ScopeAdmin, s.adminReload},
	}
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range s.routeTable() {
		mux.Handle(rt.pattern, s.instrument(rt.pattern, s.authorized(rt.scope, rt.handle)))
	}
	// Unknown GET paths are a JSON 404; a known path with another method
	// stays ServeMux's 405.
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, errorf(http.StatusNotFound, "no endpoint %s %s (see /openapi.json)", r.Method, r.URL.Path))
	})
	return guardPath(mux)
}

// guardPath refuses a path with a '.' or '..' segment, an empty segment or
// an encoded slash before any route sees it: ServeMux would otherwise
// clean it into another endpoint's path.
func guardPath(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if badPath(r.URL) {
			writeError(w, r, errorf(http.StatusBadRequest, "malformed path: no '.', '..' or empty segment, no encoded slash"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// badPath reports a path with a '.' or '..' segment, an empty segment, a
// backslash or an encoded slash or backslash (%2F, %5C in any case). It
// allocates nothing for a clean path.
func badPath(u *url.URL) bool {
	p := u.Path
	if strings.IndexByte(p, '\\') >= 0 {
		return true
	}
	raw := u.EscapedPath()
	for i := strings.IndexByte(raw, '%'); i >= 0 && i+2 < len(raw); {
		if a, b := raw[i+1], raw[i+2]|0x20; a == '2' && b == 'f' || a == '5' && b == 'c' {
			return true
		}
		j := strings.IndexByte(raw[i+1:], '%')
		if j < 0 {
			break
		}
		i += 1 + j
	}
	rest := strings.TrimPrefix(p, "/")
	for {
		seg, tail, more := strings.Cut(rest, "/")
		if seg == "." || seg == ".." || seg == "" && p != "/" {
			return true
		}
		if !more {
			return false
		}
		rest = tail
	}
}

// authorized checks the bearer token for a scope: 401 without a valid
// token, 403 with one lacking the scope. An open route ("") passes.
func (s *Server) authorized(scope string, next http.HandlerFunc) http.HandlerFunc {
	if scope == "" {
		return next
	}
	return func(w http.ResponseWriter, r *http.Request) {
		scopes, ok := authorize(s.o.Tokens, r.Header.Get("Authorization"))
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="prevoir"`)
			writeError(w, r, errorf(http.StatusUnauthorized, "a bearer token is required (Authorization: Bearer TOKEN)"))
			return
		}
		if !slices.Contains(scopes, scope) {
			writeError(w, r, errorf(http.StatusForbidden, "the token lacks the %s scope", scope))
			return
		}
		next(w, r)
	}
}

// httpError is an error with its HTTP status.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

func errorf(status int, format string, args ...any) error {
	return &httpError{status: status, msg: fmt.Sprintf(format, args...)}
}

// statusOf maps an error to its HTTP status: the one place that does.
func statusOf(err error) int {
	var he *httpError
	var fe *datasets.FieldError
	var mb *http.MaxBytesError
	switch {
	case errors.As(err, &he):
		return he.status
	case errors.As(err, &mb):
		return http.StatusRequestEntityTooLarge
	case errors.As(err, &fe), errors.Is(err, registry.ErrInvalidName), errors.Is(err, models.ErrSchemaMismatch):
		return http.StatusBadRequest
	case errors.Is(err, publish.ErrNoPublication), errors.Is(err, models.ErrNotFound), errors.Is(err, fs.ErrNotExist):
		return http.StatusNotFound
	case errors.Is(err, datasets.ErrConflict):
		return http.StatusConflict
	}
	return http.StatusInternalServerError
}

// writeError answers err as JSON: {"error": message, "status": code}. A
// 500 says only that the server failed; the cause goes to the log.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := statusOf(err)
	msg := err.Error()
	if code == http.StatusInternalServerError {
		msg = "internal error"
		if s := serverOf(w); s != nil {
			s.o.Logger.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		}
	}
	if code == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, code, map[string]any{"error": msg, "status": code})
}

// serverOf returns the server whose instrumented route w answers (the
// *statusWriter instrument wraps it in, found through Unwrap), nil
// outside one: writeError logs a 500's cause there.
func serverOf(w http.ResponseWriter) *Server {
	for {
		switch x := w.(type) {
		case *statusWriter:
			return x.s
		case interface{ Unwrap() http.ResponseWriter }:
			w = x.Unwrap()
		default:
			return nil
		}
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		code, b = http.StatusInternalServerError, []byte(`{"error":"internal error","status":500}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(code)
	w.Write(append(b, '\n'))
}

// freshness says how fresh a publication's scores are: stale when older
// than Options.MaxAge.
type freshness struct {
	AsOf       string    `json:"as_of"`
	CreatedAt  time.Time `json:"created_at"`
	Model      string    `json:"model,omitempty"`
	AgeSeconds int64     `json:"age_seconds"`
	Stale      bool      `json:"stale"`
	Run        string    `json:"run"`
}

func (s *Server) freshnessOf(p *publication) freshness {
	m := p.m
	age := s.o.Now().Sub(m.CreatedAt)
	return freshness{AsOf: m.AsOf, CreatedAt: m.CreatedAt, Model: p.model, AgeSeconds: int64(age / time.Second),
		Stale: s.o.MaxAge > 0 && age > s.o.MaxAge, Run: m.Run}
}

// setFreshness puts a publication's freshness in response headers.
func setFreshness(h http.Header, f freshness) {
	h.Set("Prevoir-As-Of", f.AsOf)
	h.Set("Prevoir-Created-At", f.CreatedAt.UTC().Format(time.RFC3339))
	if f.Model != "" {
		h.Set("Prevoir-Model", f.Model)
	}
	h.Set("Prevoir-Age-Seconds", strconv.FormatInt(f.AgeSeconds, 10))
	h.Set("Prevoir-Stale", strconv.FormatBool(f.Stale))
	h.Set("Prevoir-Run", f.Run)
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz is 200 once a snapshot is loaded, 503 before; it lists the
// stale publications (still served).
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	snap := s.current()
	if snap == nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "loading"})
		return
	}
	pubs := map[string]freshness{}
	stale := []string{}
	for _, t := range snap.tasks {
		f := s.freshnessOf(snap.pubs[t])
		pubs[t] = f
		if f.Stale {
			stale = append(stale, t)
		}
	}
	status := "ready"
	if len(stale) > 0 {
		status = "stale"
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": status, "dataset": snap.dataset, "loaded_at": snap.loadedAt.UTC(),
		"publications": pubs, "stale": stale, "customers": snap.customers.len(), "products": snap.products.len()})
}

func (s *Server) adminReload(w http.ResponseWriter, r *http.Request) {
	changed, err := s.Reload(r.Context())
	if err != nil {
		writeError(w, r, errorf(http.StatusBadGateway, "%v", err))
		return
	}
	snap := s.current()
	writeJSON(w, http.StatusOK, map[string]any{"changed": changed, "loaded_at": snap.loadedAt.UTC(), "tasks": snap.tasks})
}

// snapshotOr503 returns the snapshot in service or answers 503.
func (s *Server) snapshotOr503(w http.ResponseWriter, r *http.Request) *snapshot {
	snap := s.current()
	if snap == nil {
		writeError(w, r, errorf(http.StatusServiceUnavailable, "loading the publications; retry shortly"))
	}
	return snap
}
