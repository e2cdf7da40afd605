package main

import (
	"compress/gzip"
	"encoding/csv"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
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
	const table = "../../../shared/data/bank_marketing/bank-full.csv"
	if _, err := os.Stat(table); errors.Is(err, os.ErrNotExist) {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is missing: CI must have the shared data", table)
		}
		t.Skipf("%s is missing: bank-full parity not checked (it is in CI)", table)
	}
	f, err := os.Open("../../testdata/train/bank_parity.json.gz")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Fits []trainFixture `json:"fits"`
	}
	if err := json.NewDecoder(zr).Decode(&doc); err != nil {
		t.Fatal(err)
	}
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
	for _, want := range []string{"registered small@1", "converged", "roc auc", "HOLDOUT", "by score decile (holdout)", `warning: design column "constant" is constant`} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
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
		{"bad C", []string{"--table", small, "--label", "churned", "--c", "0"}, 2, `--c`},
		{"bad missing", []string{"--table", small, "--label", "churned", "--missing", "zero"}, 2, `--missing`},
		{"no label", []string{"--table", small}, 2, `--label is required`},
		{"churn task", []string{"--task", "churn"}, 1, `not available yet`},
		{"too many levels", []string{"--table", small, "--label", "churned", "--positive", "yes", "--max-levels", "100"}, 1, `"customer_id" has more than 100 distinct values`},
	} {
		code, _, errOut := runCLI(t, append(append([]string{}, base...), tc.args...)...)
		if code != tc.code || !regexp.MustCompile(tc.want).MatchString(errOut) {
			t.Errorf("%s: exit %d (want %d), stderr %q, want /%s/", tc.name, code, tc.code, errOut, tc.want)
		}
	}
}
