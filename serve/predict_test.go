package serve

import (
	"context"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/prevoir/prevoir/datasets/datatest"
	"github.com/prevoir/prevoir/models"
)

type predictBody struct {
	Model       string     `json:"model"`
	Version     int        `json:"version"`
	Kind        string     `json:"kind"`
	Predictions []*float64 `json:"predictions"`
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// TestPredictLogistic: the native model by alias, version and latest;
// values by the card's arithmetic (1/(1+exp(-(b + 0.05*recency + [segment=b])))).
func TestPredictLogistic(t *testing.T) {
	st := newStore(t)
	publishAll(t, st, "2024-03-01", 5)
	registerModels(t, st)
	_, hs := newTestServer(t, st, Options{})
	body := `{"rows":[{"recency_days":40,"segment":"b"},{"recency_days":null,"segment":"a"},{"recency_days":10,"segment":"zzz"}]}`
	for _, c := range []struct {
		ref       string
		version   int
		intercept float64
	}{{"churn@champion", 1, -2}, {"churn@1", 1, -2}, {"churn@2", 2, 0}, {"churn", 2, 0}, {"churn@latest", 2, 0}} {
		resp, b := do(t, "POST", hs.URL+"/v1/models/"+c.ref+"/predict", tokPredict, strings.NewReader(body))
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %s %s", c.ref, resp.Status, b)
		}
		var got predictBody
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		// recency missing takes Impute 30; an unknown level is 0.
		want := []float64{sigmoid(c.intercept + 0.05*40 + 1), sigmoid(c.intercept + 0.05*30), sigmoid(c.intercept + 0.05*10)}
		if got.Version != c.version || got.Model != "churn" || got.Kind != models.KindLogistic || len(got.Predictions) != 3 {
			t.Fatalf("%s: %s", c.ref, b)
		}
		for i, w := range want {
			if math.Abs(*got.Predictions[i]-w) > 1e-12 {
				t.Errorf("%s row %d: %v, want %v", c.ref, i, *got.Predictions[i], w)
			}
		}
	}
	resp, b := do(t, "POST", hs.URL+"/v1/models/churn@1/predict", tokPredict, strings.NewReader(`{"rows":[{"recency_days":40,"segment":"b"}],"output":"raw"}`))
	var raw predictBody
	json.Unmarshal(b, &raw)
	if resp.StatusCode != 200 || math.Abs(*raw.Predictions[0]-(-2+2+1)) > 1e-12 {
		t.Fatalf("raw: %s", b)
	}
}

// TestPredictImported: an imported LightGBM model scores as LightGBM
// does (its own predictions, file testdata/gbdt/lgb4/binary_categorical_pred.txt).
func TestPredictImported(t *testing.T) {
	st := newStore(t)
	publishAll(t, st, "2024-03-01", 5)
	registerModels(t, st)
	_, hs := newTestServer(t, st, Options{})
	lines := strings.Split(strings.TrimSpace(datatest.ReadTestdata("gbdt/lgb4/binary_categorical_input.csv")), "\n")
	preds := strings.Split(strings.TrimSpace(datatest.ReadTestdata("gbdt/lgb4/binary_categorical_pred.txt")), "\n")
	header := strings.Split(lines[0], ",")
	var rows []string
	n := 50
	for _, l := range lines[1 : n+1] {
		var kv []string
		for i, v := range strings.Split(l, ",") {
			if v == "" {
				v = "null"
			}
			kv = append(kv, strconv.Quote(header[i])+":"+v)
		}
		rows = append(rows, "{"+strings.Join(kv, ",")+"}")
	}
	resp, b := do(t, "POST", hs.URL+"/v1/models/lgb/predict", tokPredict, strings.NewReader(`{"rows":[`+strings.Join(rows, ",")+`]}`))
	if resp.StatusCode != 200 {
		t.Fatalf("%s %s", resp.Status, b)
	}
	var got predictBody
	json.Unmarshal(b, &got)
	if got.Kind != models.KindLightGBM || len(got.Predictions) != n {
		t.Fatalf("%s", b)
	}
	for i := 0; i < n; i++ {
		w, _ := strconv.ParseFloat(preds[i], 64)
		if math.Abs(*got.Predictions[i]-w) > 1e-9 {
			t.Errorf("row %d: %v, LightGBM says %v", i, *got.Predictions[i], w)
		}
	}
}

