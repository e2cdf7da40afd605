package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestCLVCLI: train --task clv registers a bgnbd-gg model whose card
// holds r, alpha, a, b, p, q, v and the calibration/holdout table; score
// --task clv publishes one row per customer of the clv summary with the
// horizon's columns; score --task segments uses that publication and
// scores show segments summarises it; the clv flags are refused with
// churn.
func TestCLVCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("generates a history and trains; skipped under -short")
	}
	dir := t.TempDir()
	store := filepath.Join(dir, "store")
	cli := cliIn(t, store)
	cli("datasets", "generate", "--name", "demo", "--customers", "600", "--seed", "3", "--end", "2025-01-01", "--days", "500")
	out := cli("train", "--task", "clv", "--as-of", "2024-10-01", "--horizon", "13w", "--model", "mbgnbd", "--name", "value", "--promote", "champion")
	for _, want := range []string{"registered value@1: mbgnbd + gamma-gamma, unit days", "bgnbd", "gamma-gamma", "calibration/holdout", "7+"} {
		if !strings.Contains(out, want) {
			t.Errorf("train output lacks %q:\n%s", want, out)
		}
	}
	var card struct {
		Kind         string             `json:"kind"`
		Coefficients map[string]float64 `json:"coefficients"`
		Metrics      map[string]any     `json:"metrics"`
	}
	if err := json.Unmarshal([]byte(cli("models", "show", "value@1", "--json")), &card); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"r", "alpha", "a", "b", "p", "q", "v"} {
		if !(card.Coefficients[k] > 0) {
			t.Errorf("coefficient %s = %v", k, card.Coefficients[k])
		}
	}
	if card.Kind != "bgnbd-gg" || card.Metrics["calibration_holdout"] == nil || card.Metrics["log_likelihood"] == nil {
		t.Errorf("card: %+v", card)
	}
	out = cli("score", "--task", "clv", "--model", "value@champion", "--horizon", "6m")
	if !strings.Contains(out, "published scores/demo/clv/2025-01-01/") {
		t.Fatalf("score: %s", out)
	}
	rows := readCSV(t, writeOut(t, dir, "clv.csv", cli("scores", "export", "clv")))
	if got := strings.Join(rows[0], ","); got != "customer_id,as_of,p_alive,expected_purchases_6m,expected_value,clv_6m,basis,model" {
		t.Fatalf("header %s", got)
	}
	if len(rows) < 300 {
		t.Errorf("%d rows", len(rows)-1)
	}
	// Segments: the clv publication of the date gives value and risk.
	out = cli("score", "--task", "segments")
	if !strings.Contains(out, "published scores/demo/segments/2025-01-01/") || !strings.Contains(out, "risk by 1 - p_alive") {
		t.Errorf("segments: %s", out)
	}
	out = cli("scores", "show", "segments")
	for _, want := range []string{"SEGMENT", "CUSTOMERS", "MEAN SPEND", "MEAN CLV", "CELL", "-value/"} {
		if !strings.Contains(out, want) {
			t.Errorf("scores show segments lacks %q:\n%s", want, out)
		}
	}
	for _, args := range [][]string{
		{"score", "--task", "segments", "--model", "value@1"},
		{"score", "--task", "clv"},
		{"score", "--task", "churn", "--model", "value@1", "--discount", "0.02"},
		{"train", "--task", "churn", "--as-of", "2024-10-01", "--cutoffs", "2", "--step", "90d", "--name", "x", "--unit", "weeks"},
		{"train", "--task", "clv", "--as-of", "2024-10-01", "--name", "x", "--unit", "months"},
		{"score", "--task", "clv", "--model", "value@1", "--horizon", "1y"},
	} {
		if code, _, _ := runCLI(t, append([]string{"--store", store}, args...)...); code != 2 {
			t.Errorf("prevoir %s: exit %d, want 2", strings.Join(args, " "), code)
		}
	}
}
