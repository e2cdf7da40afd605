package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/prevoir/prevoir/datasets"
)

// TestModelsScopedAndReadable: on a generated dataset, --as-of latest
// computes the day after the last order; models ls shows dataset, task,
// kind, key metric and aliases; models show prints metrics as tables;
// models diff puts parameters first and bins only with --all; training
// onto another dataset's model name refuses without --force; models
// import binds by the file's names without --schema and does not
// register the same file twice.
func TestModelsScopedAndReadable(t *testing.T) {
	if testing.Short() {
		t.Skip("generates a history; skipped under -short")
	}
	dir := t.TempDir()
	store := filepath.Join(dir, "store")
	fx := filepath.Join("..", "..", "testdata", "gbdt", "churn")
	run := func(want int, args ...string) (string, string) {
		t.Helper()
		code, out, errOut := runCLI(t, append([]string{"--store", store}, args...)...)
		if code != want {
			t.Fatalf("prevoir %s: exit %d, want %d: %s", strings.Join(args, " "), code, want, errOut)
		}
		return out, errOut
	}
	run(0, "datasets", "generate", "--dataset", "demo", "--customers", "2000", "--seed", "7", "--end", "2025-01-01", "--days", "500")

	out, _ := run(0, "features", "build", "--task", "churn", "--as-of", "latest")
	if !strings.Contains(out, "/2025-01-01/") {
		t.Errorf("features build --as-of latest: want as of 2025-01-01 (the day after the last order): %s", out)
	}
	run(0, "features", "describe", "--task", "churn", "--as-of", "latest")
	_, errOut := run(2, "features", "build", "--task", "churn", "--as-of", "2024-13-01")
	if !strings.Contains(errOut, "--as-of 2024-13-01: not a date") {
		t.Errorf("bad --as-of: %s", errOut)
	}

	train := []string{"train", "--task", "churn", "--as-of", "2024-10-01", "--cutoffs", "2", "--step", "120d", "--name", "churn", "--min-class", "50"}
	run(0, append(train, "--c", "1")...)
	run(0, append(train, "--c", "0.1", "--promote", "champion")...)

	out, _ = run(0, "models", "ls")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], "DATASET") || !strings.Contains(lines[0], "KEY METRIC") {
		t.Fatalf("models ls:\n%s", out)
	}
	for _, l := range lines[1:] {
		if !strings.Contains(l, " demo ") || !strings.Contains(l, " churn ") || !strings.Contains(l, "auc 0.") {
			t.Errorf("models ls row lacks dataset, task or metric: %q", l)
		}
	}
	if !strings.Contains(lines[2], "champion") {
		t.Errorf("models ls: alias missing: %q", lines[2])
	}
	var rows []map[string]any
	out, _ = run(0, "--json", "models", "ls")
	if err := json.Unmarshal([]byte(out), &rows); err != nil || len(rows) != 2 || rows[0]["dataset"] != "demo" {
		t.Errorf("models ls --json: %v %s", err, out)
	}

	out, _ = run(0, "models", "show", "churn@champion")
	if strings.Contains(out, "map[") || !strings.Contains(out, "dataset:     demo") || !strings.Contains(out, "HOLDOUT") || !strings.Contains(out, "roc_auc") {
		t.Errorf("models show:\n%s", out)
	}
	if strings.Contains(out, "cumulative_gain") {
		t.Errorf("models show prints the bins without --all:\n%s", out)
	}
	if out, _ = run(0, "models", "show", "churn@champion", "--all"); !strings.Contains(out, "CUMULATIVE_GAIN") {
		t.Errorf("models show --all lacks the deciles:\n%s", out)
	}

	out, _ = run(0, "models", "diff", "churn@1", "churn@2")
	rowsOut := strings.Split(out, "\n")
	if len(rowsOut) < 4 || !strings.HasPrefix(rowsOut[3], "parameters.") {
		t.Errorf("models diff: parameters should come first:\n%s", out)
	}
	if strings.Contains(out, "deciles") && !strings.Contains(out, "--all shows them") || strings.Contains(out, "metrics.holdout.deciles") {
		t.Errorf("models diff shows bins without --all:\n%s", out)
	}
	if out, _ = run(0, "models", "diff", "churn@1", "churn@2", "--all"); !strings.Contains(out, "deciles") {
		t.Errorf("models diff --all lacks the bins:\n%s", out)
	}

	// Another dataset onto the same model name: refused, then forced.
	run(0, "datasets", "generate", "--dataset", "other", "--customers", "2000", "--seed", "8", "--end", "2025-01-01", "--days", "500")
	_, errOut = run(1, append(train, "--dataset", "other")...)
	if !strings.Contains(errOut, "is of dataset demo, this one of dataset other") || !strings.Contains(errOut, "--force") {
		t.Errorf("training onto another dataset's model: %s", errOut)
	}
	run(0, append(train, "--dataset", "other", "--force")...)

	// Import without --schema: the file names its features.
	imp := []string{"models", "import", "--name", "churn-xgb", "--file", filepath.Join(fx, "churn_xgb.json")}
	out, _ = run(0, imp...)
	if !strings.Contains(out, "imported churn-xgb@1") {
		t.Errorf("import: %s", out)
	}
	out, _ = run(0, imp...)
	if !strings.Contains(out, "churn-xgb@1 already holds this file") || !strings.Contains(out, "nothing registered") {
		t.Errorf("re-import: %s", out)
	}
	if out, _ = run(0, append(imp, "--force")...); !strings.Contains(out, "imported churn-xgb@2") {
		t.Errorf("forced re-import: %s", out)
	}
}

