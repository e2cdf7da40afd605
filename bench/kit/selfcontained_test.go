package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// repoRoot is the folder holding go.mod, above this package.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		up := filepath.Dir(dir)
		if up == dir {
			t.Fatal("no go.mod above the test's folder")
		}
		dir = up
	}
}

// sharedBench matches a reference to the anchors folder that lived beside
// the checkout (the shared folder's bench/), in any spelling: a literal
// path, $SHARED/bench, ${SHARED_BENCH}.
var sharedBench = regexp.MustCompile(`(?i)shared[_/]bench`)

// TestNothingReadsSharedBench fails when any file under bench/ or the
// Makefile refers to the benchmark anchors beside the checkout: make bench
// must run on a clone with nothing beside it (issue 16).
func TestNothingReadsSharedBench(t *testing.T) {
	root := repoRoot(t)
	files := []string{filepath.Join(root, "Makefile")}
	err := filepath.WalkDir(filepath.Join(root, "bench"), func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "out" && filepath.Dir(path) == filepath.Join(root, "bench") {
			return filepath.SkipDir // generated, ignored by git
		}
		if !d.IsDir() {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	self, _ := filepath.Abs("selfcontained_test.go")
	for _, f := range files {
		if f == self {
			continue // names the pattern it looks for
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			if sharedBench.MatchString(line) {
				rel, _ := filepath.Rel(root, f)
				t.Errorf("%s:%d refers to the shared bench folder: %s", rel, i+1, strings.TrimSpace(line))
			}
		}
	}
	if len(files) < 10 {
		t.Fatalf("only %d files checked: is the walk looking in the right place?", len(files))
	}
}

// TestSharedBenchPattern shows the spellings the check catches.
func TestSharedBenchPattern(t *testing.T) {
	// The spellings are built from pieces so that this file itself holds
	// none of them.
	shared := "shared"
	for _, s := range []string{"../" + shared + "/bench/gen_orders.py", `"$SHARED/bench/x"`, "${SHARED_BENCH:-x}", "/work/" + shared + "/bench"} {
		if !sharedBench.MatchString(s) {
			t.Errorf("%q not caught", s)
		}
	}
	for _, s := range []string{"PREVOIR_DATA=${PREVOIR_DATA:-../shared/data}", "bench/anchors/rfm.sql"} {
		if sharedBench.MatchString(s) {
			t.Errorf("%q caught, but it is allowed", s)
		}
	}
}
