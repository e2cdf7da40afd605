package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/prevoir/prevoir/datasets/datatest"
	"github.com/prevoir/prevoir/datasets/local"
	"github.com/prevoir/prevoir/datasets/synth"
)

type trainFixture struct {
	Name          string             `json:"name"`
	C             float64            `json:"C"`
	Coefficients  map[string]float64 `json:"coefficients"`
	Intercept     float64            `json:"intercept"`
	Probabilities []float64          `json:"probabilities"`
}

// checkTrainParity compares `prevoir train --json` output and its
// --predictions file with a scikit-learn fixture (testdata/train/
// make_parity.py): coefficients within 1e-5, probabilities within 1e-6.
func checkTrainParity(t *testing.T, stdout, predictions string, want trainFixture) {
	t.Helper()
	var rep struct {
		Version int `json:"version"`
		Card    struct {
			Coefficients map[string]float64 `json:"coefficients"`
			Intercept    float64            `json:"intercept"`
			Lineage      struct {
				Table string         `json:"table"`
				Extra map[string]any `json:"extra"`
			} `json:"lineage"`
		} `json:"card"`
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("--json output: %v\n%s", err, stdout)
	}
	if rep.Version < 1 || rep.Card.Lineage.Table == "" || len(rep.Card.Lineage.Extra["sha256"].(string)) != 64 {
		t.Errorf("version %d, lineage %+v", rep.Version, rep.Card.Lineage)
	}
	if len(rep.Card.Coefficients) != len(want.Coefficients) {
		t.Errorf("%d coefficients, scikit-learn %d", len(rep.Card.Coefficients), len(want.Coefficients))
	}
	worst := math.Abs(rep.Card.Intercept - want.Intercept)
	for k, v := range want.Coefficients {
		got, ok := rep.Card.Coefficients[k]
		if !ok {
			t.Errorf("no coefficient %q", k)
		}
		worst = max(worst, math.Abs(got-v))
	}
	if worst > 1e-5 {
		t.Errorf("max |coefficient - scikit-learn| = %.3g", worst)
	}
	if fi, err := os.Stat(predictions); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("--predictions file: %v, mode %v, want 0644 like every file prevoir writes", err, fi.Mode().Perm())
	}
	f, err := os.Open(predictions)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs)-1 != len(want.Probabilities) {
		t.Fatalf("%d predictions, scikit-learn %d", len(recs)-1, len(want.Probabilities))
	}
	pcol := len(recs[0]) - 2
	var pworst float64
	for i, r := range recs[1:] {
		p, err := strconv.ParseFloat(r[pcol], 64)
		if err != nil {
			t.Fatal(err)
		}
		pworst = max(pworst, math.Abs(p-want.Probabilities[i]))
	}
	if pworst > 1e-6 {
		t.Errorf("max |probability - scikit-learn| = %.3g", pworst)
	}
	t.Logf("%s: max |coef diff| %.2g, max |p diff| %.2g", want.Name, worst, pworst)
}

