package serve

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prevoir/prevoir/serve/publish"
)

// cutter cuts the connection of its first cuts responses after limit
// bytes (a different point each time), as a network failure would. The
// bytes are gzip-compressed: Go clients ask for gzip.
type cutter struct {
	next  http.Handler
	limit int64
	cuts  atomic.Int64
	max   int64
	seen  []string
}

func (c *cutter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.seen = append(c.seen, r.URL.RawQuery)
	n := c.cuts.Add(1)
	if n > c.max {
		c.next.ServeHTTP(w, r)
		return
	}
	c.next.ServeHTTP(&cutWriter{ResponseWriter: w, left: c.limit * n}, r)
}

type cutWriter struct {
	http.ResponseWriter
	left int64
}

func (w *cutWriter) Write(b []byte) (int, error) {
	if int64(len(b)) > w.left {
		w.ResponseWriter.Write(b[:w.left])
		w.ResponseWriter.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	}
	w.left -= int64(len(b))
	return w.ResponseWriter.Write(b)
}

func (w *cutWriter) Flush() { w.ResponseWriter.(http.Flusher).Flush() }

// TestPullResumes: a pull whose connection is cut mid-row three times
// resumes with the cursor and ends byte-identical to scores export, for
// a table keyed by customer and one keyed by product, warehouse and step.
func TestPullResumes(t *testing.T) {
	st := newStore(t)
	publishAll(t, st, "2024-03-01", 3000)
	s, _ := newTestServer(t, st, Options{})
	for _, c := range []struct{ task, table string }{{"churn", ""}, {"propensity", ""}, {"demand", "demand"}, {"triggers", ""}} {
		cut := &cutter{next: s.Handler(), limit: 777, max: 3}
		if c.task == "demand" {
			cut.limit = 60
		}
		hs := httptest.NewServer(cut)
		f, err := os.Create(filepath.Join(t.TempDir(), "pull.csv"))
		if err != nil {
			t.Fatal(err)
		}
		res, err := Pull(context.Background(), PullOptions{URL: hs.URL, Task: c.task, Table: c.table, Token: tokScores}, f)
		hs.Close()
		if err != nil {
			t.Fatalf("%s: %v", c.task, err)
		}
		f.Close()
		got, _ := os.ReadFile(f.Name())
		want := export(t, st, c.task, c.table, FormatCSV, "")
		if !bytes.Equal(got, want) {
			t.Fatalf("%s: pulled %d bytes, export %d", c.task, len(got), len(want))
		}
		if res.Resume != 3 || res.Bytes != int64(len(want)) || !strings.Contains(cut.seen[3], "after=") {
			t.Fatalf("%s: %+v, requests %q", c.task, res, cut.seen)
		}
		// Unchanged since: nothing written.
		f2, _ := os.Create(filepath.Join(t.TempDir(), "again.csv"))
		hs = httptest.NewServer(s.Handler())
		res2, err := Pull(context.Background(), PullOptions{URL: hs.URL, Task: c.task, Table: c.table, Token: tokScores, SinceETag: res.ETag}, f2)
		hs.Close()
		if err != nil || !res2.NotModified {
			t.Fatalf("%s since etag: %+v %v", c.task, res2, err)
		}
		if fi, _ := f2.Stat(); fi.Size() != 0 {
			t.Fatalf("wrote %d bytes though unchanged", fi.Size())
		}
		f2.Close()
	}
}

// TestPullRefusals: a publication replaced during a pull makes it start
// again on the new one (never mixing them); a wrong token and an unknown
// task end the pull with an error, not a retry loop.
func TestPullRefusals(t *testing.T) {
	st := newStore(t)
	publishRows(t, st, "churn", "2024-03-01", publish.FormatCSV, churnRows(2000, "2024-03-01"), churnSpec)
	s, _ := newTestServer(t, st, Options{})
	// The first cuts requests without a cursor are cut mid-stream and the
	// publication is then replaced.
	var cuts, maxCuts atomic.Int64
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.URL.RawQuery, "after=") && cuts.Load() < maxCuts.Load() {
			cuts.Add(1)
			defer func() { // the cut panics through here
				publishRows(t, st, "churn", "2024-03-01", publish.FormatCSV, churnRows(2000, "2024-03-01"), churnSpec)
				if _, err := s.Reload(context.Background()); err != nil {
					t.Error(err)
				}
			}()
			s.Handler().ServeHTTP(&cutWriter{ResponseWriter: w, left: 5000}, r)
			return
		}
		s.Handler().ServeHTTP(w, r)
	}))
	defer hs.Close()
	f, _ := os.Create(filepath.Join(t.TempDir(), "x.csv"))
	defer f.Close()
	plain := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	// Replaced once: the pull starts again on the new publication.
	maxCuts.Store(1)
	res, err := Pull(context.Background(), PullOptions{URL: hs.URL, Task: "churn", Token: tokScores, Client: plain}, f)
	if err != nil || res.Resume != 2 {
		t.Fatalf("replaced once: %+v %v", res, err)
	}
	got, _ := os.ReadFile(f.Name())
	want := export(t, st, "churn", "", FormatCSV, "")
	if !bytes.Equal(got, want) || res.Rows != 2000 {
		t.Fatalf("replaced once: %d bytes, export of the new publication %d", len(got), len(want))
	}
	// Replaced twice: an error (409), not a loop.
	cuts.Store(0)
	maxCuts.Store(2)
	if _, err := Pull(context.Background(), PullOptions{URL: hs.URL, Task: "churn", Token: tokScores, Client: plain}, f); err == nil || !strings.Contains(err.Error(), "409") {
		t.Fatalf("replaced twice: %v", err)
	}
	for _, o := range []PullOptions{{Task: "churn", Token: "tok-wrong-0123456789"}, {Task: "nope", Token: tokScores}} {
		o.URL = hs.URL
		if _, err := Pull(context.Background(), o, f); err == nil {
			t.Fatalf("%+v: no error", o)
		}
	}
}
