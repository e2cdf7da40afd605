package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/prevoir/prevoir/datasets/privacy"
	"github.com/prevoir/prevoir/datasets/privacy/privacytest"
)

// TestFlowForgetCoversEveryObject runs a whole flow in-process (generate,
// import, features build, train and register, models predict into the
// store) and forgets one customer. Before the forget, every object of the
// store holding the id in clear must be listed by `customers show` (so
// covered by serve.Layers, the list forget walks); after it, none may
// hold it, and predict drops the forgotten customer from its input.
func TestFlowForgetCoversEveryObject(t *testing.T) {
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
	cli("datasets", "generate", "--name", "demo", "--customers", "2000", "--seed", "7", "--end", "2025-01-01", "--days", "500")
	table := filepath.Join(dir, "churn.csv")
	cli("features", "build", "--task", "churn", "--as-of", "2024-10-01", "--labels")
	cli("features", "export", "--task", "churn", "--as-of", "2024-10-01", table)
	rows := readCSV(t, table)
	victim := rows[1][colIndex(t, rows[0], "customer_id")]

	// The victim also buys in a second, imported dataset.
	src := filepath.Join(dir, "shop.csv")
	os.WriteFile(src, []byte("customer_id,order_id,timestamp,product_id,quantity,unit_price\n"+
		victim+",o1,2024-05-01T10:00:00Z,p1,1,9.5\nother,o2,2024-05-02T10:00:00Z,p2,2,3\n"), 0o644)
	cli("datasets", "import", "--name", "shop", src)
	cli("train", "--dataset", "demo", "--task", "churn", "--as-of", "2024-10-01", "--cutoffs", "2", "--step", "120d", "--name", "churn", "--min-class", "50")
	scores := filepath.Join(store, "scores", "churn.csv")
	os.MkdirAll(filepath.Dir(scores), 0o755)
	cli("models", "predict", "churn@latest", "--input", table, "--id", "customer_id", "--output", scores)
	cli("score", "--dataset", "demo", "--task", "churn", "--model", "churn@latest", "--as-of", "2024-10-01")

	ctx := context.Background()
	st := openLocal(t, store)
	holding, err := privacytest.Holding(ctx, st, victim)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := cli("--json", "customers", "show", victim)
	var s privacy.Subject
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, o := range s.Objects {
		listed = append(listed, o.Key)
	}
	layers := map[string]bool{}
	for _, o := range s.Objects {
		layers[o.Layer] = true
	}
	for _, l := range []string{"datasets", "features", "files", "scores"} {
		if !layers[l] {
			t.Errorf("show lists no object of layer %s: %v", l, s.Objects)
		}
	}
	for _, k := range holding {
		if !slices.Contains(listed, k) {
			t.Errorf("%s holds customer %s but no layer of serve.Layers covers it", k, victim)
		}
	}

	cli("customers", "forget", victim)
	if after, err := privacytest.Holding(ctx, st, victim); err != nil || len(after) != 0 {
		t.Fatalf("after forget, objects hold %s in clear: %v (%v)", victim, after, err)
	}
	out, _ = cli("--json", "customers", "show", victim)
	s = privacy.Subject{}
	json.Unmarshal([]byte(out), &s)
	if !s.Forgotten || len(s.Objects) != 0 {
		t.Fatalf("show after forget: %s", out)
	}

	// Scoring the old table again drops the forgotten customer, and says so.
	out, errOut := cli("models", "predict", "churn@latest", "--input", table, "--id", "customer_id")
	if strings.Contains(out, victim+",") {
		t.Error("predict scored a forgotten customer")
	}
	if !strings.Contains(errOut, "dropped 1 rows: 1 of forgotten customers") {
		t.Errorf("predict does not say what it dropped: %q", errOut)
	}
}
