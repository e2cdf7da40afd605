package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestDemandCLI: the demand chain from the command line on a generated
// history: features build --task demand with its flags, train --task
// demand (backtest table, JSON), score --task demand (two tables), scores
// export demand / preposition, forecast show; and the usage errors.
func TestDemandCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("generates a history and trains; skipped under -short")
	}
	dir := t.TempDir()
	store := filepath.Join(dir, "store")
	cli := func(args ...string) (int, string, string) {
		t.Helper()
		return runCLI(t, append([]string{"--store", store}, args...)...)
	}
	ok := func(args ...string) string {
		t.Helper()
		code, out, errOut := cli(args...)
		if code != 0 {
			t.Fatalf("prevoir %s: exit %d: %s", strings.Join(args, " "), code, errOut)
		}
		return out
	}
	ok("datasets", "generate", "--name", "demo", "--customers", "1500", "--seed", "3", "--end", "2025-01-01", "--days", "500")
	out := ok("features", "build", "--task", "demand", "--as-of", "2024-11-05", "--top-products", "30", "--labels")
	if !strings.Contains(out, "features/demo/demand/2024-11-05/") {
		t.Errorf("features build: %s", out)
	}
	out = ok("train", "--task", "demand", "--as-of", "2024-11-05", "--cutoffs", "6", "--step", "4w", "--top-products", "30", "--name", "fc", "--promote", "champion")
	for _, want := range []string{"negbin", "backtest at origin 2024-11-05, 4 week periods, product level", "ma13", "croston_sba", "P90 COVER"} {
		if !strings.Contains(out, want) {
			t.Errorf("train output lacks %q:\n%s", want, out)
		}
	}
	var rep struct {
		Backtest struct {
			Product []struct {
				Method string `json:"method"`
			} `json:"product"`
		} `json:"backtest"`
		Card struct {
			Kind string `json:"kind"`
		} `json:"card"`
	}
	js := ok("--json", "train", "--task", "demand", "--as-of", "2024-11-05", "--cutoffs", "6", "--step", "4w", "--top-products", "30", "--dry-run")
	if err := json.Unmarshal([]byte(js), &rep); err != nil || rep.Card.Kind != "negbin" || len(rep.Backtest.Product) < 6 || rep.Backtest.Product[0].Method != "model" {
		t.Errorf("train --json: %v %+v", err, rep)
	}
	out = ok("score", "--task", "demand", "--model", "fc@champion", "--as-of", "2024-12-03", "--quantiles", "0.5,0.9,0.99", "--service-level", "0.9")
	if !strings.Contains(out, "published scores/demo/demand/2024-12-03/") || !strings.Contains(out, "(table preposition)") {
		t.Errorf("score: %s", out)
	}
	fc := ok("scores", "export", "demand")
	if !strings.HasPrefix(fc, "product_id,warehouse,as_of,period_start,step,mean,p50,p90,q99,model\n") {
		t.Errorf("export demand: %.200s", fc)
	}
	plan := ok("scores", "export", "preposition")
	if !strings.HasPrefix(plan, "product_id,warehouse,as_of,horizon,mean,p50,p90,bestseller_rank,stock_on_hand,service_level,preposition_qty\n") {
		t.Errorf("export preposition: %.200s", plan)
	}
	first := strings.Split(strings.Split(fc, "\n")[1], ",")
	out = ok("forecast", "show", first[0], "--warehouse", first[1], "--history", "5")
	if !strings.Contains(out, "mean ") || !strings.Contains(out, "|") || strings.Count(out, "\n") < 5+4 {
		t.Errorf("forecast show: %s", out)
	}
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"forecast", "show", "NO-SUCH-PRODUCT"}, 1, "no forecast"},
		{[]string{"score", "--task", "demand", "--model", "fc@champion", "--quantiles", "1.5"}, 2, "--quantiles"},
		{[]string{"features", "build", "--task", "demand", "--as-of", "2024-11-05", "--period", "month"}, 2, "period"},
		{[]string{"train", "--task", "demand", "--as-of", "2024-11-05", "--cutoffs", "3", "--step", "4w", "--name", "x", "--min-class", "3"}, 2, "--min-class"},
	} {
		code, _, errOut := cli(c.args...)
		if code != c.code || !strings.Contains(errOut, c.want) {
			t.Errorf("prevoir %s: exit %d, %s; want %d and %q", strings.Join(c.args, " "), code, errOut, c.code, c.want)
		}
	}
}
