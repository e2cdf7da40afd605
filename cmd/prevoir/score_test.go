package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/prevoir/prevoir/serve/publish"
)

// TestScoreCLI: train a churn model, score, and read the publication
// back the ways a CRM job does. The published probabilities equal
// `models predict` on the same feature table, row for row; rows are the
// feature table's customers exactly.
func TestScoreCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("generates a history and trains; skipped under -short")
	}
	dir := t.TempDir()
	store := filepath.Join(dir, "store")
	cli := cliIn(t, store)
	cli("datasets", "generate", "--name", "demo", "--customers", "800", "--seed", "7", "--end", "2025-01-01", "--days", "400")
	cli("train", "--task", "churn", "--as-of", "2024-10-01", "--cutoffs", "2", "--step", "90d", "--name", "churn", "--min-class", "20")
	cli("models", "promote", "churn@1", "--alias", "champion")

	out := cli("score", "--task", "churn", "--model", "churn@champion")
	if !strings.Contains(out, "published scores/demo/churn/2025-01-01/") {
		t.Fatalf("score: %s (want the default as_of, the day after the last order)", out)
	}
	// The scoring features, and models predict over them.
	table := filepath.Join(dir, "features.csv")
	cli("features", "export", "--task", "churn", "--as-of", "2025-01-01", table)
	pred := readCSV(t, writeOut(t, dir, "pred.csv", cli("models", "predict", "churn@1", "--input", table, "--id", "customer_id")))
	exported := cli("scores", "export", "churn")
	rows := readCSV(t, writeOut(t, dir, "scores.csv", exported))
	if strings.Join(rows[0], ",") != "customer_id,as_of,probability,band,model,reason_1,reason_2,reason_3" {
		t.Fatalf("header %v", rows[0])
	}
	if len(rows) != len(pred) || len(rows) < 100 {
		t.Fatalf("%d published rows, models predict %d", len(rows)-1, len(pred)-1)
	}
	want := map[string]string{}
	for _, r := range pred[1:] {
		want[r[0]] = r[1]
	}
	for i, r := range rows[1:] {
		if r[2] != want[r[0]] {
			t.Fatalf("customer %s: published %s, models predict %s", r[0], r[2], want[r[0]])
		}
		if r[1] != "2025-01-01" || r[4] != "churn@1" || r[5] == "" {
			t.Fatalf("row %v", r)
		}
		if i > 0 && r[0] <= rows[i][0] {
			t.Fatalf("rows not sorted: %s after %s", r[0], rows[i][0])
		}
	}

	// Opted out of email: gone from the email export only.
	victim, other := rows[1][0], rows[2][0]
	cli("customers", "opt-out", victim, "--channel", "email")
	if e := cli("scores", "export", "churn", "--channel", "email"); strings.Contains(e, "\n"+victim+",") || !strings.Contains(e, "\n"+other+",") {
		t.Errorf("email export still holds %s (or lost %s)", victim, other)
	}
	if s := cli("scores", "export", "churn", "--channel", "sms"); !strings.Contains(s, "\n"+victim+",") {
		t.Errorf("sms export lost %s, opted out of email only", victim)
	}

	// JSON lines and Parquet.
	jl := cli("scores", "export", "churn", "--format", "jsonl", "--as-of", "latest")
	var first map[string]any
	if err := json.Unmarshal([]byte(strings.SplitN(jl, "\n", 2)[0]), &first); err != nil || first["customer_id"] != victim || first["model"] != "churn@1" {
		t.Errorf("jsonl first line %v, %v", first, err)
	}
	pq := filepath.Join(dir, "scores.parquet")
	cli("scores", "export", "churn", "--format", "parquet", "-o", pq)
	b, err := os.ReadFile(pq)
	if err != nil {
		t.Fatal(err)
	}
	if f, err := parquet.OpenFile(bytes.NewReader(b), int64(len(b))); err != nil || f.NumRows() != int64(len(rows)-1) {
		t.Errorf("parquet export: %v", err)
	}

	// show and ls.
	var m struct {
		Rows  int64 `json:"rows"`
		Model struct {
			Name    string `json:"name"`
			Version int    `json:"version"`
		} `json:"model"`
		Params struct {
			Bands struct{ High, Medium float64 } `json:"bands"`
		} `json:"params"`
	}
	if err := json.Unmarshal([]byte(cli("scores", "show", "churn", "--json")), &m); err != nil || m.Rows != int64(len(rows)-1) || m.Model.Name != "churn" || m.Params.Bands.High != 0.7 {
		t.Errorf("show --json: %+v, %v", m, err)
	}
	if s := cli("scores", "show", "churn"); !strings.Contains(s, "(LATEST)") || !strings.Contains(s, "model churn@1 (logistic)") {
		t.Errorf("show:\n%s", s)
	}

	// A forgotten customer is in no publication afterwards: the existing
	// one is rewritten, and a new one leaves them out.
	cli("customers", "forget", other)
	st, err := openStoreURL(context.Background(), store)
	if err != nil {
		t.Fatal(err)
	}
	pm, err := publish.Resolve(context.Background(), st, "demo", "churn", "2025-01-01")
	if err != nil {
		t.Fatal(err)
	}
	if err := publish.Rows(context.Background(), st, pm, "", func(r []any) error {
		if r[0] == other {
			return fmt.Errorf("the publication still holds forgotten %s", other)
		}
		return nil
	}); err != nil || pm.Rows != int64(len(rows)-2) {
		t.Errorf("after forget: %d rows, %v", pm.Rows, err)
	}
	cli("score", "--task", "churn", "--model", "churn@1", "--as-of", "2024-12-15", "--format", "csv")
	for _, asOf := range []string{"2024-12-15", "2025-01-01"} {
		if e := cli("scores", "export", "churn", "--as-of", asOf); strings.Contains(e, "\n"+other+",") {
			t.Errorf("export as of %s holds forgotten %s", asOf, other)
		}
	}
	var ls []struct {
		AsOf   string `json:"as_of"`
		Latest bool   `json:"latest"`
	}
	if err := json.Unmarshal([]byte(cli("scores", "ls", "--task", "churn", "--json")), &ls); err != nil || len(ls) != 2 || ls[0].AsOf != "2024-12-15" || ls[0].Latest || !ls[1].Latest {
		t.Errorf("ls --json: %+v, %v", ls, err)
	}
	// Retention keeps LATEST (2025-01-01) with --keep 1.
	cli("scores", "gc", "--keep", "1")
	if err := json.Unmarshal([]byte(cli("scores", "ls", "--json")), &ls); err != nil || len(ls) != 1 || ls[0].AsOf != "2025-01-01" {
		t.Errorf("after scores gc --keep 1: %+v, %v", ls, err)
	}
	before := cli("scores", "export", "churn")
	cli("store", "gc", "--min-age", "0s")
	if e := cli("scores", "export", "churn"); e != before {
		t.Error("store gc changed the published rows")
	}

	// Usage errors exit 2.
	for _, args := range [][]string{
		{"score", "--task", "offers", "--model", "churn@1"},
		{"score", "--model", "churn@1", "--as-of", "01/02/2025"},
		{"score", "--model", "churn@1", "--band-high", "0.2"},
		{"score", "--model", "churn@1", "--format", "xlsx"},
		{"scores", "export", "churn", "--channel", "fax"},
		{"scores", "export", "churn", "--format", "xlsx"},
		{"scores", "show", "churn", "--as-of", "yesterday"},
		{"scores", "show"},
		{"scores", "gc", "--keep", "0"},
	} {
		if code, _, errOut := runCLI(t, append([]string{"--store", store}, args...)...); code != 2 {
			t.Errorf("prevoir %s: exit %d, want 2: %s", strings.Join(args, " "), code, errOut)
		}
	}
	if code, _, errOut := runCLI(t, "--store", store, "scores", "show", "churn", "--as-of", "2020-01-01"); code != 1 || !strings.Contains(errOut, "no publication") {
		t.Errorf("missing as_of: exit %d: %s", code, errOut)
	}
}

