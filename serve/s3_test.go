package serve

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/prevoir/prevoir/datasets/s3"
	"github.com/prevoir/prevoir/datasets/s3/s3test"
	"github.com/prevoir/prevoir/serve/publish"
)

// TestServeOverS3: the server over a real S3 store (MinIO): streams equal
// the export, lookups and predictions answer, and a new publication is
// seen by a reload (the fingerprint uses S3's ETags).
func TestServeOverS3(t *testing.T) {
	srv := s3test.Start(t)
	st, err := s3.New(context.Background(), srv.NewBucket(t), "serve", srv.Config())
	if err != nil {
		t.Fatal(err)
	}
	publishAll(t, st, "2024-03-01", 300)
	registerModels(t, st)
	s, hs := newTestServer(t, st, Options{})
	resp, body := do(t, "GET", hs.URL+"/v1/scores/propensity?format=jsonl", tokScores, nil)
	if resp.StatusCode != 200 || !bytes.Equal(body, export(t, st, "propensity", "", FormatJSONL, "")) {
		t.Fatalf("stream: %s, %d bytes", resp.Status, len(body))
	}
	if resp, body := do(t, "GET", hs.URL+"/v1/customers/C00003", tokCustomers, nil); resp.StatusCode != 200 || !strings.Contains(string(body), `"offers":[`) {
		t.Fatalf("lookup: %s %s", resp.Status, body)
	}
	if resp, body := do(t, "POST", hs.URL+"/v1/models/lgb/predict", tokPredict, strings.NewReader(
		`{"rows":[{"region":26,"price_index":0.8995,"visits_30d":2,"days_since_promo":26,"basket_size":30.9,"loyalty_score":0.8153}]}`)); resp.StatusCode != 200 {
		t.Fatalf("predict: %s %s", resp.Status, body)
	}
	if changed, err := s.Reload(context.Background()); changed || err != nil {
		t.Fatalf("reload of an unchanged store: %v %v", changed, err)
	}
	publishRows(t, st, "churn", "2024-03-02", publish.FormatParquet, churnRows(300, "2024-03-02"), churnSpec)
	if changed, err := s.Reload(context.Background()); !changed || err != nil {
		t.Fatalf("reload after a publication: %v %v", changed, err)
	}
	if resp, _ := do(t, "GET", hs.URL+"/v1/scores/churn/manifest", tokScores, nil); resp.Header.Get("Prevoir-As-Of") != "2024-03-02" {
		t.Fatalf("as of %s", resp.Header.Get("Prevoir-As-Of"))
	}
}