func TestDiffRankAndKebab(t *testing.T) {
	for _, tc := range []struct {
		path string
		rank int
		bin  bool
	}{
		{"parameters.c", 0, false},
		{"inputs.recency_days", 1, false},
		{"schema_fingerprint", 1, false},
		{"metrics.holdout.roc_auc", 2, false},
		{"created", 3, false},
		{"metrics.holdout.deciles", 4, true},
		{"metrics.c_search.points", 4, true},
	} {
		if r, b := diffRank(tc.path); r != tc.rank || b != tc.bin {
			t.Errorf("diffRank(%s) = %d %v", tc.path, r, b)
		}
	}
	for in, want := range map[string]string{"MaxBadRows": "max-bad-rows", "Horizon": "horizon", "HTTPServer": "http-server", "AsOf": "as-of", "Features.Horizon": "horizon", "IDs": "id"} {
		if got := flagFor(in); got != want {
			t.Errorf("flagFor(%s) = %s, want %s", in, got, want)
		}
	}
}

// TestFlagOfFieldNamesRealFlags: every flag the field table maps to is a
// flag of some command, so a FieldError never points at a flag that does
// not exist.
func TestFlagOfFieldNamesRealFlags(t *testing.T) {
	flags := map[string]bool{}
	var walk func(cmds []*cli.Command)
	walk = func(cmds []*cli.Command) {
		for _, c := range cmds {
			for _, f := range c.Flags {
				for _, n := range f.Names() {
					flags[n] = true
				}
			}
			walk(c.Subcommands)
		}
	}
	walk(commands())
	for _, f := range globalFlags() {
		flags[f.Names()[0]] = true
	}
	for field, flag := range flagOfField {
		if !flags[flag] {
			t.Errorf("flagOfField[%s] = %s: no command has --%s", field, flag, flag)
		}
	}
}

// TestFieldErrorsBecomeFlags: a library's FieldError, wrapped with
// context, is a usage error printed with the flag the user typed.
func TestFieldErrorsBecomeFlags(t *testing.T) {
	for _, tc := range []struct {
		err  error
		code int
		msg  string
	}{
		{fmt.Errorf("train churn: %w", datasets.Fieldf("Horizon", "90x", "want Nd or Nw")), 2, "train churn: --horizon 90x: want Nd or Nw"},
		{fmt.Errorf("import: %w", datasets.Fieldf("MaxBadRows", "-1", "must be 0 or more")), 2, "import: --max-bad-rows -1: must be 0 or more"},
		{&datasets.FieldError{Field: "Features.AsOf", Value: "x", Msg: "not a date"}, 2, "--as-of x: not a date"},
		{&datasets.FieldError{Field: "Cutoffs", Msg: "does not combine with", With: []string{"Entities", "Shard"}}, 2, "--cutoffs: does not combine with (--entities, --shard)"},
		{usageErrorf("bad"), 2, "bad"},
		{errors.New("disk full"), 1, "disk full"},
	} {
		code, msg := exitStatus(tc.err)
		if code != tc.code || msg != tc.msg {
			t.Errorf("exitStatus(%v) = %d %q, want %d %q", tc.err, code, msg, tc.code, tc.msg)
		}
	}
}
