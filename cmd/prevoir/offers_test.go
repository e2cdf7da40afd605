package main

import (
	"cmp"
	"encoding/json"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestOffersCLI: the propensity chain on generated data, as the README
// tells it: features at the default (category) level, training at
// product level with the ranking evaluation in the card and --json, then
// offers published and exported, sorted by customer then rank, at most
// --top per customer, at the model's level.
func TestOffersCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("generates a history and trains; skipped under -short")
	}
	dir := t.TempDir()
	store := filepath.Join(dir, "store")
	cli := cliIn(t, store)
	cli("datasets", "generate", "--name", "demo", "--customers", "600", "--seed", "3", "--end", "2025-01-01", "--days", "300")
	var built struct {
		Rows int64 `json:"rows"`
	}
	out := cli("features", "build", "--task", "propensity", "--as-of", "2024-12-01", "--labels", "--json")
	if err := json.Unmarshal([]byte(out), &built); err != nil || built.Rows < 1000 {
		t.Fatalf("features build: %v: %s", err, out)
	}
	desc := cli("features", "describe", "--task", "propensity", "--as-of", "2024-12-01")
	if !strings.Contains(desc, "horizon 30d, level category, assoc_k 20, popular_k 20") {
		t.Errorf("describe: %s", desc)
	}

	var rep struct {
		Ranking struct {
			Level     string `json:"level"`
			Top       int    `json:"top"`
			Customers int    `json:"customers"`
			Rankers   []struct {
				Ranker string  `json:"ranker"`
				MAP    float64 `json:"map"`
			} `json:"rankers"`
		} `json:"ranking"`
		Card struct {
			Metrics map[string]json.RawMessage `json:"metrics"`
			Lineage struct {
				Extra map[string]any `json:"extra"`
			} `json:"lineage"`
		} `json:"card"`
	}
	out = cli("train", "--task", "propensity", "--as-of", "2024-12-01", "--cutoffs", "3", "--step", "30d", "--level", "product", "--top", "6", "--name", "offers", "--json")
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	rk := rep.Ranking
	if rk.Level != "product" || rk.Top != 6 || rk.Customers < 50 || len(rk.Rankers) != 4 || rk.Rankers[0].Ranker != "model" || rk.Rankers[3].Ranker != "repeat_then_popularity" {
		t.Fatalf("ranking %+v", rk)
	}
	if rep.Card.Metrics["ranking"] == nil || rep.Card.Lineage.Extra["level"] != "product" {
		t.Errorf("card metrics %v, lineage %v", len(rep.Card.Metrics), rep.Card.Lineage.Extra)
	}
	text := cli("train", "--task", "propensity", "--as-of", "2024-12-01", "--cutoffs", "3", "--step", "30d", "--level", "product", "--top", "6", "--name", "offers", "--dry-run")
	for _, s := range []string{"RANKER", "HIT@6", "MAP@6", "repeat_then_popularity", "purchase rate", "horizon 30d"} {
		if !strings.Contains(text, s) {
			t.Errorf("train text lacks %q:\n%s", s, text)
		}
	}

	out = cli("score", "--task", "propensity", "--model", "offers@1", "--top", "5", "--exclude-bought", "30d")
	if !strings.Contains(out, "published scores/demo/propensity/2025-01-01/") {
		t.Fatalf("score: %s", out)
	}
	rows := readCSV(t, writeOut(t, dir, "offers.csv", cli("scores", "export", "propensity")))
	if strings.Join(rows[0], ",") != "customer_id,as_of,rank,item,level,probability,model" || len(rows) < 200 {
		t.Fatalf("%d rows, header %v", len(rows), rows[0])
	}
	prevCust, prevRank := "", int64(0)
	for _, r := range rows[1:] {
		rank, err := strconv.ParseInt(r[2], 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case r[0] == prevCust && rank != prevRank+1, r[0] != prevCust && (r[0] < prevCust || rank != 1), rank > 5:
			t.Fatalf("row %v after %s rank %d", r, prevCust, prevRank)
		}
		if r[4] != "product" || r[6] != "offers@1" || r[1] != "2025-01-01" {
			t.Fatalf("row %v", r)
		}
		prevCust, prevRank = r[0], rank
	}
	show := cli("scores", "show", "propensity")
	for _, s := range []string{`param removed: {"exclude_bought":`, `param top: 5`, "offers"} {
		if !strings.Contains(show, s) {
			t.Errorf("scores show lacks %q:\n%s", s, show)
		}
	}

	// Flags of one task refused on the other; a bad level names its flag.
	for _, args := range [][]string{
		{"score", "--task", "churn", "--model", "offers@1", "--top", "3"},
		{"features", "build", "--task", "churn", "--as-of", "2024-12-01", "--level", "product"},
		{"train", "--task", "churn", "--as-of", "2024-12-01", "--cutoffs", "2", "--step", "90d", "--top", "3", "--name", "x"},
	} {
		if code, _, errOut := runCLI(t, append([]string{"--store", store}, args...)...); code != 2 || !strings.Contains(errOut, "is for --task") {
			t.Errorf("%v: exit %d: %s", args, code, errOut)
		}
	}
	code, _, errOut := runCLI(t, "--store", store, "features", "build", "--task", "propensity", "--as-of", "2024-12-01", "--level", "brand")
	if code != 2 || !strings.Contains(errOut, "--level brand") {
		t.Errorf("bad level: exit %d: %s", code, errOut)
	}
}

