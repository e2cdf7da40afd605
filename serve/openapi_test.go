package serve

import (
	"encoding/json"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestOpenAPIMatchesRoutes: openapi.json documents every route the server
// serves, and nothing else; each documented operation has responses and
// the open ones declare no security.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(openAPI, &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi %q", doc.OpenAPI)
	}
	st := newStore(t)
	s, _ := newTestServer(t, st, Options{})
	var served, documented []string
	scopes := map[string]string{}
	for _, rt := range s.routeTable() {
		served = append(served, rt.pattern)
		scopes[rt.pattern] = rt.scope
	}
	for path, ops := range doc.Paths {
		for method, raw := range ops {
			pattern := strings.ToUpper(method) + " " + path
			documented = append(documented, pattern)
			var op struct {
				Responses map[string]any   `json:"responses"`
				Security  []map[string]any `json:"security"`
			}
			if err := json.Unmarshal(raw, &op); err != nil || len(op.Responses) == 0 {
				t.Errorf("%s: no responses (%v)", pattern, err)
			}
			scope, ok := scopes[pattern]
			if !ok {
				continue
			}
			if (scope == "") != (op.Security != nil && len(op.Security) == 0) && pattern != "GET /metrics" {
				t.Errorf("%s: scope %q but security %v", pattern, scope, op.Security)
			}
			if scope != "" && pattern != "GET /metrics" && !strings.Contains(string(raw), `"`+scope+`"`) {
				t.Errorf("%s: the document does not name scope %s", pattern, scope)
			}
		}
	}
	slices.Sort(served)
	slices.Sort(documented)
	for _, p := range served {
		if !slices.Contains(documented, p) {
			t.Errorf("served, not documented: %s", p)
		}
	}
	for _, p := range documented {
		if !slices.Contains(served, p) {
			t.Errorf("documented, not served: %s", p)
		}
	}
}

// TestMetricsLint: the metrics pass client_golang's linter (the rules of
// promtool check metrics) and, when promtool is on PATH, promtool itself.
func TestMetricsLint(t *testing.T) {
	st := newStore(t)
	publishAll(t, st, "2024-03-01", 20)
	registerModels(t, st)
	s, hs := newTestServer(t, st, Options{})
	do(t, "GET", hs.URL+"/v1/customers/C00001", tokCustomers, nil)
	do(t, "GET", hs.URL+"/v1/scores/churn", tokScores, nil)
	do(t, "POST", hs.URL+"/v1/models/churn/predict", tokPredict, strings.NewReader(`{"rows":[{"recency_days":1,"segment":"a"}]}`))
	problems, err := testutil.GatherAndLint(s.o.Gatherer)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
	_, body := do(t, "GET", hs.URL+"/metrics", tokAdmin, nil)
	for _, want := range []string{
		`prevoir_http_requests_total{code="200",route="GET /v1/customers/{id}"} 1`,
		`prevoir_scores_rows_streamed_total{task="churn"} 20`,
		`prevoir_predictions_total{model="churn"} 1`,
		`prevoir_publication_age_seconds{task="demand"}`,
		`prevoir_publication_stale{task="churn"} 0`,
		`prevoir_index_customers 20`,
		`prevoir_reloads_total{result="loaded"} 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Log("promtool not on PATH: checked with client_golang's linter only")
		return
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(string(body))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
}
