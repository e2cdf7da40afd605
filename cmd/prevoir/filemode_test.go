//go:build unix

package main

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestFilesWrittenAre0644: every file a command writes gets mode 0644,
// whatever the umask (here a strict 077).
func TestFilesWrittenAre0644(t *testing.T) {
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)
	dir := t.TempDir()
	store := filepath.Join(dir, "store")
	files := map[string][]string{
		"gen.csv":     {"datasets", "generate", "--format", "csv", "--out", filepath.Join(dir, "gen.csv"), "--customers", "30", "--days", "30"},
		"rejects.csv": {"datasets", "import", "--dataset", "r", "--map", retailMapFlag, "--max-bad-rows", "1", "--rejects", filepath.Join(dir, "rejects.csv"), dsTestdata + "bad_quantity/orders.csv"},
	}
	for _, name := range []string{"gen.csv", "rejects.csv"} {
		if code, _, errOut := runCLI(t, append([]string{"--store", store}, files[name]...)...); code != 0 {
			t.Fatalf("%s: %s", name, errOut)
		}
	}
	if code, _, errOut := runCLI(t, "--store", store, "datasets", "generate", "--dataset", "demo", "--customers", "60", "--days", "200", "--end", "2025-01-01"); code != 0 {
		t.Fatal(errOut)
	}
	if code, _, errOut := runCLI(t, "--store", store, "features", "build", "--dataset", "demo", "--as-of", "latest"); code != 0 {
		t.Fatal(errOut)
	}
	if code, _, errOut := runCLI(t, "--store", store, "features", "export", "--dataset", "demo", "--as-of", "latest", filepath.Join(dir, "export.csv")); code != 0 {
		t.Fatal(errOut)
	}
	for _, name := range []string{"gen.csv", "rejects.csv", "export.csv"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.Mode().Perm() != 0o644 || fi.Size() == 0 {
			t.Errorf("%s: %v, mode %v: want a non-empty file with mode 0644", name, err, fi.Mode().Perm())
		}
	}
}
