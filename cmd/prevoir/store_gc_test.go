package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestStoreGC: an orphaned part older than the grace is listed by
// --dry-run (and kept), removed by gc; a young one is spared by the
// default --min-age and removed with --min-age 0s; committed data stays.
func TestStoreGC(t *testing.T) {
	store := t.TempDir()
	if code, _, errOut := runCLI(t, "--store", store, "datasets", "generate", "--name", "demo", "--customers", "50", "--days", "60"); code != 0 {
		t.Fatal(errOut)
	}
	dir := filepath.Join(store, "datasets", "demo", "orders")
	old := filepath.Join(dir, "part-killed-00001.parquet")
	young := filepath.Join(dir, "part-running-00001.parquet")
	for _, p := range []string{old, young} {
		if err := os.WriteFile(p, []byte("orphan"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ago := time.Now().Add(-2 * time.Hour)
	os.Chtimes(old, ago, ago)

	code, out, errOut := runCLI(t, "--store", store, "datasets", "validate")
	if code != 0 || !strings.Contains(out, "demo/orders: ") || !strings.Contains(out, "2 orphaned objects") {
		t.Fatalf("validate with orphans: %d %s %s", code, out, errOut)
	}
	code, out, errOut = runCLI(t, "--store", store, "--json", "store", "gc", "--dry-run")
	if code != 0 {
		t.Fatal(errOut)
	}
	var rep struct {
		DryRun  bool `json:"dry_run"`
		Removed []struct {
			Key   string `json:"key"`
			Kind  string `json:"kind"`
			Bytes int64  `json:"bytes"`
		} `json:"removed"`
		Bytes int64 `json:"bytes"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err, out)
	}
	if !rep.DryRun || len(rep.Removed) != 1 || rep.Removed[0].Key != "datasets/demo/orders/part-killed-00001.parquet" || rep.Removed[0].Kind != "part" || rep.Bytes != 6 {
		t.Fatalf("dry run: %s", out)
	}
	if _, err := os.Stat(old); err != nil {
		t.Fatal("dry run removed the orphan")
	}
	if code, out, _ = runCLI(t, "--store", store, "store", "gc"); code != 0 || !strings.Contains(out, "removed 1 objects") {
		t.Fatalf("gc: %d %s", code, out)
	}
	if _, err := os.Stat(young); err != nil {
		t.Fatal("gc removed a part younger than --min-age")
	}
	if code, out, _ = runCLI(t, "--store", store, "store", "gc", "--min-age", "0s"); code != 0 || !strings.Contains(out, "part-running-00001.parquet") {
		t.Fatalf("gc --min-age 0s: %d %s", code, out)
	}
	if code, out, errOut = runCLI(t, "--store", store, "datasets", "validate"); code != 0 || strings.Contains(out, "orphan") {
		t.Fatalf("validate after gc: %d %s %s", code, out, errOut)
	}
	if code, _, _ = runCLI(t, "--store", store, "store", "gc", "--min-age", "-1s"); code != 2 {
		t.Fatalf("negative --min-age: exit %d, want 2", code)
	}
}
