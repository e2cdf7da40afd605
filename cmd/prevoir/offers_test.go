package main

import (
	"encoding/json"
	"path/filepath"
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
	cli := func(args ...string) string {
		t.Helper()
		code, out, errOut := runCLI(t, append([]string{"--store", store}, args...)...)
		if code != 0 {
			t.Fatalf("prevoir %s: exit %d: %s", strings.Join(args, " "), code, errOut)
		}
		return out
	}
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
	for _, s := range []string{"RANKER", "HIT@6", "MAP@6", "repeat_then_popularity", "purchase rate"} {
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