// TestPredictRefusals: each bad request is a 4xx that names the problem.
func TestPredictRefusals(t *testing.T) {
	st := newStore(t)
	publishAll(t, st, "2024-03-01", 5)
	registerModels(t, st)
	_, hs := newTestServer(t, st, Options{MaxPredictRows: 3, MaxBodyBytes: 4096})
	for _, c := range []struct {
		ref, body string
		code      int
		says      string
	}{
		{"churn@1", `{"rows":[{"recency_days":1}]}`, 400, `row 0: missing feature "segment"`},
		{"churn@1", `{"rows":[{"recency_days":1,"segment":"a","colour":2}]}`, 400, `unknown feature "colour"`},
		{"churn@1", `{"rows":[{"recency_days":1,"segment":"a"},{"recency_days":"ten","segment":"a"}]}`, 400, `row 1: feature "recency_days": "ten" is not a number`},
		{"churn@1", `{"rows":[{"recency_days":true,"segment":"a"}]}`, 400, `feature "recency_days": true is not a number`},
		{"churn@1", `{"rows":[{"recency_days":1e999,"segment":"a"}]}`, 400, `feature "recency_days"`},
		{"churn@1", `{"rows":[{"recency_days":1,"segment":"a"}`, 400, "malformed JSON"},
		{"churn@1", `{"rows":[{"recency_days":1,"segment":"a"}]} {}`, 400, "found more"},
		{"churn@1", `{"rows":[],"x":1}`, 400, "malformed JSON"},
		{"churn@1", `{"rows":[]}`, 400, "rows is empty"},
		{"churn@1", `{"rows":[{"recency_days":1,"segment":"a"}],"output":"odds"}`, 400, "output"},
		{"churn@1", `{"rows":[{},{},{},{}]}`, 413, "at most 3"},
		{"churn@1", `{"rows":[{"recency_days":1,"segment":"` + strings.Repeat("a", 5000) + `"}]}`, 413, "exceeds 4096 bytes"},
		{"churn@nope", `{"rows":[{"recency_days":1,"segment":"a"}]}`, 404, "no version or alias"},
		{"churn@9", `{"rows":[{"recency_days":1,"segment":"a"}]}`, 404, "no version or alias"},
		{"nomodel", `{"rows":[{"x":1}]}`, 404, `no model "nomodel"`},
		{"bad!name", `{"rows":[{"x":1}]}`, 400, "model name"},
	} {
		resp, b := do(t, "POST", hs.URL+"/v1/models/"+c.ref+"/predict", tokPredict, strings.NewReader(c.body))
		var e struct{ Error string }
		json.Unmarshal(b, &e)
		if resp.StatusCode != c.code || !strings.Contains(e.Error, c.says) {
			t.Errorf("%s %.60s: %s %s, want %d saying %q", c.ref, c.body, resp.Status, b, c.code, c.says)
		}
	}
}

// TestModelsEndpoints: the listing and one model's versions, aliases and
// cards.
func TestModelsEndpoints(t *testing.T) {
	st := newStore(t)
	registerModels(t, st)
	publishAll(t, st, "2024-03-01", 5)
	s, hs := newTestServer(t, st, Options{})
	_, b := do(t, "GET", hs.URL+"/v1/models", tokPredict, nil)
	var list struct {
		Models []struct {
			Name     string         `json:"name"`
			Aliases  map[string]int `json:"aliases"`
			Versions []modelVersion `json:"versions"`
		} `json:"models"`
	}
	if err := json.Unmarshal(b, &list); err != nil || len(list.Models) != 2 || list.Models[0].Name != "churn" || list.Models[0].Aliases["champion"] != 1 ||
		len(list.Models[0].Versions) != 2 || list.Models[0].Versions[0].Aliases[0] != "champion" {
		t.Fatalf("%v %s", err, b)
	}
	resp, b := do(t, "GET", hs.URL+"/v1/models/lgb", tokPredict, nil)
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"card":{`) || !strings.Contains(string(b), `"kind":"lightgbm"`) {
		t.Fatalf("%s %s", resp.Status, b)
	}
	if resp, _ := do(t, "GET", hs.URL+"/v1/models/nope", tokPredict, nil); resp.StatusCode != 404 {
		t.Fatal(resp.Status)
	}
	// An alias move is seen after a reload.
	if _, err := testRegistry(st).Promote(context.Background(), "churn", 2, "champion"); err != nil {
		t.Fatal(err)
	}
	if changed, err := s.Reload(context.Background()); !changed || err != nil {
		t.Fatalf("%v %v", changed, err)
	}
	_, b = do(t, "POST", hs.URL+"/v1/models/churn@champion/predict", tokPredict, strings.NewReader(`{"rows":[{"recency_days":0,"segment":"a"}]}`))
	if !strings.Contains(string(b), `"version":2`) {
		t.Fatalf("after the move: %s", b)
	}
}
