package serve

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prevoir/prevoir/datasets/privacy"
	"github.com/prevoir/prevoir/serve/publish"
)

// TestScoresStreamMatchesExport: every table of every task, CSV and JSON
// lines, streams exactly what `scores export` writes, with the freshness
// headers and the completion trailer.
func TestScoresStreamMatchesExport(t *testing.T) {
	st := newStore(t)
	publishAll(t, st, "2024-03-01", 2000)
	_, hs := newTestServer(t, st, Options{})
	for _, c := range []struct{ task, table string }{
		{"churn", ""}, {"propensity", "offers"}, {"demand", "demand"}, {"demand", "preposition"}, {"triggers", ""},
	} {
		for _, format := range []string{FormatCSV, FormatJSONL} {
			resp, body := do(t, "GET", hs.URL+"/v1/scores/"+c.task+"?format="+format+"&table="+c.table, tokScores, nil)
			if resp.StatusCode != 200 {
				t.Fatalf("%s %s: %s %s", c.task, format, resp.Status, body)
			}
			want := export(t, st, c.task, c.table, format, "")
			if !bytes.Equal(body, want) {
				t.Errorf("%s/%s %s: %d bytes differ from export's %d", c.task, c.table, format, len(body), len(want))
			}
			if resp.Trailer.Get(HeaderComplete) != "true" {
				t.Errorf("%s %s: no completion trailer", c.task, format)
			}
			for _, h := range []string{"Prevoir-As-Of", "Prevoir-Created-At", "Prevoir-Model", "Prevoir-Age-Seconds", "ETag"} {
				if resp.Header.Get(h) == "" {
					t.Errorf("%s %s: no %s header", c.task, format, h)
				}
			}
			if got := resp.Header.Get("Prevoir-As-Of"); got != "2024-03-01" {
				t.Errorf("as_of header %q", got)
			}
		}
	}
	// By Accept, and gzip when asked.
	resp, body := do(t, "GET", hs.URL+"/v1/scores/churn", tokScores, nil, "Accept", "application/x-ndjson", "Accept-Encoding", "gzip")
	if resp.Header.Get("Content-Encoding") != "gzip" || resp.Header.Get("Content-Type") != "application/x-ndjson" {
		t.Fatalf("headers %v", resp.Header)
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil || !bytes.Equal(plain, export(t, st, "churn", "", FormatJSONL, "")) {
		t.Fatalf("gzip jsonl differs from export (%v)", err)
	}
}

// TestScoresPages: pages of every size concatenate to the whole table,
// over sort keys of strings and integers, with and without a channel.
func TestScoresPages(t *testing.T) {
	st := newStore(t)
	publishAll(t, st, "2024-03-01", 300)
	ctx := context.Background()
	if err := privacy.SetConsent(ctx, st, []string{"C00003", "C00010", "C00099"}, privacy.Email, false, time.Now().Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	_, hs := newTestServer(t, st, Options{MaxPageRows: 1000})
	for _, c := range []struct{ task, table, channel string }{
		{"churn", "", ""}, {"churn", "", "email"}, {"propensity", "", "email"}, {"demand", "demand", ""}, {"demand", "preposition", ""}, {"triggers", "", "email"},
	} {
		want := export(t, st, c.task, c.table, FormatCSV, c.channel)
		for _, limit := range []string{"1", "7", "100", "1000"} {
			var got bytes.Buffer
			after, pages := "", 0
			for {
				q := url.Values{"table": {c.table}, "limit": {limit}, "channel": {c.channel}, "after": {after}}
				resp, body := do(t, "GET", hs.URL+"/v1/scores/"+c.task+"?"+q.Encode(), tokScores, nil)
				if resp.StatusCode != 200 {
					t.Fatalf("%+v limit %s: %s %s", c, limit, resp.Status, body)
				}
				if pages > 0 {
					_, body, _ = bytes.Cut(body, []byte("\n")) // the header again
				}
				got.Write(body)
				pages++
				if after = resp.Header.Get(HeaderNextCursor); after == "" {
					break
				}
				if pages > 400 {
					t.Fatalf("%+v: no end", c)
				}
			}
			if !bytes.Equal(got.Bytes(), want) {
				t.Errorf("%+v limit %s: pages give %d bytes, export %d", c, limit, got.Len(), len(want))
			}
		}
	}
	if bytes.Contains(export(t, st, "churn", "", FormatCSV, "email"), []byte("C00010")) {
		t.Fatal("the opted-out customer is in the export: the channel case tests nothing")
	}
}

// TestScoresETagAndAsOf: If-None-Match gives 304 until a new publication;
// ?as_of= serves an older one; a cursor of a replaced publication is 409.
func TestScoresETagAndAsOf(t *testing.T) {
	st := newStore(t)
	publishRows(t, st, "churn", "2024-03-01", publish.FormatCSV, churnRows(50, "2024-03-01"), churnSpec)
	s, hs := newTestServer(t, st, Options{})
	resp, _ := do(t, "GET", hs.URL+"/v1/scores/churn?limit=10", tokScores, nil)
	etag, cur := resp.Header.Get("ETag"), resp.Header.Get(HeaderNextCursor)
	if resp, _ := do(t, "GET", hs.URL+"/v1/scores/churn", tokScores, nil, "If-None-Match", etag); resp.StatusCode != http.StatusNotModified {
		t.Fatalf("same etag: %s", resp.Status)
	}
	publishRows(t, st, "churn", "2024-03-02", publish.FormatCSV, churnRows(50, "2024-03-02"), churnSpec)
	if _, err := s.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	resp, _ = do(t, "GET", hs.URL+"/v1/scores/churn", tokScores, nil, "If-None-Match", etag)
	if resp.StatusCode != 200 || resp.Header.Get("Prevoir-As-Of") != "2024-03-02" {
		t.Fatalf("after a new publication: %s as of %s", resp.Status, resp.Header.Get("Prevoir-As-Of"))
	}
	// The cursor stays on its publication (2024-03-01), not LATEST.
	resp, body := do(t, "GET", hs.URL+"/v1/scores/churn?limit=10&after="+cur, tokScores, nil)
	if resp.StatusCode != 200 || resp.Header.Get("Prevoir-As-Of") != "2024-03-01" || !strings.Contains(string(body), "C00010,2024-03-01") {
		t.Fatalf("cursor of the older publication: %s %s\n%s", resp.Status, resp.Header.Get("Prevoir-As-Of"), body)
	}
	resp, body = do(t, "GET", hs.URL+"/v1/scores/churn?as_of=2024-03-01&format=csv", tokScores, nil)
	if resp.StatusCode != 200 || !strings.Contains(string(body), ",2024-03-01,") {
		t.Fatalf("as_of: %s %s", resp.Status, body)
	}
	// Republishing 2024-03-01 replaces it: the old cursor is refused.
	publishRows(t, st, "churn", "2024-03-01", publish.FormatCSV, churnRows(50, "2024-03-01"), churnSpec)
	if resp, body := do(t, "GET", hs.URL+"/v1/scores/churn?after="+cur, tokScores, nil); resp.StatusCode != http.StatusConflict {
		t.Fatalf("cursor of a replaced publication: %s %s", resp.Status, body)
	}
	for _, q := range []string{"as_of=2024-13-01", "as_of=2023-01-01", "format=xml", "limit=0", "limit=1000001", "after=bogus", "channel=fax", "table=nope"} {
		resp, body := do(t, "GET", hs.URL+"/v1/scores/churn?"+q, tokScores, nil)
		if resp.StatusCode != 400 && resp.StatusCode != 404 {
			t.Errorf("%s: %s %s", q, resp.Status, body)
		}
	}
	if resp, _ := do(t, "GET", hs.URL+"/v1/scores/nosuchtask", tokScores, nil); resp.StatusCode != 404 {
		t.Errorf("unknown task: %s", resp.Status)
	}
	resp, body = do(t, "GET", hs.URL+"/v1/scores/churn/manifest", tokScores, nil)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"freshness":{"as_of":"2024-03-02"`) || !strings.Contains(string(body), `"tables"`) {
		t.Fatalf("manifest: %s %s", resp.Status, body)
	}
}

// TestScoresStreamLimit: streams beyond MaxStreams are refused with 503,
// not queued.
func TestScoresStreamLimit(t *testing.T) {
	st := newStore(t)
	publishRows(t, st, "churn", "2024-03-01", publish.FormatCSV, churnRows(20, "2024-03-01"), churnSpec)
	s, hs := newTestServer(t, st, Options{MaxStreams: 1})
	s.streams <- struct{}{} // one stream in flight
	resp, _ := do(t, "GET", hs.URL+"/v1/scores/churn", tokScores, nil)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("over the limit: %s", resp.Status)
	}
	<-s.streams
	if resp, _ := do(t, "GET", hs.URL+"/v1/scores/churn", tokScores, nil); resp.StatusCode != 200 {
		t.Fatalf("under the limit: %s", resp.Status)
	}
}

// TestCSVRecordsParse guards the test data: the reasons hold a comma and
// quotes, so CSV quoting is exercised.
func TestCSVRecordsParse(t *testing.T) {
	st := newStore(t)
	publishRows(t, st, "churn", "2024-03-01", publish.FormatCSV, churnRows(3, "2024-03-01"), churnSpec)
	recs, err := csv.NewReader(bytes.NewReader(export(t, st, "churn", "", FormatCSV, ""))).ReadAll()
	if err != nil || len(recs) != 4 || recs[1][5] != `no order for 40 days, "long"` {
		t.Fatalf("%v %q", err, recs)
	}
}
