package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestChurnCLVCLI: `train --task churn` reports the label-free BG/NBD
// baseline beside the recency baseline (text, --json and the card) while
// the plain model takes no clv column; `--clv-features` trains a model
// that takes p_alive and expected_purchases_90d and records their
// parameters; `score --task churn` publishes it for every customer, and
// the nightly job scores it and retrains a challenger with the same
// columns, judged on the same held-out cutoff.
func TestChurnCLVCLI(t *testing.T) {
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
	cli("datasets", "generate", "--name", "demo", "--customers", "800", "--seed", "7", "--end", "2025-01-01", "--days", "400")
	base := []string{"train", "--task", "churn", "--as-of", "2024-10-01", "--cutoffs", "2", "--step", "90d", "--min-class", "20"}

	text := cli(append(base, "--name", "churn", "--dry-run")...)
	for _, want := range []string{"BG/NBD (NO LABELS)", "BG/NBD (no labels): P(no purchase in the horizon)", "roc auc of 1 - p_alive alone"} {
		if !strings.Contains(text, want) {
			t.Errorf("train output lacks %q:\n%s", want, text)
		}
	}
	type report struct {
		Model struct {
			Holdout struct {
				AUC float64 `json:"roc_auc"`
			} `json:"holdout"`
		} `json:"model"`
		CLVBaseline *struct {
			Name    string `json:"name"`
			Cutoff  string `json:"cutoff"`
			Holdout struct {
				AUC float64 `json:"roc_auc"`
			} `json:"holdout"`
			AUCPAlive float64 `json:"roc_auc_p_alive"`
		} `json:"clv_baseline"`
		Card struct {
			Inputs struct {
				Features []struct{ Name string } `json:"features"`
			} `json:"inputs"`
			Parameters map[string]any `json:"parameters"`
			Metrics    map[string]any `json:"metrics"`
		} `json:"card"`
	}
	var plain report
	if err := json.Unmarshal([]byte(cli(append(base, "--name", "churn", "--json")...)), &plain); err != nil {
		t.Fatal(err)
	}
	cb := plain.CLVBaseline
	if cb == nil || cb.Name != "bgnbd" || cb.Cutoff != "2024-10-01" || !(cb.Holdout.AUC > 0.6) || plain.Card.Metrics["clv_baseline"] == nil {
		t.Fatalf("clv baseline %+v, card metrics %v", cb, plain.Card.Metrics["clv_baseline"])
	}
	t.Logf("800 customers: model AUC %.4f, BG/NBD baseline AUC %.4f, 1 - p_alive %.4f", plain.Model.Holdout.AUC, cb.Holdout.AUC, cb.AUCPAlive)
	names := func(r report) string {
		var s []string
		for _, f := range r.Card.Inputs.Features {
			s = append(s, f.Name)
		}
		return strings.Join(s, " ")
	}
	if n := names(plain); strings.Contains(n, "p_alive") || strings.Contains(n, "expected_purchases") || plain.Card.Parameters["clv_features"] != nil {
		t.Errorf("the plain model takes clv columns: %s", n)
	}

	var withCLV report
	if err := json.Unmarshal([]byte(cli(append(base, "--name", "churnclv", "--clv-features", "--promote", "champion", "--json")...)), &withCLV); err != nil {
		t.Fatal(err)
	}
	if n := names(withCLV); !strings.HasSuffix(n, "p_alive expected_purchases_90d") {
		t.Errorf("inputs %s", n)
	}
	show := cli("models", "show", "churnclv@champion", "--json")
	for _, want := range []string{`"clv_features"`, `"fitted_as_of": "2024-10-01"`, `"clv_fits"`, "/clv/2024-07-03/"} {
		if !strings.Contains(show, want) {
			t.Errorf("models show lacks %s", want)
		}
	}

	out := cli("score", "--task", "churn", "--model", "churnclv@champion")
	if !strings.Contains(out, "published scores/demo/churn/2025-01-01/") {
		t.Fatalf("score: %s", out)
	}
	rows := readCSV(t, writeOut(t, dir, "scores.csv", cli("scores", "export", "churn")))
	cli("features", "export", "--task", "churn", "--as-of", "2025-01-01", filepath.Join(dir, "f.csv"))
	fb, err := os.ReadFile(filepath.Join(dir, "f.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.Count(string(fb), "\n") - 1; len(rows)-1 != want || want < 100 {
		t.Errorf("%d published rows, %d customers in the scoring table", len(rows)-1, want)
	}
	for _, r := range rows[1:] {
		if p, err := strconv.ParseFloat(r[2], 64); err != nil || p < 0 || p > 1 || r[4] != "churnclv@1" {
			t.Fatalf("row %v", r)
		}
	}
	if man := cli("scores", "show", "churn", "--json"); !strings.Contains(man, "clv_features") {
		t.Errorf("the publication does not record the clv summary: %s", man)
	}

	// The nightly job: the champion scores, and a challenger is trained
	// with the same columns and judged on the same cutoff.
	cfg := filepath.Join(dir, "prevoir.yaml")
	conf := "dataset: demo\ntasks:\n  churn:\n    model: churnclv@champion\nretrain:\n  every: 7d\n  cutoffs: 2\n  step: 90d\n  c: [1]\n  margin: 0.5\n  min_class: 20\n"
	if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	out = cli("run", "--config", cfg, "--json")
	var rs struct {
		OK      bool `json:"ok"`
		Retrain []struct {
			Challenger    int     `json:"challenger_version"`
			ChampionValue float64 `json:"champion_value"`
		} `json:"retrain"`
	}
	if err := json.Unmarshal([]byte(out), &rs); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if !rs.OK || len(rs.Retrain) != 1 || rs.Retrain[0].Challenger != 2 || !(rs.Retrain[0].ChampionValue > 0.5) {
		t.Fatalf("run: %s", out)
	}
	if show := cli("models", "show", "churnclv@2", "--json"); !strings.Contains(show, `"clv_features"`) || !strings.Contains(show, `"p_alive"`) {
		t.Errorf("the challenger lost the clv columns")
	}

	// Refused where they mean nothing.
	for _, args := range [][]string{
		{"train", "--task", "propensity", "--as-of", "2024-10-01", "--cutoffs", "2", "--step", "90d", "--name", "p", "--clv-features"},
		{"train", "--table", filepath.Join(dir, "f.csv"), "--label", "recency_days", "--name", "t", "--clv-features"},
	} {
		if code, _, errOut := runCLI(t, append([]string{"--store", store}, args...)...); code != 2 || !strings.Contains(errOut, "--clv-features") {
			t.Errorf("%v: exit %d, %s", args, code, errOut)
		}
	}
}
