package serve

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// badPathReference is the path guard as first written (lower-casing and
// splitting the path): badPath must agree with it on every path.
func badPathReference(u *url.URL) bool {
	raw := u.EscapedPath()
	bad := strings.Contains(strings.ToLower(raw), "%2f") || strings.Contains(strings.ToLower(raw), "%5c") || strings.Contains(u.Path, "\\")
	for _, seg := range strings.Split(strings.TrimPrefix(u.Path, "/"), "/") {
		if seg == "." || seg == ".." || (seg == "" && u.Path != "/") {
			bad = true
		}
	}
	return bad
}

var pathSeeds = []string{
	"/", "", "/v1/customers/C00001", "/v1/customers/../models", "/v1/customers/..", "/v1/customers/C00001%2F..%2F..%2Fmodels",
	"/v1/customers/a%2fb", "/v1/customers/a%2Fb", "/v1/customers/a%5Cb", "/v1/customers/a%5cb", "/v1/scores/%2e%2e/manifest",
	"/v1/customers/./C00001", "/v1//customers/C00001", "/v1/customers/", "/v1/customers/a%25b", "/v1/customers/a%252fb",
	"/v1/customers/a%", "/v1/customers/a%2", "/v1/customers/%%2f", "/v1/customers/a\\b", "/v1/customers/a%20b", "/v1/customers/...",
	"/v1/customers/é", "//", "/.", "/a/.",
}

// TestBadPathMatchesReference: the allocation-free guard refuses exactly
// the paths the first one did.
func TestBadPathMatchesReference(t *testing.T) {
	for _, p := range pathSeeds {
		u, err := url.Parse(p)
		if err != nil {
			continue
		}
		if got, want := badPath(u), badPathReference(u); got != want {
			t.Errorf("%q: badPath %v, reference %v", p, got, want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { badPath(&url.URL{Path: "/v1/customers/C00001"}) }); n != 0 {
		t.Errorf("%v allocations for a clean path", n)
	}
}

func FuzzBadPath(f *testing.F) {
	for _, p := range pathSeeds {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, p string) {
		u, err := url.Parse(p)
		if err != nil {
			return
		}
		if got, want := badPath(u), badPathReference(u); got != want {
			t.Fatalf("%q: badPath %v, reference %v", p, got, want)
		}
	})
}

// TestInternalErrorLogged: a 500 answers "internal error" and logs its
// cause through the server of the instrumented route (found through the
// status writer, and through a writer wrapping it).
func TestInternalErrorLogged(t *testing.T) {
	var log bytes.Buffer
	s, err := New(newStore(t), Options{Dataset: testDataset, Logger: newTextLogger(&log)})
	if err != nil {
		t.Fatal(err)
	}
	h := s.instrument("GET /boom", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(wrapped{w}, r, errors.New("disk on fire"))
	}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/boom", nil))
	if w.Code != 500 || strings.Contains(w.Body.String(), "fire") || !strings.Contains(w.Body.String(), "internal error") {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	if !strings.Contains(log.String(), "request failed") || !strings.Contains(log.String(), "disk on fire") {
		t.Fatalf("log: %s", log.String())
	}
	if serverOf(httptest.NewRecorder()) != nil {
		t.Fatal("a server outside a route")
	}
}

type wrapped struct{ http.ResponseWriter }

func (w wrapped) Unwrap() http.ResponseWriter { return w.ResponseWriter }
