package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestForgetThenReimport: a forgotten customer's lines, imported again
// under another file name, do not bring the customer back.
func TestForgetThenReimport(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "store")
	lines := "customer_id,order_id,timestamp,product_id,quantity,unit_price\n" +
		"C1,O1,2024-01-02T10:00:00Z,P1,1,10\n" +
		"C2,O2,2024-01-03T10:00:00Z,P1,2,10\n" +
		"C1,O3,2024-02-02T10:00:00Z,P2,1,5\n"
	first := filepath.Join(dir, "day1.csv")
	os.WriteFile(first, []byte(lines), 0o644)
	if code, _, errOut := runCLI(t, "--store", store, "datasets", "import", "--name", "shop", first); code != 0 {
		t.Fatalf("import: %d %s", code, errOut)
	}
	if code, _, errOut := runCLI(t, "--store", store, "customers", "forget", "C1"); code != 0 {
		t.Fatalf("forget: %d %s", code, errOut)
	}
	again := filepath.Join(dir, "renamed-copy.csv")
	os.WriteFile(again, []byte(lines+"C1,O4,2024-03-02T10:00:00Z,P2,1,5\n"), 0o644)
	code, out, errOut := runCLI(t, "--store", store, "--json", "datasets", "import", "--name", "shop", again)
	if code != 0 {
		t.Fatalf("re-import: %d %s", code, errOut)
	}
	var res struct {
		Suppressed int64 `json:"suppressed"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.Suppressed != 3 {
		t.Errorf("re-import reported %s (%v); want 3 suppressed lines", out, err)
	}
	code, out, _ = runCLI(t, "--store", store, "datasets", "describe", "--json")
	var d struct {
		Lines     int `json:"lines"`
		Customers int `json:"customers"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &d) != nil {
		t.Fatalf("describe: %d %s", code, out)
	}
	// C2's line from each file; no line of C1.
	if d.Customers != 1 || d.Lines != 2 {
		t.Errorf("after forget and re-import: %d customers, %d lines; want 1 and 2", d.Customers, d.Lines)
	}
	code, out, _ = runCLI(t, "--store", store, "customers", "show", "C1")
	if code != 0 || strings.Contains(out, "O1") || strings.Contains(out, "O4") {
		t.Errorf("show C1 after forget: %d %s", code, out)
	}
}
