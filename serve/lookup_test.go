package serve

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

type lookupBody struct {
	CustomerID string `json:"customer_id"`
	ProductID  string `json:"product_id"`
	Warehouse  string `json:"warehouse"`
	Tasks      map[string]struct {
		Freshness freshness                   `json:"freshness"`
		Tables    map[string][]map[string]any `json:"tables"`
	} `json:"tasks"`
}

// TestCustomerLookup: one customer's rows across churn, offers and
// triggers, each task with its freshness; the same 404 for an unknown
// customer and a forgotten one.
func TestCustomerLookup(t *testing.T) {
	st := newStore(t)
	publishAll(t, st, "2024-03-01", 30)
	s, hs := newTestServer(t, st, Options{MaxAge: 24 * time.Hour, Now: func() time.Time { return time.Now().Add(48 * time.Hour) }})
	resp, body := do(t, "GET", hs.URL+"/v1/customers/C00003", tokCustomers, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("%s %s", resp.Status, body)
	}
	var got lookupBody
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	if got.CustomerID != "C00003" || len(got.Tasks) != 3 {
		t.Fatalf("tasks %v", got.Tasks)
	}
	churn := got.Tasks["churn"]
	if r := churn.Tables["churn"]; len(r) != 1 || r[0]["customer_id"] != "C00003" || r[0]["reason_1"] != `no order for 40 days, "long"` || r[0]["reason_2"] != nil {
		t.Fatalf("churn rows %v", r)
	}
	if churn.Freshness.AsOf != "2024-03-01" || churn.Freshness.Model != "churn@1" || !churn.Freshness.Stale || churn.Freshness.AgeSeconds <= 0 {
		t.Fatalf("freshness %+v", churn.Freshness)
	}
	offers := got.Tasks["propensity"].Tables["offers"]
	if len(offers) != 3 || offers[0]["rank"] != 1.0 || offers[2]["rank"] != 3.0 {
		t.Fatalf("offers not by rank: %v", offers)
	}
	if tr := got.Tasks["triggers"].Tables["triggers"]; len(tr) != 1 || tr[0]["rule"] != "lapse" {
		t.Fatalf("triggers %v", tr)
	}
	// C00001 has churn only.
	_, body = do(t, "GET", hs.URL+"/v1/customers/C00001", tokCustomers, nil)
	got = lookupBody{}
	json.Unmarshal(body, &got)
	if len(got.Tasks) != 1 {
		t.Fatalf("C00001: %s", body)
	}
	respUnknown, unknown := do(t, "GET", hs.URL+"/v1/customers/NOPE", tokCustomers, nil)
	if _, err := Forget(context.Background(), st, []string{"C00003"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if changed, err := s.Reload(context.Background()); err != nil || !changed {
		t.Fatalf("reload after forget: %v %v", changed, err)
	}
	respForgotten, forgotten := do(t, "GET", hs.URL+"/v1/customers/C00003", tokCustomers, nil)
	if respUnknown.StatusCode != 404 || respForgotten.StatusCode != 404 || string(unknown) != string(forgotten) {
		t.Fatalf("unknown %s %s, forgotten %s %s", respUnknown.Status, unknown, respForgotten.Status, forgotten)
	}
}

// TestCustomerForgottenAtLoad: a snapshot never indexes a forgotten
// customer. Its offers are published as CSV parts: forgetting used to
// rewrite those parts as plain "files" too, breaking the publication's
// checksums (this test failed on that code).
func TestCustomerForgottenAtLoad(t *testing.T) {
	st := newStore(t)
	publishAll(t, st, "2024-03-01", 10)
	if _, err := Forget(context.Background(), st, []string{"C00006"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	s, hs := newTestServer(t, st, Options{})
	if rows := s.current().customers.lookup("C00006"); rows != nil {
		t.Fatalf("forgotten customer indexed: %d rows", len(rows))
	}
	if resp, _ := do(t, "GET", hs.URL+"/v1/customers/C00006", tokCustomers, nil); resp.StatusCode != 404 {
		t.Fatal(resp.Status)
	}
}

// TestProductForecast: a product's demand steps and pre-positioning,
// all warehouses or one.
func TestProductForecast(t *testing.T) {
	st := newStore(t)
	publishAll(t, st, "2024-03-01", 10)
	_, hs := newTestServer(t, st, Options{})
	resp, body := do(t, "GET", hs.URL+"/v1/products/P02/forecast", tokScores, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("%s %s", resp.Status, body)
	}
	var got lookupBody
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	d := got.Tasks["demand"]
	if len(d.Tables["demand"]) != 6 || len(d.Tables["preposition"]) != 2 || d.Freshness.AsOf != "2024-03-01" {
		t.Fatalf("%s", body)
	}
	if p := d.Tables["preposition"][0]; p["bestseller_rank"] != 3.0 || p["preposition_qty"] != 43.5 {
		t.Fatalf("preposition %v", p)
	}
	_, body = do(t, "GET", hs.URL+"/v1/products/P02/forecast?warehouse=south", tokScores, nil)
	got = lookupBody{}
	json.Unmarshal(body, &got)
	d = got.Tasks["demand"]
	if got.Warehouse != "south" || len(d.Tables["demand"]) != 3 || len(d.Tables["preposition"]) != 1 || d.Tables["demand"][0]["warehouse"] != "south" {
		t.Fatalf("south: %s", body)
	}
	for _, u := range []string{"/v1/products/P99/forecast", "/v1/products/P02/forecast?warehouse=east"} {
		if resp, _ := do(t, "GET", hs.URL+u, tokScores, nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %s", u, resp.Status)
		}
	}
}

// TestLookupFreshnessText: the freshness a lookup writes from its parts
// rendered at load is, field for field and in order, what freshnessOf
// says at the request's time: fresh, then stale past MaxAge.
func TestLookupFreshnessText(t *testing.T) {
	st := newStore(t)
	publishAll(t, st, "2024-03-01", 5)
	now := time.Now()
	clock := func() time.Time { return now }
	s, hs := newTestServer(t, st, Options{MaxAge: time.Hour, Now: func() time.Time { return clock() }})
	p := s.current().pubs["churn"]
	for _, later := range []time.Duration{0, 2 * time.Hour} {
		now = p.m.CreatedAt.Add(later + 1500*time.Millisecond)
		f := s.freshnessOf(p)
		want := fmt.Sprintf(`"churn":{"freshness":{"as_of":%q,"created_at":%q,"model":%q,"age_seconds":%d,"stale":%v,"run":%q},`,
			f.AsOf, f.CreatedAt.UTC().Format(time.RFC3339), f.Model, f.AgeSeconds, f.Stale, f.Run)
		_, body := do(t, "GET", hs.URL+"/v1/customers/C00003", tokCustomers, nil)
		if !strings.Contains(string(body), want) || f.Stale != (later > 0) || f.AgeSeconds != int64(later/time.Second)+1 {
			t.Errorf("after %v: %s\nwant %s", later, body, want)
		}
	}
}
