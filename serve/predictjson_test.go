package serve

import (
	"bytes"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prevoir/prevoir/models"
)

// predictBodies are requests for churn@1 (recency_days numeric, segment
// categorical a/b), good and bad, that the fast path must answer as the
// general path does.
var predictBodies = []string{
	`{"rows":[{"recency_days":40,"segment":"b"}]}`,
	` { "rows" : [ {"segment":"a" , "recency_days":-0.5e+2} ,{"recency_days":null,"segment":null}] , "output":"raw" } ` + "\n",
	`{"output":"response","rows":[{"recency_days":0,"segment":"zzz"},{"recency_days":1E3,"segment":1}]}`,
	`{"rows":[{"recency_days":12.25,"segment":" b "}],"output":""}`,
	`{"rows":[{"recency_days":1,"segment":"\u0062"}]}`,
	`{"rows":[{"recency_days":1,"segment":"é"}]}`,
	"{\"rows\":[{\"recency_days\":1,\"segment\":\"\xff\"}]}",
	`{"Rows":[{"recency_days":1,"segment":"a"}]}`,
	`{"rows":[{"recency_days":1,"segment":"a"}],"rows":[{"recency_days":2,"segment":"b"}]}`,
	`{"rows":[{"recency_days":1,"recency_days":2,"segment":"a"}]}`,
	`{"rows":[{"recency_days":1}]}`,
	`{"rows":[{"recency_days":1,"segment":"a","colour":2}]}`,
	`{"rows":[{"recency_days":"1","segment":"a"}]}`,
	`{"rows":[{"recency_days":true,"segment":"a"}]}`,
	`{"rows":[{"recency_days":1e999,"segment":"a"}]}`,
	`{"rows":[{"recency_days":01,"segment":"a"}]}`,
	`{"rows":[{"recency_days":1.,"segment":"a"}]}`,
	`{"rows":[{"recency_days":-,"segment":"a"}]}`,
	`{"rows":[{"recency_days":1,"segment":"a"}`,
	`{"rows":[{"recency_days":1,"segment":"a"}]} {}`,
	`{"rows":[{"recency_days":1,"segment":"a"}]}x`,
	`{"rows":[{"recency_days":1,"segment":"a"},]}`,
	`{"rows":[],"x":1}`,
	`{"rows":[]}`,
	`{"rows":null}`,
	`{}`,
	`[]`,
	``,
	`{"rows":[{"recency_days":1,"segment":"a"}],"output":"odds"}`,
	`{"rows":[{"recency_days":1,"segment":"a"}],"output":null}`,
	`{"rows":[{},{},{},{}]}`,
	`{"rows":[{"recency_days":1,"segment":"a"},{"recency_days":1,"segment":"a"},{"recency_days":1,"segment":"a"},{"recency_days":1,"segment":"a"}]}`,
	`{"rows":[{"recency_days":1,"segment":"` + strings.Repeat("a", 5000) + `"}]}`,
}

// predictBoth answers body for ref twice: through the handler (the fast
// path once the model is loaded) and through predictGeneral alone.
func predictBoth(t testing.TB, s *Server, ref, body string) (fast, general *httptest.ResponseRecorder) {
	h := s.Handler()
	fast = httptest.NewRecorder()
	req := httptest.NewRequest("POST", "/v1/models/"+ref+"/predict", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tokPredict)
	h.ServeHTTP(fast, req)

	general = httptest.NewRecorder()
	req = httptest.NewRequest("POST", "/v1/models/"+ref+"/predict", strings.NewReader(body))
	rr, err := modelRef(s.current(), ref)
	if err != nil {
		t.Fatal(err)
	}
	sw := &statusWriter{ResponseWriter: general, code: http.StatusOK, s: s}
	s.predictGeneral(sw, req, rr, http.MaxBytesReader(sw, req.Body, s.o.MaxBodyBytes), &predictScratch{})
	return fast, general
}

func newPredictServer(t testing.TB) *Server {
	st := newStore(t)
	publishAll(t, st, "2024-03-01", 5)
	registerModels(t, st)
	s, _ := newTestServer(t, st, Options{MaxPredictRows: 3, MaxBodyBytes: 4096})
	// The first request loads the model: later ones may take the fast path.
	if fast, _ := predictBoth(t, s, "churn@1", predictBodies[0]); fast.Code != 200 {
		t.Fatalf("%d %s", fast.Code, fast.Body)
	}
	return s
}

