package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFeaturesCommands: import a small CSV, build, list, describe (twice
// the same bytes), export, shard + commit, and refuse censored labels
// with exit code 2.
func TestFeaturesCommands(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "store")
	csv := filepath.Join(dir, "orders.csv")
	lines := "customer_id,order_id,timestamp,product_id,category,quantity,unit_price\n" +
		"1,o1,2024-01-05T10:00:00Z,p1,a,2,5.5\n" +
		"1,o2,2024-02-10T10:00:00Z,p2,b,1,3\n" +
		"2,o3,2024-02-20T10:00:00Z,p1,a,1,5.5\n" +
		"2,o4,2024-03-20T10:00:00Z,p1,a,1,5.5\n" +
		"3,o5,2024-04-20T10:00:00Z,p1,a,1,5.5\n"
	if err := os.WriteFile(csv, []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runCLI(t, "--store", store, "datasets", "import", "--name", "shop", csv); code != 0 {
		t.Fatalf("import: %d %s", code, errOut)
	}
	code, out, errOut := runCLI(t, "--store", store, "features", "build", "--as-of", "2024-03-01", "--labels", "--horizon", "30d")
	if code != 0 || !strings.Contains(out, "spec ") || !strings.Contains(out, "2 rows") {
		t.Fatalf("build: %d %q %s", code, out, errOut)
	}
	spec := strings.Fields(out)[1]
	code, _, errOut = runCLI(t, "--store", store, "features", "build", "--as-of", "2024-04-01", "--labels")
	if code != 2 || !strings.Contains(errOut, "2024-06-30") {
		t.Fatalf("censored labels: exit %d, %s", code, errOut)
	}
	_, d1, _ := runCLI(t, "--store", store, "features", "describe", "--as-of", "2024-03-01", "--json")
	code, d2, errOut := runCLI(t, "--store", store, "features", "build", "--as-of", "2024-03-01", "--labels", "--horizon", "30d", "--force")
	if code != 0 {
		t.Fatal(errOut)
	}
	_, d2, _ = runCLI(t, "--store", store, "features", "describe", "--as-of", "2024-03-01", "--json")
	if d1 != d2 || !strings.Contains(d1, `"recency_days"`) {
		t.Fatalf("describe --json differs after a rebuild:\n%s\n%s", d1, d2)
	}
	var d struct{ Rows int }
	if err := json.Unmarshal([]byte(d1), &d); err != nil || d.Rows != 2 {
		t.Fatalf("describe: %v %s", err, d1)
	}
	_, ls, _ := runCLI(t, "--store", store, "features", "ls")
	if !strings.Contains(ls, spec) {
		t.Fatalf("ls: %s", ls)
	}
	_, csvOut, _ := runCLI(t, "--store", store, "features", "export", "--as-of", "2024-03-01")
	if !strings.HasPrefix(csvOut, "customer_id,recency_days,") || !strings.Contains(csvOut, "\n2,") {
		t.Fatalf("export: %s", csvOut)
	}
	// Sharded: commit refuses until both shards are there.
	args := []string{"--store", store, "features", "build", "--as-of", "2024-03-15", "--shard"}
	if code, _, errOut := runCLI(t, append(args, "0/2")...); code != 0 {
		t.Fatal(errOut)
	}
	_, out, _ = runCLI(t, append(args, "1/2")...)
	spec = strings.Fields(out)[1]
	if code, out, errOut := runCLI(t, "--store", store, "features", "commit", "--as-of", "2024-03-15", "--spec", spec, "--shards", "3"); code == 0 {
		t.Fatalf("commit with a shard missing: %s", out)
	} else if !strings.Contains(errOut, "shards missing") {
		t.Fatalf("commit: %s", errOut)
	}
	if code, out, errOut := runCLI(t, "--store", store, "features", "commit", "--as-of", "2024-03-15", "--spec", spec, "--shards", "2"); code != 0 || !strings.Contains(out, "2 rows from 2 shards") {
		t.Fatalf("commit: %d %s %s", code, out, errOut)
	}
}
