package serve

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// exampleURL turns a route pattern into a request path.
func exampleURL(pattern string) (method, path string) {
	method, path, _ = strings.Cut(pattern, " ")
	r := strings.NewReplacer("{task}", "churn", "{id}", "C00001", "{name}", "churn@1")
	switch {
	case strings.HasPrefix(path, "/v1/products/"):
		r = strings.NewReplacer("{id}", "P01")
	case path == "/v1/models/{name}":
		r = strings.NewReplacer("{name}", "churn")
	}
	return method, r.Replace(path)
}

// TestAuthEveryProtectedEndpoint: every protected route refuses a missing
// token (401), a wrong one (401) and one without its scope (403), and
// answers with the right one; open routes need none.
func TestAuthEveryProtectedEndpoint(t *testing.T) {
	st := newStore(t)
	publishAll(t, st, "2024-03-01", 5)
	registerModels(t, st)
	s, hs := newTestServer(t, st, Options{})
	byScope := map[string]string{ScopeScores: tokScores, ScopeCustomers: tokCustomers, ScopePredict: tokPredict, ScopeAdmin: tokAdmin}
	body := `{"rows":[{"recency_days":1,"segment":"a"}]}`
	protected := 0
	for _, rt := range s.routeTable() {
		method, path := exampleURL(rt.pattern)
		send := func(tok string) *http.Response {
			resp, _ := do(t, method, hs.URL+path, tok, strings.NewReader(body))
			return resp
		}
		if rt.scope == "" {
			if r := send(""); r.StatusCode != 200 {
				t.Errorf("open %s: %s", rt.pattern, r.Status)
			}
			continue
		}
		protected++
		if r := send(""); r.StatusCode != 401 || r.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s without a token: %s", rt.pattern, r.Status)
		}
		if r := send("tok-wrong-0123456789"); r.StatusCode != 401 {
			t.Errorf("%s with a wrong token: %s", rt.pattern, r.Status)
		}
		for scope, tok := range byScope {
			r := send(tok)
			switch {
			case scope == rt.scope && r.StatusCode != 200:
				t.Errorf("%s with its scope %s: %s", rt.pattern, scope, r.Status)
			case scope != rt.scope && r.StatusCode != 403:
				t.Errorf("%s with scope %s: %s, want 403", rt.pattern, scope, r.Status)
			}
		}
		// A token in another scheme or a prefix of a real one is no token.
		for _, h := range []string{"Basic " + tokAll, "Bearer " + tokAll[:10], "bearer " + tokAll} {
			req, _ := http.NewRequest(method, hs.URL+path, strings.NewReader(body))
			req.Header.Set("Authorization", h)
			if r, err := http.DefaultClient.Do(req); err != nil || r.StatusCode != 401 {
				t.Errorf("%s with %q: %v %v", rt.pattern, h[:8], err, r.Status)
			}
		}
	}
	if protected != 9 {
		t.Fatalf("%d protected routes: update the test", protected)
	}
	// --metrics-open opens /metrics only.
	_, open := newTestServer(t, st, Options{MetricsOpen: true})
	if r, _ := do(t, "GET", open.URL+"/metrics", "", nil); r.StatusCode != 200 {
		t.Fatalf("open metrics: %s", r.Status)
	}
	if r, _ := do(t, "GET", open.URL+"/v1/models", "", nil); r.StatusCode != 401 {
		t.Fatalf("models with open metrics: %s", r.Status)
	}
}

// TestPathGuard: dot segments, encoded slashes and backslashes never
// reach a route (nor redirect to one).
func TestPathGuard(t *testing.T) {
	st := newStore(t)
	publishAll(t, st, "2024-03-01", 5)
	_, hs := newTestServer(t, st, Options{})
	for _, p := range []string{
		"/v1/customers/../models", "/v1/customers/..", "/v1/scores/churn/../../admin/reload", "/v1/customers/C00001%2F..%2F..%2Fmodels",
		"/v1/customers/a%2fb", "/v1/scores/%2e%2e/manifest", "/v1/customers/./C00001", "/v1//customers/C00001", "/v1/customers/a%5Cb",
	} {
		resp, body := do(t, "GET", hs.URL+p, tokAll, nil)
		if resp.StatusCode != 400 {
			t.Errorf("%s: %s %s", p, resp.Status, body)
		}
	}
	if resp, _ := do(t, "GET", hs.URL+"/v1/customers/"+strings.Repeat("x", 300), tokAll, nil); resp.StatusCode != 400 {
		t.Errorf("overlong id: %s", resp.Status)
	}
	if resp, _ := do(t, "GET", hs.URL+"/v1/nothing", tokAll, nil); resp.StatusCode != 404 {
		t.Errorf("unknown path: %s", resp.Status)
	}
	if resp, _ := do(t, "DELETE", hs.URL+"/v1/models/churn", tokAll, nil); resp.StatusCode != 405 {
		t.Errorf("wrong method: %s", resp.Status)
	}
}

func TestParseTokens(t *testing.T) {
	toks, err := ParseTokens(strings.NewReader("# comment\n\n  tok-aaaaaaaaaaaaaaaa scores:read,predict  \n"), "f")
	if err != nil || len(toks) != 1 {
		t.Fatal(err, len(toks))
	}
	if sc, ok := authorize(toks, "Bearer tok-aaaaaaaaaaaaaaaa"); !ok || len(sc) != 2 {
		t.Fatal(sc, ok)
	}
	for in, says := range map[string]string{
		"tok-aaaaaaaaaaaaaaaa":                   "f:1: want TOKEN SCOPE",
		"# x\ntok-aaaaaaaaaaaaaaaa write":        "f:2: unknown scope \"write\"",
		"short scores:read":                      "f:1: a token needs at least 16 characters",
		"tok-aaaaaaaaaaaaaaaa scores:read extra": "f:1: want TOKEN SCOPE",
	} {
		_, err := ParseTokens(strings.NewReader(in), "f")
		if err == nil || !strings.Contains(err.Error(), says) {
			t.Errorf("%q: %v, want %q", in, err, says)
		}
		if err != nil && strings.Contains(err.Error(), "tok-aaaa") {
			t.Errorf("the error shows the token: %v", err)
		}
	}
	dir := t.TempDir()
	f := filepath.Join(dir, "tokens")
	os.WriteFile(f, []byte("tok-aaaaaaaaaaaaaaaa admin\n"), 0o644)
	if _, err := ReadTokenFile(f); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("group-readable file: %v", err)
	}
	os.Chmod(f, 0o600)
	if toks, err := ReadTokenFile(f); err != nil || len(toks) != 1 {
		t.Fatalf("mode 600: %v", err)
	}
}

// TestTokensNeverLogged: a refused request logs nothing of its token.
func TestTokensNeverLogged(t *testing.T) {
	st := newStore(t)
	publishAll(t, st, "2024-03-01", 5)
	var logs bytes.Buffer
	_, hs := newTestServer(t, st, Options{Logger: newTextLogger(&logs)})
	do(t, "GET", hs.URL+"/v1/customers/C00001", "tok-secret-0123456789", nil)
	do(t, "GET", hs.URL+"/v1/customers/C00001", tokScores, nil)
	if strings.Contains(logs.String(), "tok-") {
		t.Fatalf("a token was logged: %s", logs.String())
	}
}