func TestTrainSmallParity(t *testing.T) {
	b, err := os.ReadFile("../../testdata/train/small_parity.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Variants []trainFixture `json:"variants"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	store := filepath.Join(t.TempDir(), "store")
	pred := filepath.Join(t.TempDir(), "pred.csv")
	args := map[string][]string{
		"c1":                     {"--c", "1"},
		"c0.1_balanced_weighted": {"--c", "0.1", "--class-weight", "balanced", "--weight", "w"},
		"c1_no_standardize":      {"--c", "1", "--no-standardize"},
		"c1_missing_mean":        {"--missing", "mean"},
	}
	for _, v := range doc.Variants {
		t.Run(v.Name, func(t *testing.T) {
			table := "../../testdata/train/small.csv"
			extra := args[v.Name]
			if v.Name == "c1_missing_mean" {
				table = "../../testdata/train/small_missing.csv"
			}
			if !strings.Contains(strings.Join(extra, " "), "--weight") {
				extra = append(extra, "--drop", "w")
			}
			cmd := append([]string{"--store", store, "--json", "train", "--table", table, "--label", "churned", "--positive", "yes",
				"--id", "customer_id", "--categorical", "code", "--holdout-frac", "0", "--min-class", "10",
				"--name", "small", "--predictions", pred}, extra...)
			code, out, errOut := runCLI(t, cmd...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			checkTrainParity(t, out, pred, v)
		})
	}
}

// TestTrainBankParity is the parity check, through the command:
// bank-full.csv with --drop duration --holdout-frac 0 at C = 1 and 0.01.
func TestTrainBankParity(t *testing.T) {
	table := datatest.Shared(t, "bank_marketing/bank-full.csv")
	var doc struct {
		Fits []trainFixture `json:"fits"`
	}
	datatest.DecodeJSONGz(t, datatest.Testdata(t, "train/bank_parity.json.gz"), &doc)
	store := filepath.Join(t.TempDir(), "store")
	for _, want := range doc.Fits {
		want.Name = "bank C=" + strconv.FormatFloat(want.C, 'g', -1, 64)
		pred := filepath.Join(t.TempDir(), "pred.csv")
		code, out, errOut := runCLI(t, "--store", store, "--json", "train", "--table", table, "--label", "y", "--positive", "yes",
			"--drop", "duration", "--holdout-frac", "0", "--c", strconv.FormatFloat(want.C, 'g', -1, 64), "--name", "bank", "--predictions", pred)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		checkTrainParity(t, out, pred, want)
	}
}

func TestTrainText(t *testing.T) {
	store := filepath.Join(t.TempDir(), "store")
	code, out, errOut := runCLI(t, "--store", store, "train", "--table", "../../testdata/train/small.csv", "--label", "churned",
		"--positive", "yes", "--id", "customer_id", "--drop", "w", "--min-class", "10", "--holdout-frac", "0.25", "--seed", "7", "--name", "small")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"registered small@1", "converged", "roc auc", "HOLDOUT", "by score decile (holdout)", "model small@1 stored in"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// Warnings and hints go to stderr: stdout holds the results.
	if w := `warning: column "constant" is constant (1) in the training rows: not used`; !strings.Contains(errOut, w) || strings.Contains(out, "warning:") {
		t.Errorf("want %q on stderr only; stdout:\n%s\nstderr:\n%s", w, out, errOut)
	}
	if !strings.Contains(errOut, "next: prevoir --store ") {
		t.Errorf("stderr lacks the next command:\n%s", errOut)
	}
}

func TestTrainRefusals(t *testing.T) {
	store := filepath.Join(t.TempDir(), "store")
	small := "../../testdata/train/small.csv"
	base := []string{"--store", store, "train", "--name", "m", "--min-class", "10", "--drop", "w"}
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string // regexp on stderr
	}{
		{"label not 0/1", []string{"--table", small, "--label", "churned"}, 1, `small.csv:2:11: label value "no": want 0/1 or true/false`},
		{"missing refused", []string{"--table", "../../testdata/train/small_missing.csv", "--label", "churned", "--positive", "yes", "--id", "customer_id"}, 1, `small_missing.csv:\d+:\d+: column "(tenure|region|spend)": empty value`},
		{"too few", []string{"--table", small, "--label", "churned", "--positive", "yes", "--id", "customer_id", "--min-class", "1000"}, 1, `\d+ positives and \d+ negatives; at least 1000 of each`},
		{"no such column", []string{"--table", small, "--label", "nope"}, 1, `missing column\(s\) "nope"`},
		{"bad C", []string{"--table", small, "--label", "churned", "-c", "0"}, 2, `-c "0"`},
		{"bad missing", []string{"--table", small, "--label", "churned", "--missing", "zero"}, 2, `--missing`},
		{"no label", []string{"--table", small}, 2, `--label is required`},
		{"table with task flags", []string{"--table", small, "--label", "churned", "--as-of", "2024-10-01"}, 2, `--as-of is for --task`},
		{"promote on a dry run", []string{"--table", small, "--label", "churned", "--dry-run", "--promote", "champion"}, 2, `--promote registers`},
		{"too many levels", []string{"--table", small, "--label", "churned", "--positive", "yes", "--max-levels", "100"}, 1, `"customer_id" has more than 100 distinct values`},
	} {
		code, _, errOut := runCLI(t, append(append([]string{}, base...), tc.args...)...)
		if code != tc.code || !regexp.MustCompile(tc.want).MatchString(errOut) {
			t.Errorf("%s: exit %d (want %d), stderr %q, want /%s/", tc.name, code, tc.code, errOut, tc.want)
		}
	}
	// --task misuse: usage errors before any data is read.
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown task", []string{"--task", "nosuch"}, `--task nosuch: unknown; want one of churn, propensity, demand, clv`},
		{"task without as-of", []string{"--task", "churn", "--cutoffs", "3", "--step", "90d"}, `--as-of DATE is required`},
		{"task with table flags", []string{"--task", "churn", "--table", small}, `--table is for --table`},
		{"task with a random holdout", []string{"--task", "churn", "--holdout-frac", "0.2"}, `--holdout-frac is for --table`},
		{"task one cutoff", []string{"--task", "churn", "--as-of", "2024-10-01", "--cutoffs", "1", "--step", "90d"}, `--cutoffs 1: want at least 2`},
		{"task no step", []string{"--task", "churn", "--as-of", "2024-10-01", "--cutoffs", "3"}, `--step SPAN is required`},
		{"task bad C list", []string{"--task", "churn", "--as-of", "2024-10-01", "--cutoffs", "3", "--step", "90d", "--c", "1,x"}, `-c "1,x"`},
		{"task bad alias", []string{"--task", "churn", "--as-of", "2024-10-01", "--cutoffs", "3", "--step", "90d", "--promote", "a b"}, `--promote`},
	} {
		code, _, errOut := runCLI(t, append([]string{"--store", store, "train", "--name", "m"}, tc.args...)...)
		if code != 2 || !regexp.MustCompile(tc.want).MatchString(errOut) {
			t.Errorf("%s: exit %d (want 2), stderr %q, want /%s/", tc.name, code, errOut, tc.want)
		}
	}
}

