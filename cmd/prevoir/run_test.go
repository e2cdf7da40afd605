package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunConfigErrors: unknown keys name the key and its line; a bad
// value names the key.
func TestRunConfigErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ name, yaml, want string }{
		{"unknown top key", "dataset: demo\nstorr: x\n", "line 2: unknown key storr"},
		{"unknown task key", "tasks:\n  churn:\n    model: churn@champion\n    topn: 5\n", "line 4: unknown key topn"},
		{"bad value", "tasks:\n  churn:\n    service_level: 1.5\n", "key tasks.churn.service_level 1.5"},
		{"bad lease", "lease_ttl: soon\n", `"soon": want a duration`},
		{"unknown rule key", "triggers: rules.yaml\n", "rules.yaml: line 3: unknown key treshold"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := filepath.Join(dir, "prevoir.yaml")
			if err := os.WriteFile(cfg, []byte(tc.yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			rules := "rules:\n  - name: r\n    treshold: 0.5\n"
			if err := os.WriteFile(filepath.Join(dir, "rules.yaml"), []byte(rules), 0o644); err != nil {
				t.Fatal(err)
			}
			code, _, errOut := runCLI(t, "--store", filepath.Join(dir, "store"), "run", "--config", cfg)
			if code != 2 || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, errOut, tc.want)
			}
		})
	}
}