// TestScoreImportedGBDT: an imported XGBoost churn model scores with
// empty reasons, and the manifest says why.
func TestScoreImportedGBDT(t *testing.T) {
	if testing.Short() {
		t.Skip("generates a history; skipped under -short")
	}
	store := filepath.Join(t.TempDir(), "store")
	cli := cliIn(t, store)
	fx := filepath.Join("..", "..", "testdata", "gbdt", "churn")
	cli("datasets", "generate", "--name", "demo", "--customers", "300", "--seed", "7", "--end", "2025-01-01", "--days", "300")
	cli("features", "build", "--task", "churn", "--as-of", "2024-12-01")
	cli("models", "import", "--name", "churn-xgb", "--file", filepath.Join(fx, "churn_xgb.json"), "--task", "churn")
	out := cli("score", "--model", "churn-xgb@1", "--as-of", "2024-12-01")
	if !strings.Contains(out, "note: reason_1..3 are empty") {
		t.Errorf("score output: %s", out)
	}
	rows := readCSV(t, writeOut(t, t.TempDir(), "s.csv", cli("scores", "export", "churn")))
	for _, r := range rows[1:] {
		if r[5] != "" || r[6] != "" || r[7] != "" || r[4] != "churn-xgb@1" {
			t.Fatalf("row %v", r)
		}
	}
}

