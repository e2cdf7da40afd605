package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestComplete(t *testing.T) {
	store := t.TempDir()
	for _, args := range [][]string{
		{"datasets", "generate", "--dataset", "demo", "--customers", "50", "--days", "30"},
		{"datasets", "generate", "--dataset", "shop", "--customers", "50", "--days", "30"},
		{"models", "register", "--name", "churn", "--file", filepath.Join("..", "..", "testdata", "models", "churn_logistic.json")},
	} {
		if code, _, errOut := runCLI(t, append([]string{"--store", store}, args...)...); code != 0 {
			t.Fatalf("%v: %s", args, errOut)
		}
	}
	app := newApp(&bytes.Buffer{}, &bytes.Buffer{})
	for _, tc := range []struct {
		words []string
		want  string
	}{
		{[]string{"mod"}, "models"},
		{[]string{"models", "s"}, "show"},
		{[]string{"datasets", ""}, "describe generate import ls validate"},
		{[]string{"--store", store, "features", "build", "--dataset", ""}, "demo shop"},
		{[]string{"--store", store, "features", "build", "--dataset", "s"}, "shop"},
		{[]string{"--store", store, "models", "show", ""}, "churn"},
		{[]string{"--store", store, "models", "diff", "churn@1", "c"}, "churn"},
		{[]string{"--store", store, "models", "report", "churn@1", ""}, "churn"},
		{[]string{"train", "--ta"}, "--table --task"},
		{[]string{"datasets", "generate", "--na"}, ""}, // --name is hidden
		{[]string{"status", "--js"}, "--json"},
		{[]string{"train", "--task", ""}, "churn"},
		{[]string{"features", "export", "--as-of", ""}, ""}, // a value: the shell's default
	} {
		got := strings.Join(complete(context.Background(), app, tc.words), " ")
		if got != tc.want {
			t.Errorf("complete %q = %q, want %q", tc.words, got, tc.want)
		}
	}
	// Through the command line, as the scripts call it.
	code, out, _ := runCLI(t, "__complete", "--store", store, "models", "show", "")
	if code != 0 || out != "churn\n" {
		t.Errorf("__complete: %d %q", code, out)
	}
	for _, sh := range []string{"bash", "zsh", "fish"} {
		code, out, _ := runCLI(t, "completion", sh)
		if code != 0 || !strings.Contains(out, "__complete") {
			t.Errorf("completion %s: %d %q", sh, code, out)
		}
	}
}

// TestBashCompletionScript loads the bash script in a real bash and
// completes a model name.
func TestBashCompletionScript(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "prevoir")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	store := filepath.Join(dir, "store")
	if code, _, errOut := runCLI(t, "--store", store, "models", "register", "--name", "churn", "--file", filepath.Join("..", "..", "testdata", "models", "churn_logistic.json")); code != 0 {
		t.Fatal(errOut)
	}
	script := `source <("$BIN" completion bash); COMP_WORDS=("$BIN" --store "$STORE" models show ch); COMP_CWORD=5; _prevoir_complete; echo "${COMPREPLY[*]}"`
	cmd := exec.Command(bash, "-c", script)
	cmd.Env = append(os.Environ(), "BIN="+bin, "STORE="+store)
	out, err := cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "churn" {
		t.Errorf("bash completion: %v %q", err, out)
	}
}