// TestRunConfigStore: the config's store is used when --store is not
// given.
func TestRunConfigStore(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "from-config")
	cfg := filepath.Join(dir, "prevoir.yaml")
	if err := os.WriteFile(cfg, []byte("store: "+store+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runCLI(t, "run", "--config", cfg)
	if code != 1 || !strings.Contains(errOut, store) || !strings.Contains(errOut, "holds no dataset") {
		t.Errorf("exit %d, %s; want the config's store named", code, errOut)
	}
}

// TestRunCLI: the nightly job from a one-line config publishes churn and
// the triggers, prints its summary, and a second concurrent holder of the
// lease is refused naming it.
func TestRunCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("generates a history and trains; skipped under -short")
	}
	dir := t.TempDir()
	store := filepath.Join(dir, "store")
	cli := func(args ...string) (string, string) {
		t.Helper()
		code, out, errOut := runCLI(t, append([]string{"--store", store}, args...)...)
		if code != 0 {
			t.Fatalf("prevoir %s: exit %d: %s", strings.Join(args, " "), code, errOut)
		}
		return out, errOut
	}
	cli("datasets", "generate", "--name", "demo", "--customers", "600", "--seed", "7", "--end", "2025-01-01", "--days", "400")
	cli("train", "--task", "churn", "--as-of", "2024-10-01", "--cutoffs", "2", "--step", "90d", "--name", "churn", "--min-class", "20", "--promote", "champion")

	// Without --config: every task with a champion.
	out, errOut := cli("run")
	if !strings.Contains(out, "task churn: published scores/demo/churn/2025-01-01/") || !strings.Contains(out, ": ok in ") {
		t.Fatalf("run: %s", out)
	}
	if !strings.Contains(errOut, "run: publish churn done in") || !strings.Contains(errOut, "rows") {
		t.Errorf("progress: %s", errOut)
	}
	rules := "version: 1\nrules:\n  - name: lapsed\n    type: days_without_order\n    days: 60\n    channel: sms\n"
	if err := os.WriteFile(filepath.Join(dir, "rules.yaml"), []byte(rules), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "prevoir.yaml")
	if err := os.WriteFile(cfg, []byte("dataset: demo\ntriggers: rules.yaml\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	report := filepath.Join(dir, "run.html")
	out, _ = cli("run", "--config", cfg, "--as-of", "2024-12-01", "--json", "--report", report)
	var sum struct {
		OK       bool   `json:"ok"`
		AsOf     string `json:"as_of"`
		Run      string `json:"run"`
		Triggers struct {
			Status      string `json:"status"`
			Publication string `json:"publication"`
		} `json:"triggers"`
		Tasks []struct{ Task, Status string } `json:"tasks"`
	}
	if err := json.Unmarshal([]byte(out), &sum); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if !sum.OK || sum.AsOf != "2024-12-01" || sum.Triggers.Status != "published" || len(sum.Tasks) != 1 {
		t.Fatalf("summary %s", out)
	}
	// The run report: written to --report and kept in the store beside
	// the summary.
	html, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Nightly run of demo as of 2024-12-01", ">Stages<", ">Tasks<", ">Triggers<", "<svg", "lapsed"} {
		if !strings.Contains(string(html), want) {
			t.Errorf("run report lacks %q", want)
		}
	}
	for _, ext := range []string{"json", "html"} {
		if _, err := os.Stat(filepath.Join(store, "runs", "demo", "reports", "2024-12-01", sum.Run+"."+ext)); err != nil {
			t.Errorf("run %s not kept in the store: %v", ext, err)
		}
	}
	exp, _ := cli("scores", "export", "triggers", "--as-of", "2024-12-01")
	if !strings.HasPrefix(exp, "customer_id,rule,channel,as_of,values,idempotency_key\n") {
		t.Errorf("triggers export: %s", exp)
	}
	// Retraining due: a challenger on fresh cutoffs, judged against the
	// champion on the same held-out cutoff, recorded in the summary and
	// the registry; the next run of the week does not retrain.
	retrain := "retrain:\n  every: 7d\n  cutoffs: 2\n  step: 90d\n  c: [1]\n  margin: 0.5\n  min_class: 20\n"
	if err := os.WriteFile(cfg, []byte(retrain), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _ = cli("run", "--config", cfg, "--json")
	var rs struct {
		OK      bool `json:"ok"`
		Retrain []struct {
			Holdout         string  `json:"holdout_cutoff"`
			Champion        int     `json:"champion_version"`
			Challenger      int     `json:"challenger_version"`
			ChampionValue   float64 `json:"champion_value"`
			ChallengerValue float64 `json:"challenger_value"`
			Promoted        bool    `json:"promoted"`
		} `json:"retrain"`
	}
	if err := json.Unmarshal([]byte(out), &rs); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if !rs.OK || len(rs.Retrain) != 1 || rs.Retrain[0].Holdout != "2024-10-02" || rs.Retrain[0].Champion != 1 || rs.Retrain[0].Challenger != 2 ||
		rs.Retrain[0].Promoted || !(rs.Retrain[0].ChampionValue > 0.5) || !(rs.Retrain[0].ChallengerValue > 0.5) {
		t.Fatalf("retrain summary %s (a margin of 0.5 AUC cannot be won)", out)
	}
	if al, _ := cli("models", "ls", "--json"); !strings.Contains(al, "challenger") {
		t.Errorf("registry: %s", al)
	}
	out, _ = cli("run", "--config", cfg, "--json")
	if strings.Contains(out, "challenger_version") {
		t.Errorf("retrained again within the week: %s", out)
	}

	// A failing task: exit 1 naming it.
	if err := os.WriteFile(cfg, []byte("tasks:\n  churn:\n    model: churn@nosuch\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runCLI(t, "--store", store, "run", "--config", cfg)
	if code != 1 || !strings.Contains(errOut, "task churn") {
		t.Errorf("failing task: exit %d, %s", code, errOut)
	}
}

// TestRunOffers: the nightly job publishes the propensity champion's
// offers with the config's top_n, exclude_bought and rules file (named
// relative to the config), beside churn, in one run.
func TestRunOffers(t *testing.T) {
	if testing.Short() {
		t.Skip("generates a history and trains; skipped under -short")
	}
	dir := t.TempDir()
	store := filepath.Join(dir, "store")
	cli := cliIn(t, store)
	cli("datasets", "generate", "--name", "demo", "--customers", "600", "--seed", "3", "--end", "2025-01-01", "--days", "300")
	cli("train", "--task", "churn", "--as-of", "2024-10-01", "--cutoffs", "2", "--step", "90d", "--name", "churn", "--min-class", "20", "--promote", "champion")
	cli("train", "--task", "propensity", "--as-of", "2024-12-01", "--cutoffs", "3", "--step", "30d", "--level", "product", "--name", "propensity", "--promote", "champion")
	conf := filepath.Join(dir, "conf")
	if err := os.MkdirAll(conf, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(conf, "offers.yaml"), []byte("max_per_category: 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := "dataset: demo\ntasks:\n  churn: {}\n  propensity:\n    top_n: 4\n    exclude_bought: 30d\n    rules: offers.yaml\n"
	if err := os.WriteFile(filepath.Join(conf, "prevoir.yaml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	out := cli("run", "--config", filepath.Join(conf, "prevoir.yaml"))
	if !strings.Contains(out, "task propensity: published scores/demo/propensity/2025-01-01/") || !strings.Contains(out, "task churn: published") {
		t.Fatalf("run: %s", out)
	}
	rows := readCSV(t, writeOut(t, dir, "offers.csv", cli("scores", "export", "propensity")))
	if len(rows) < 2 || strings.Join(rows[0], ",") != "customer_id,as_of,rank,item,level,probability,model" {
		t.Fatalf("offers export: %v", rows[:min(len(rows), 2)])
	}
	perCustomer := map[string]int{}
	for _, r := range rows[1:] {
		perCustomer[r[0]]++
	}
	for c, n := range perCustomer {
		if n > 4 {
			t.Errorf("customer %s has %d offers, top_n is 4", c, n)
		}
	}
	if show := cli("scores", "show", "propensity", "--json"); !strings.Contains(show, "max_per_category") {
		t.Errorf("the rules are not recorded in the publication: %s", show)
	}
}

// TestRunQualityOffersDemand: a run one horizon after another checks the
// earlier offers (hit rate and MAP at N of the customers who bought) and
// forecasts (WAPE, bias, P90 coverage) against what happened, keeps the
// series and prints it.
func TestRunQualityOffersDemand(t *testing.T) {
	if testing.Short() {
		t.Skip("generates a history and trains; skipped under -short")
	}
	dir := t.TempDir()
	store := filepath.Join(dir, "store")
	cli := cliIn(t, store)
	cli("datasets", "generate", "--name", "demo", "--customers", "1500", "--seed", "5", "--end", "2025-01-01", "--days", "500")
	cli("train", "--task", "propensity", "--as-of", "2024-11-01", "--cutoffs", "3", "--step", "30d", "--name", "propensity", "--promote", "champion")
	cli("train", "--task", "demand", "--as-of", "2024-11-01", "--cutoffs", "4", "--step", "4w", "--top-products", "100", "--name", "demand", "--promote", "champion")
	cfg := filepath.Join(dir, "prevoir.yaml")
	if err := os.WriteFile(cfg, []byte("dataset: demo\ntasks:\n  propensity: {}\n  demand: {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	first := cli("run", "--config", cfg, "--as-of", "2024-12-01")
	if !strings.Contains(first, "quality check of propensity: no publication at or before one horizon (30d) ago yet") {
		t.Errorf("first run: %s", first)
	}
	out := cli("run", "--config", cfg, "--as-of", "2025-01-01", "--json")
	var sum struct {
		Quality []struct {
			Task        string             `json:"task"`
			Kind        string             `json:"kind"`
			Publication string             `json:"publication_as_of"`
			Customers   int64              `json:"customers"`
			Rows        int64              `json:"rows"`
			Figures     map[string]float64 `json:"figures"`
		} `json:"quality"`
	}
	if err := json.Unmarshal([]byte(out), &sum); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	got := map[string]bool{}
	for _, q := range sum.Quality {
		got[q.Task] = true
		if q.Publication != "2024-12-01" {
			t.Errorf("%s checked the publication as of %s, want 2024-12-01", q.Task, q.Publication)
		}
		f := q.Figures
		switch q.Task {
		case "propensity":
			if q.Kind != "ranking" || q.Customers == 0 || f["top"] != 12 || !(f["hit_rate"] > 0 && f["hit_rate"] <= 1) || !(f["map"] > 0 && f["map"] <= f["hit_rate"]) {
				t.Errorf("offers quality %+v", q)
			}
		case "demand":
			if q.Kind != "forecast" || q.Rows == 0 || !(f["wape"] > 0 && f["wape"] < 2) || !(f["p90_coverage"] >= 0.5 && f["p90_coverage"] <= 1) {
				t.Errorf("demand quality %+v", q)
			}
		}
	}
	if !got["propensity"] || !got["demand"] {
		t.Fatalf("quality points for %v, want propensity and demand: %s", got, out)
	}
	for _, task := range []string{"propensity", "demand"} {
		if _, err := os.Stat(filepath.Join(store, "runs", "demo", "quality", task+".json")); err != nil {
			t.Errorf("no stored %s quality series: %v", task, err)
		}
	}
	text := cli("run", "--config", cfg, "--as-of", "2025-01-01")
	if !strings.Contains(text, "quality propensity: publication as of 2024-12-01: hit rate@12 ") || !strings.Contains(text, "quality demand: publication as of 2024-12-01: wape ") {
		t.Errorf("summary: %s", text)
	}
}

// TestRunRetrainPromotes: a weak champion (one uninformative feature)
// loses to a challenger trained on fresh cutoffs with every feature, on
// the same held-out cutoff: the run promotes the challenger, says so, and
// the registry's champion alias moves to it (its history records the
// move).
func TestRunRetrainPromotes(t *testing.T) {
	if testing.Short() {
		t.Skip("generates a history and trains; skipped under -short")
	}
	dir := t.TempDir()
	store := filepath.Join(dir, "store")
	cli := cliIn(t, store)
	cli("datasets", "generate", "--name", "demo", "--customers", "600", "--seed", "7", "--end", "2025-01-01", "--days", "400")
	weak := []string{"train", "--task", "churn", "--as-of", "2024-10-01", "--cutoffs", "2", "--step", "90d", "--name", "churn", "--min-class", "20", "--promote", "champion"}
	for _, f := range []string{"recency_days", "tenure_days", "orders_30d", "orders_90d", "orders_365d", "spend_30d", "spend_90d", "spend_365d",
		"gap_mean_days", "gap_std_days", "recency_gap_ratio", "spend_trend", "distinct_categories", "distinct_products", "return_rate",
		"views_7d", "views_30d", "cart_adds_7d", "cart_adds_30d", "abandoned_carts_7d", "abandoned_carts_30d", "loyalty_points"} {
		weak = append(weak, "--drop", f)
	}
	cli(weak...) // basket_mean only
	cfg := filepath.Join(dir, "prevoir.yaml")
	if err := os.WriteFile(cfg, []byte("dataset: demo\nretrain:\n  every: 7d\n  cutoffs: 2\n  step: 90d\n  c: [1]\n  margin: 0.01\n  min_class: 20\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := cli("run", "--config", cfg, "--json")
	var rs struct {
		Retrain []struct {
			Champion        int     `json:"champion_version"`
			Challenger      int     `json:"challenger_version"`
			ChampionValue   float64 `json:"champion_value"`
			ChallengerValue float64 `json:"challenger_value"`
			Promoted        bool    `json:"promoted"`
		} `json:"retrain"`
	}
	if err := json.Unmarshal([]byte(out), &rs); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if len(rs.Retrain) != 1 || !rs.Retrain[0].Promoted || rs.Retrain[0].Challenger != 2 || !(rs.Retrain[0].ChallengerValue > rs.Retrain[0].ChampionValue+0.01) {
		t.Fatalf("retrain: %s", out)
	}
	if show := cli("models", "show", "churn@champion", "--json"); !strings.Contains(show, `"version": 2`) {
		t.Errorf("the champion alias did not move to version 2: %s", show)
	}
	if hist := cli("models", "history", "churn"); !strings.Contains(hist, "champion") || strings.Count(hist, "champion") < 2 {
		t.Errorf("history does not record the move: %s", hist)
	}
}
