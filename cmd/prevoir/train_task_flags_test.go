package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prevoir/prevoir/datasets/local"
	"github.com/prevoir/prevoir/datasets/synth"
)

// TestTrainTaskDropClassWeight: `train --task` takes --drop and
// --class-weight (refused before), uses the default eligibility rule,
// says in its warnings (a JSON list) which cutoffs the step leaves out,
// and prints the decile tables in the shape of `train --table`.
func TestTrainTaskDropClassWeight(t *testing.T) {
	if testing.Short() {
		t.Skip("generates a history")
	}
	dir := t.TempDir()
	store := filepath.Join(dir, "store")
	st, err := local.New(store)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := synth.Generate(context.Background(), st, synth.Options{Name: "gen", Customers: 2000, Seed: 3}, synth.StoreOptions{}); err != nil {
		t.Fatal(err)
	}
	args := []string{"--store", store, "train", "--task", "churn", "--as-of", "2024-10-01", "--cutoffs", "3", "--step", "60d",
		"--drop", "distinct_categories", "--class-weight", "balanced", "--name", "churn", "--dry-run"}
	code, out, errOut := runCLI(t, append([]string{"--json"}, args...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rep struct {
		Warnings *[]string `json:"warnings"`
		Card     struct {
			Parameters map[string]any `json:"parameters"`
			Inputs     struct {
				Features []struct{ Name string } `json:"features"`
			} `json:"inputs"`
		} `json:"card"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Warnings == nil || !strings.Contains(strings.Join(*rep.Warnings, "\n"), "left out of training (2024-08-02)") {
		t.Errorf("warnings %v", rep.Warnings)
	}
	if rep.Card.Parameters["class_weight"] != "balanced" {
		t.Errorf("parameters %v", rep.Card.Parameters)
	}
	for _, f := range rep.Card.Inputs.Features {
		if f.Name == "distinct_categories" {
			t.Error("dropped feature is an input")
		}
	}
	code, out, errOut = runCLI(t, args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"by score decile (holdout), model:", "by score decile (holdout), baseline (recency_days):", "DECILE  ROWS  MEAN P   RATE  LIFT  CUM GAIN"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if code, _, errOut := runCLI(t, append(args, "--class-weight", "bogus")...); code != 2 || !strings.Contains(errOut, "--class-weight") {
		t.Errorf("--class-weight bogus: exit %d, %s", code, errOut)
	}
}
