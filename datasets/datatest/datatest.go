// Package datatest gives tests the real public data kept beside the
// repository in ../shared/data, under one rule: outside CI, missing data
// skips the test with a message saying so; with CI=true it fails it, since
// CI always has the data.
package datatest

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// Shared returns the path of ../shared/data/rel, resolved from the
// repository root (the folder holding go.mod) whatever the test's package
// folder. When it is missing the test is skipped, or failed under CI=true.
func Shared(t testing.TB, rel string) string {
	t.Helper()
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(root, "..", "shared", "data", rel)
	if _, err := os.Stat(p); err != nil {
		Missing(t, "real data %s is missing (../shared/data is not part of a fresh clone): %v", p, err)
	}
	return p
}

// Testdata returns the path of the repository's testdata/rel, whatever
// the test's package folder. The fixtures are part of the repository: a
// missing one fails the test.
func Testdata(t testing.TB, rel string) string {
	t.Helper()
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(root, "testdata", rel)
	if _, err := os.Stat(p); err != nil {
		t.Fatal(err)
	}
	return p
}

// ReadTestdata returns the content of the repository's testdata/rel, for
// package-level fixtures; it panics when the file cannot be read.
func ReadTestdata(rel string) string {
	root, err := moduleRoot()
	if err != nil {
		panic(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "testdata", rel))
	if err != nil {
		panic(err)
	}
	return string(b)
}

// DecodeJSONGz decodes the gzipped JSON document at path into v.
func DecodeJSONGz(t testing.TB, path string, v any) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if err := json.NewDecoder(zr).Decode(v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// Missing reports that something a test needs is not on this machine:
// t.Fatal under CI=true, t.Skip otherwise.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if InCI() {
		t.Fatal(msg + " (CI=true: this is a failure)")
	}
	t.Skip(msg + "; skipped outside CI")
}

// InCI reports whether the tests run in CI (CI=true).
func InCI() bool {
	ci, _ := strconv.ParseBool(os.Getenv("CI"))
	return ci
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("datatest: no go.mod above the test's folder")
		}
		dir = parent
	}
}