// TestPredictFastPathSameAnswers: every request, good or bad, gets the
// same status and body from the handler as from the general path.
func TestPredictFastPathSameAnswers(t *testing.T) {
	s := newPredictServer(t)
	for _, body := range predictBodies {
		fast, general := predictBoth(t, s, "churn@1", body)
		if fast.Code != general.Code || fast.Body.String() != general.Body.String() {
			t.Errorf("%.80q:\nhandler %d %s\ngeneral %d %s", body, fast.Code, fast.Body, general.Code, general.Body)
		}
	}
}

// TestPredictFastPathTaken: the scanner reads the common requests itself
// (with the values Binder gives the general path's text) and leaves the
// others; were it to give up on everything, the answers would still
// match, so this checks it does not.
func TestPredictFastPathTaken(t *testing.T) {
	s := newPredictServer(t)
	lm := s.current().refs["churn@1"].lm.Load()
	if lm == nil {
		t.Fatal("churn@1 not cached after a prediction")
	}
	nan := math.NaN()
	for _, c := range []struct {
		body string
		kind models.OutputKind
		want []float64 // rows of (recency_days, segment level)
	}{
		{predictBodies[0], models.Response, []float64{40, 1}},
		{predictBodies[1], models.Raw, []float64{-50, 0, nan, nan}},
		{predictBodies[2], models.Response, []float64{0, -1, 1000, -1}},
		{predictBodies[3], models.Response, []float64{12.25, 1}},
		{predictBodies[5], models.Response, []float64{1, -1}},
	} {
		var sc predictScratch
		pb, ok := lm.scanPredict([]byte(c.body), 3, &sc)
		if !ok || pb.kind != c.kind || pb.rows*2 != len(c.want) {
			t.Fatalf("%s: %+v %v", c.body, pb, ok)
		}
		for i, w := range c.want {
			if got := sc.vals[i]; got != w && !(math.IsNaN(got) && math.IsNaN(w)) {
				t.Errorf("%s: value %d = %v, want %v", c.body, i, got, w)
			}
		}
		for _, r := range sc.rec {
			if r != "" {
				t.Fatalf("a view of the body kept: %q", r)
			}
		}
	}
	// Every other body but the last (refused for its size, when read).
	for _, body := range predictBodies[4 : len(predictBodies)-1] {
		if body == predictBodies[5] {
			continue
		}
		if _, ok := lm.scanPredict([]byte(body), 3, &predictScratch{}); ok {
			t.Errorf("%.80q: read by the fast path", body)
		}
	}
}

// FuzzPredictFastPath: no body is answered differently by the handler
// and by the general path.
func FuzzPredictFastPath(f *testing.F) {
	for _, b := range predictBodies {
		f.Add(b)
	}
	s := newPredictServer(f)
	f.Fuzz(func(t *testing.T, body string) {
		fast, general := predictBoth(t, s, "churn@1", body)
		if fast.Code != general.Code || !bytes.Equal(fast.Body.Bytes(), general.Body.Bytes()) {
			t.Fatalf("%q:\nhandler %d %s\ngeneral %d %s", body, fast.Code, fast.Body, general.Code, general.Body)
		}
	})
}

// TestModelRefsResolveAsParsed: every reference the snapshot resolves
// by lookup resolves to the same version through ParseRef.
func TestModelRefsResolveAsParsed(t *testing.T) {
	s := newPredictServer(t)
	snap := s.current()
	if len(snap.refs) < 8 {
		t.Fatalf("%d refs", len(snap.refs))
	}
	for k, rr := range snap.refs {
		saved := snap.refs
		snap.refs = nil
		got, err := modelRef(snap, k)
		snap.refs = saved
		if err != nil || got.e != rr.e || got.v != rr.v {
			t.Errorf("%s: lookup %s@%d, parsed %+v %v", k, rr.e.Name, rr.v, got, err)
		}
	}
	for _, k := range []string{"churn@champion", "churn", "churn@latest", "churn@2", "lgb@1"} {
		if snap.refs[k] == nil {
			t.Errorf("%s not resolved by lookup", k)
		}
	}
}
