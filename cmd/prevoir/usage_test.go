package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestUsageErrors: every misuse of the command line exits 2 with one
// line on stderr saying what is wrong, and nothing on stdout.
func TestUsageErrors(t *testing.T) {
	store := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"no-such"}, `unknown command "no-such"`},
		{[]string{"modles"}, "did you mean models?"},
		{[]string{"models", "lss"}, "models: unknown command \"lss\"; did you mean ls?"},
		{[]string{"models", "import", "--nme", "x"}, "models import: unknown flag --nme; did you mean --name?"},
		{[]string{"--stor", "x", "status"}, "unknown flag --stor; did you mean --store?"},
		{[]string{"features", "describe"}, "features describe: --as-of is required (see --help)"},
		{[]string{"features", "build", "--as-of", "2011-13-01"}, "--as-of 2011-13-01: not a date"},
		{[]string{"features", "build", "--as-of", "yesterday"}, "--as-of yesterday: not a date"},
		{[]string{"train", "--task", "churn", "--as-of", "01/09/2011", "--cutoffs", "3", "--step", "60d", "--name", "x"}, "--as-of 01/09/2011: not a date"},
		{[]string{"train", "--task", "nosuch"}, "--task nosuch: unknown; want one of churn, propensity, demand, clv"},
		{[]string{"features", "build", "--task", "nosuch", "--as-of", "2011-09-01"}, "--task nosuch: unknown; want one of churn, propensity, demand, clv"},
		{[]string{"features", "describe", "--task", "nosuch", "--as-of", "2011-09-01"}, "--task nosuch: unknown"},
		{[]string{"features", "build", "--feature-set", "x", "--as-of", "2011-09-01"}, "--feature-set x: unknown; want churn or rfm-anchor"},
		{[]string{"models", "import", "--name", "m", "--file", "f", "--task", "nosuch"}, "models import: --task nosuch: unknown"},
		{[]string{"datasets", "import", "--dataset", "d", "--table", "nosuch", "f.csv"}, "--table nosuch: unknown; want one of orders, customers"},
		{[]string{"train", "--task", "churn", "--as-of", "2011-09-01", "--cutoffs", "3", "--step", "60x", "--name", "x"}, `--step: span "60x"`},
		{[]string{"--store", "s3:/bucket", "status"}, "malformed S3 URL"},
		{[]string{"--store", "gs://bucket", "status"}, "unsupported scheme"},
		{[]string{"datasets", "generate", "--dataset", "a", "--name", "b"}, "--name is the old spelling of --dataset"},
		{[]string{"datasets", "import", "--dataset", "a", "--name", "b", "f.csv"}, "datasets import: --name is the old spelling of --dataset"},
		{[]string{"store", "gc", "--min-age", "-1s"}, "--min-age -1s: must be 0s or more"},
		{[]string{"store", "put", "--if-absent", "--if-match", "e", "k", "-"}, "store put: --if-absent and --if-match are exclusive"},
		{[]string{"customers", "opt-out", "--channel", "fax", "c1"}, `--channel "fax": want`},
		{[]string{"features", "commit", "--as-of", "2011-13-01", "--spec", "s", "--shards", "2"}, "--as-of 2011-13-01: not a date"},
		{[]string{"train", "--table", "t.csv", "--label", "y", "--name", "m", "--missing", "zero"}, `train: --missing "zero": want refuse, drop or mean`},
		{[]string{"models", "import", "--name", "m", "--file", "f", "--reference-kind", "margin"}, `--reference-kind "margin": want response or raw`},
		{[]string{"features", "describe", "--as-of", "2011-01-01", "--dataset", "bad/name"}, "--dataset bad/name"},
		{[]string{"completion", "tcsh"}, `unknown shell "tcsh"`},
		{[]string{"help", "nosuch"}, "No help topic for 'nosuch'"},
		{[]string{"train", "--cutoffs", "abc"}, "train: --cutoffs abc: want a whole number"},
		{[]string{"train", "--holdout-frac=x"}, "train: --holdout-frac x: want a number"},
		{[]string{"models", "show"}, "models show: usage: prevoir models show NAME[@REF]"},
	} {
		args := append([]string{"--store", store}, tc.args...)
		code, out, errOut := runCLI(t, args...)
		if code != 2 || !strings.Contains(errOut, tc.want) || out != "" || strings.Count(errOut, "\n") != 1 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 2, one line containing %q", tc.args, code, out, errOut, tc.want)
		}
	}
}