// TestImportedPropensityModel: an XGBoost model trained in Python on
// prevoir's propensity table (testdata/gbdt/propensity) imports against
// the task's schema and publishes offers: each customer's top 3
// candidates by xgboost's own predictions, with those probabilities.
func TestImportedPropensityModel(t *testing.T) {
	if testing.Short() {
		t.Skip("generates a history; skipped under -short")
	}
	dir := t.TempDir()
	store := filepath.Join(dir, "store")
	fx := filepath.Join("..", "..", "testdata", "gbdt", "propensity")
	cli := cliIn(t, store)
	cli("datasets", "generate", "--name", "demo", "--customers", "200", "--seed", "7", "--end", "2025-01-01", "--days", "300")
	cli("features", "build", "--task", "propensity", "--as-of", "2024-12-01", "--labels", "--level", "product", "--assoc-k", "5", "--popular-k", "5")
	cli("models", "import", "--name", "pxgb", "--file", filepath.Join(fx, "propensity_xgb.json"), "--task", "propensity",
		"--reference", filepath.Join(fx, "propensity_xgb_reference.csv"), "--tolerance", "1e-5")
	cli("score", "--task", "propensity", "--model", "pxgb@1", "--as-of", "2024-12-01", "--level", "product", "--assoc-k", "5", "--popular-k", "5", "--top", "3")
	got := readCSV(t, writeOut(t, dir, "offers.csv", cli("scores", "export", "propensity")))
	ref := readCSV(t, filepath.Join(fx, "propensity_xgb_reference.csv"))
	pred := len(ref[0]) - 1
	byCust := map[string][][2]string{}
	for _, r := range ref[1:] {
		byCust[r[0]] = append(byCust[r[0]], [2]string{r[1], r[pred]})
	}
	want := map[string][]string{}
	for c, items := range byCust {
		slices.SortFunc(items, func(a, b [2]string) int {
			if x := cmp.Compare(parseF(t, b[1]), parseF(t, a[1])); x != 0 {
				return x
			}
			return strings.Compare(a[0], b[0])
		})
		for _, it := range items[:min(3, len(items))] {
			want[c] = append(want[c], it[0]+"="+it[1])
		}
	}
	have := map[string][]string{}
	for _, r := range got[1:] {
		have[r[0]] = append(have[r[0]], r[3]+"="+r[5])
	}
	if len(have) != len(want) || len(got) < 300 {
		t.Fatalf("%d customers with offers, %d in the reference (%d rows)", len(have), len(want), len(got)-1)
	}
	for c, w := range want {
		h := have[c]
		if len(h) != len(w) {
			t.Fatalf("customer %s: offers %v, want %v", c, h, w)
		}
		for i := range w {
			hi, hp, _ := strings.Cut(h[i], "=")
			wi, wp, _ := strings.Cut(w[i], "=")
			if hi != wi || math.Abs(parseF(t, hp)-parseF(t, wp)) > 1e-6 {
				t.Fatalf("customer %s: offers %v, want %v", c, h, w)
			}
		}
	}
	// A native model's level wins over nothing but itself.
	cli("train", "--task", "propensity", "--as-of", "2024-12-01", "--cutoffs", "2", "--step", "30d", "--level", "product", "--name", "native", "--min-class", "5")
	if code, _, errOut := runCLI(t, "--store", store, "score", "--task", "propensity", "--model", "native@1", "--level", "category"); code != 2 || !strings.Contains(errOut, "--level category: model native@1 was trained at level product") {
		t.Errorf("contradicting level: exit %d: %s", code, errOut)
	}
}