// TestTrainTaskCLI: `train --task churn` on a generated history builds
// the features, holds out the latest cutoff, searches C, registers with
// --promote, writes the holdout predictions, prints model and baseline
// side by side; a second run reuses the features and registers the next
// version; refusals name what is wrong.
func TestTrainTaskCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("generates a history")
	}
	dir := t.TempDir()
	store := filepath.Join(dir, "store")
	st, err := local.New(store)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := synth.Generate(context.Background(), st, synth.Options{Name: "gen", Customers: 3000, Seed: 5}, synth.StoreOptions{}); err != nil {
		t.Fatal(err)
	}
	pred := filepath.Join(dir, "pred.csv")
	args := []string{"--store", store, "train", "--task", "churn", "--as-of", "2024-10-01", "--cutoffs", "4", "--step", "90d",
		"--min-class", "100", "--name", "churn", "--promote", "champion"}
	code, out, errOut := runCLI(t, append([]string{"--json"}, append(args, "--c", "0.1,1", "--predictions", pred)...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rep struct {
		Version     int
		Promoted    string
		Holdout     string   `json:"holdout_cutoff"`
		Train       []string `json:"training_cutoffs"`
		Validation  string   `json:"validation_cutoff"`
		HoldoutRows int      `json:"holdout_rows"`
		Search      *struct {
			Chosen  float64
			Results []struct{ C float64 }
		} `json:"c_search"`
		Model, Baseline struct {
			Feature string
			Holdout struct {
				AUC     float64 `json:"roc_auc"`
				LogLoss float64 `json:"log_loss"`
				Deciles []json.RawMessage
			}
		}
		Card struct {
			Task    string
			Metrics map[string]json.RawMessage
			Lineage struct {
				Cutoffs   []string
				Manifests []struct{ Key, SHA256 string }
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if rep.Version != 1 || rep.Promoted != "champion" || rep.Holdout != "2024-10-01" || strings.Join(rep.Train, " ") != "2024-07-03 2024-04-04 2024-01-05" ||
		rep.Validation != "2024-07-03" || rep.Search == nil || len(rep.Search.Results) != 2 || rep.Baseline.Feature != "recency_days" ||
		len(rep.Model.Holdout.Deciles) != 10 || rep.Card.Task != "churn" || len(rep.Card.Lineage.Manifests) != 4 || len(rep.Card.Lineage.Cutoffs) != 4 {
		t.Errorf("report: %+v", rep)
	}
	for _, k := range []string{"holdout", "train", "baseline", "holdout_gain", "c_search", "solver"} {
		if len(rep.Card.Metrics[k]) == 0 {
			t.Errorf("card metrics lack %s", k)
		}
	}
	if rep.Model.Holdout.AUC <= rep.Baseline.Holdout.AUC || rep.Model.Holdout.LogLoss >= rep.Baseline.Holdout.LogLoss {
		t.Errorf("model %+v, baseline %+v", rep.Model.Holdout, rep.Baseline.Holdout)
	}
	b, err := os.ReadFile(pred)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if lines[0] != "customer_id,as_of,label,score" || len(lines)-1 != rep.HoldoutRows || !strings.Contains(lines[1], ",2024-10-01,") {
		t.Errorf("predictions: %d lines, %q", len(lines), lines[:2])
	}
	if code, out, _ := runCLI(t, "--store", store, "models", "show", "churn@champion"); code != 0 || !strings.Contains(out, "churn") {
		t.Errorf("models show churn@champion: %d %s", code, out)
	}
	// Again, as text: features reused, version 2 promoted.
	code, out, errOut = runCLI(t, args...)
	if code != 0 {
		t.Fatalf("second run: exit %d: %s", code, errOut)
	}
	for _, want := range []string{"registered churn@2", "holdout 2024-10-01", "BASELINE (recency_days)", "roc auc", "log loss", "DECILE", "churn@champion -> 2"} {
		if !strings.Contains(out, want) {
			t.Errorf("text output lacks %q:\n%s", want, out)
		}
	}
	// 30 days apart with 90-day windows: nothing to train on.
	a := append(append([]string{}, args[:7]...), "--cutoffs", "3", "--step", "30d", "--name", "x", "--min-class", "100")
	if code, _, errOut := runCLI(t, a...); code != 1 || !strings.Contains(errOut, "no cutoff to train on") {
		t.Errorf("step 30d: exit %d, %s", code, errOut)
	}
	// Censored labels are a usage error naming the window.
	a = []string{"--store", store, "train", "--task", "churn", "--as-of", "2024-12-01", "--cutoffs", "2", "--step", "90d", "--name", "x"}
	if code, _, errOut := runCLI(t, a...); code != 2 || !strings.Contains(errOut, "2025-03-01") {
		t.Errorf("censored: exit %d, %s", code, errOut)
	}
}