func TestJSONErrors(t *testing.T) {
	code, out, errOut := runCLI(t, "--json", "--store", t.TempDir(), "features", "describe")
	var e struct {
		Error    string `json:"error"`
		Kind     string `json:"kind"`
		ExitCode int    `json:"exit_code"`
	}
	if code != 2 || out != "" || json.Unmarshal([]byte(errOut), &e) != nil || e.Kind != "usage" || e.ExitCode != 2 || !strings.Contains(e.Error, "--as-of is required") {
		t.Errorf("usage error with --json: %d %q %q", code, out, errOut)
	}
	code, _, errOut = runCLI(t, "--store", t.TempDir(), "store", "stat", "nope", "--json")
	if code != 1 || json.Unmarshal([]byte(errOut), &e) != nil || e.Kind != "failure" || e.ExitCode != 1 {
		t.Errorf("failure with --json: %d %q", code, errOut)
	}
}

func TestStatusDoesNotCreateStore(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "not-yet")
	code, out, errOut := runCLI(t, "--store", dir, "status")
	if code != 0 || !strings.Contains(out, "does not exist yet") {
		t.Fatalf("status on a missing folder: %d %q %q", code, out, errOut)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("status created %s: %v", dir, err)
	}
	if _, err := os.Stat("s3:"); err == nil {
		t.Fatal("a folder named s3: exists")
	}
}

func TestDeprecatedNameAlias(t *testing.T) {
	store := t.TempDir()
	code, _, errOut := runCLI(t, "--store", store, "datasets", "generate", "--name", "old", "--customers", "50", "--days", "30")
	if code != 0 {
		t.Fatalf("generate --name: %s", errOut)
	}
	code, _, errOut = runCLI(t, "--store", store, "datasets", "generate", "--dataset", "new", "--customers", "50", "--days", "30")
	if code != 0 {
		t.Fatalf("generate --dataset: %s", errOut)
	}
	code, out, _ := runCLI(t, "--store", store, "datasets", "ls")
	if code != 0 || !strings.Contains(out, "old ") || !strings.Contains(out, "new ") {
		t.Errorf("datasets ls: %s", out)
	}
	code, _, help := runCLI(t, "datasets", "generate", "--help")
	_, helpOut, _ := runCLI(t, "datasets", "generate", "--help")
	if code != 0 || strings.Contains(helpOut+help, "--name") || !strings.Contains(helpOut, "--dataset") {
		t.Errorf("generate --help should show --dataset and hide --name:\n%s", helpOut)
	}
	// Two datasets and none named: a usage error listing them.
	code, _, errOut = runCLI(t, "--store", store, "datasets", "describe")
	if code != 2 || !strings.Contains(errOut, "(datasets: new, old)") {
		t.Errorf("describe without --dataset: %d %s", code, errOut)
	}
}

// TestLogsAndQuietStderr: by default a successful command writes only
// its hint of the next command to stderr when it is not a terminal (no
// progress, no logs); with
// --log-level info --log-format json each stage is a JSON log line with
// its duration, and stdout holds only the result.
func TestLogsAndQuietStderr(t *testing.T) {
	store := t.TempDir()
	gen := []string{"--store", store, "datasets", "generate", "--dataset", "demo", "--customers", "50", "--days", "30"}
	code, out, errOut := runCLI(t, gen...)
	if code != 0 || !strings.HasPrefix(errOut, "next: ") || strings.Count(errOut, "\n") != 1 || !strings.HasPrefix(out, "generated dataset demo") {
		t.Fatalf("generate: %d, stdout %q, stderr %q (want the result on stdout, only the next command on stderr)", code, out, errOut)
	}
	code, out, errOut = runCLI(t, append([]string{"--log-level", "info", "--log-format", "json"}, gen...)...)
	if code != 0 || !strings.HasPrefix(out, "dataset demo already holds") {
		t.Fatalf("generate again: %d %q %q", code, out, errOut)
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(strings.TrimSpace(errOut)), &rec); err != nil || rec["msg"] != "generate done" || rec["level"] != "INFO" || rec["duration"] == nil || rec["dataset"] != "demo" {
		t.Errorf("log line: %v %q", err, errOut)
	}
	if code, _, errOut := runCLI(t, "--log-format", "xml", "version"); code != 2 || !strings.Contains(errOut, "--log-format") {
		t.Errorf("--log-format xml: %d %q", code, errOut)
	}
}