// TestScoreSharded: four shards and a commit publish the same rows, byte
// for byte after export, as an unsharded run and as --shard 0/1; a commit
// with a shard missing refuses, naming it.
func TestScoreSharded(t *testing.T) {
	if testing.Short() {
		t.Skip("generates a history and trains; skipped under -short")
	}
	store := filepath.Join(t.TempDir(), "store")
	cli := cliIn(t, store)
	cli("datasets", "generate", "--name", "gen", "--customers", "300", "--days", "200")
	cli("train", "--task", "churn", "--as-of", "2024-10-01", "--cutoffs", "2", "--step", "90d", "--name", "churn", "--min-class", "10")
	const asOf = "2025-01-01"
	cli("score", "--model", "churn@1", "--as-of", asOf)
	want := cli("scores", "export", "churn")
	if strings.Count(want, "\n") < 100 {
		t.Fatalf("export: %d lines", strings.Count(want, "\n"))
	}
	cli("score", "--model", "churn@1", "--as-of", asOf, "--shard", "0/1")
	if got := cli("scores", "export", "churn"); got != want {
		t.Error("--shard 0/1 differs from the unsharded run")
	}
	for _, i := range []string{"0", "1", "3"} {
		if out := cli("score", "--model", "churn@1", "--as-of", asOf, "--shard", i+"/4"); !strings.Contains(out, "commit with: prevoir scores commit churn") {
			t.Errorf("shard %s: %s", i, out)
		}
	}
	code, _, errOut := runCLI(t, "--store", store, "scores", "commit", "churn", "--as-of", asOf, "--shards", "4")
	if code != 1 || !strings.Contains(errOut, "missing: 2") {
		t.Errorf("commit without shard 2: exit %d: %s", code, errOut)
	}
	cli("score", "--model", "churn@1", "--as-of", asOf, "--shard", "2/4")
	if out := cli("scores", "commit", "churn", "--as-of", asOf, "--shards", "4"); !strings.Contains(out, "from 4 shards") {
		t.Errorf("commit: %s", out)
	}
	if got := cli("scores", "export", "churn"); got != want {
		t.Error("the sharded run's export differs from the unsharded run's")
	}
	for _, bad := range []string{"4/4", "1/0", "x"} {
		if code, _, _ := runCLI(t, "--store", store, "score", "--model", "churn@1", "--shard", bad); code != 2 {
			t.Errorf("--shard %s: exit %d, want 2", bad, code)
		}
	}
}
