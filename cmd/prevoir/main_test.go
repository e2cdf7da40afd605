package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// runCLI runs the binary's entry point in-process and returns its exit
// code, stdout and stderr.
// cliIn returns a runner of prevoir commands on store: it fails the test
// on a non-zero exit, with the command and its stderr, and returns stdout.
func cliIn(t *testing.T, store string) func(args ...string) string {
	return func(args ...string) string {
		t.Helper()
		code, out, errOut := runCLI(t, append([]string{"--store", store}, args...)...)
		if code != 0 {
			t.Fatalf("prevoir %s: exit %d: %s", strings.Join(args, " "), code, errOut)
		}
		return out
	}
}

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), append([]string{"prevoir"}, args...), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestReorderArgs(t *testing.T) {
	app := &cli.App{
		Name:  "prevoir",
		Flags: globalFlags(),
		Commands: []*cli.Command{{
			Name: "models",
			Subcommands: []*cli.Command{{
				Name:  "promote",
				Flags: []cli.Flag{&cli.StringFlag{Name: "alias"}, &cli.BoolFlag{Name: "force"}},
			}},
		}},
	}
	for _, tc := range []struct{ in, want string }{
		{"models promote churn@3 --alias champion", "models promote --alias champion churn@3"},
		{"models promote --alias champion churn@3", "models promote --alias champion churn@3"},
		{"models promote churn@3 --alias=champion --force", "models promote --alias=champion --force churn@3"},
		{"models promote churn@3 --json --store /tmp/x --alias c", "--json --store /tmp/x models promote --alias c churn@3"},
		{"--store s3://b/p models promote x --force", "--store s3://b/p models promote --force x"},
		{"models promote x -- --alias", "models promote -- x --alias"},
		{"models promote x --unknown", "models promote --unknown x"},
		{"models promote -h", "models promote -h"},
		// A positional that is a command name stays positional once
		// positionals have started.
		{"models promote models", "models promote models"},
	} {
		got := strings.Join(reorderArgs(app, append([]string{"prevoir"}, strings.Fields(tc.in)...))[1:], " ")
		if got != tc.want {
			t.Errorf("reorder %q = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestFlagsAfterPositionalEveryCommand checks, for every command of the
// real application, that each of its flags is still recognised when typed
// after a positional argument.
func TestFlagsAfterPositionalEveryCommand(t *testing.T) {
	app := newApp(&bytes.Buffer{}, &bytes.Buffer{})
	var walk func(path []string, cmds []*cli.Command)
	checked := 0
	walk = func(path []string, cmds []*cli.Command) {
		for _, c := range cmds {
			p := append(append([]string(nil), path...), c.Name)
			walk(p, c.Subcommands)
			for _, f := range c.Flags {
				name := f.Names()[0]
				flag := "--" + name
				args := append([]string{"prevoir"}, p...)
				args = append(args, "POSITIONAL", flag)
				if takesValue(f) {
					args = append(args, "VALUE")
				}
				got := reorderArgs(app, args)
				// The flag must come before the positional argument.
				fi, pi := index(got, flag), index(got, "POSITIONAL")
				if fi < 0 || pi < 0 || fi > pi {
					t.Errorf("%v: reordered to %v", args[1:], got[1:])
				}
				checked++
			}
		}
	}
	walk(nil, app.Commands)
	if checked == 0 {
		t.Fatal("no command flags found")
	}
}

func index(ss []string, s string) int {
	for i, x := range ss {
		if x == s {
			return i
		}
	}
	return -1
}

func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "store")
	if code, out, _ := runCLI(t, "--store", store, "version"); code != 0 || strings.TrimSpace(out) == "" {
		t.Errorf("version: code %d out %q", code, out)
	}
	if code, _, errOut := runCLI(t, "no-such-command"); code != 2 {
		t.Errorf("unknown command: code %d, want 2 (stderr %q)", code, errOut)
	}
	if code, _, _ := runCLI(t, "store", "ls", "--no-such-flag"); code != 2 {
		t.Errorf("unknown flag: code %d, want 2", code)
	}
	if code, _, _ := runCLI(t, "--store", store, "store", "stat"); code != 2 {
		t.Errorf("missing argument: code %d, want 2", code)
	}
	if code, _, errOut := runCLI(t, "--store", store, "store", "stat", "missing/key"); code != 1 || !strings.Contains(errOut, "missing/key") {
		t.Errorf("missing key: code %d stderr %q, want 1 naming the key", code, errOut)
	}
	if code, _, errOut := runCLI(t, "--store", store, "store", "stat", "../escape"); code != 1 || !strings.Contains(errOut, "invalid key") {
		t.Errorf("key with '..': code %d stderr %q", code, errOut)
	}
	if code, out, _ := runCLI(t, "--help"); code != 0 || !strings.Contains(out, "prevoir") {
		t.Errorf("--help: code %d", code)
	}
	if code, _, errOut := runCLI(t, "--store", store, "models", "import"); code != 2 || errOut != "prevoir: models import: --name, --file are required (see --help)\n" {
		t.Errorf("missing required flags: code %d (%q), want 2", code, errOut)
	}
	if code, _, _ := runCLI(t, "store"); code != 2 {
		t.Errorf("group without subcommand: code %d, want 2", code)
	}
}

func TestStoreCommands(t *testing.T) {
	store := filepath.Join(t.TempDir(), "store")
	src := filepath.Join(t.TempDir(), "f.txt")
	os.WriteFile(src, []byte("hello"), 0o644)
	// Flags after positionals, as people type them.
	if code, _, errOut := runCLI(t, "store", "put", "a/b.txt", src, "--if-absent", "--store", store); code != 0 {
		t.Fatalf("put: %d %s", code, errOut)
	}
	if code, _, errOut := runCLI(t, "store", "put", "a/b.txt", src, "--if-absent", "--store", store); code != 1 || !strings.Contains(errOut, "precondition failed") {
		t.Fatalf("second if-absent put: code %d stderr %q", code, errOut)
	}
	code, out, _ := runCLI(t, "store", "ls", "--json", "--store", store)
	if code != 0 {
		t.Fatal(code)
	}
	var objs []struct {
		Key  string `json:"key"`
		Size int64  `json:"size"`
	}
	if err := json.Unmarshal([]byte(out), &objs); err != nil || len(objs) != 1 || objs[0].Key != "a/b.txt" || objs[0].Size != 5 {
		t.Fatalf("ls --json = %s (%v)", out, err)
	}
	if code, out, _ := runCLI(t, "store", "cat", "a/b.txt", "--store", store); code != 0 || out != "hello" {
		t.Fatalf("cat: %d %q", code, out)
	}
	code, out, _ = runCLI(t, "status", "--json", "--store", store)
	var st struct {
		Objects int `json:"objects"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &st) != nil || st.Objects != 1 {
		t.Fatalf("status --json: %d %s", code, out)
	}
}

func TestCompletion(t *testing.T) {
	code, out, _ := runCLI(t, "completion", "bash")
	if code != 0 || !strings.Contains(out, "complete -o default -F _prevoir_complete prevoir") {
		t.Fatalf("completion bash: %d %q", code, out)
	}
	if code, _, _ := runCLI(t, "completion", "tcsh"); code != 2 {
		t.Fatalf("completion tcsh: code %d, want 2", code)
	}
	// The completion script relies on --generate-bash-completion.
	// (urfave/cli reads os.Args for completion.)
	saved := os.Args
	os.Args = []string{"prevoir", "--generate-bash-completion"}
	defer func() { os.Args = saved }()
	code, out, _ = runCLI(t, "--generate-bash-completion")
	if code != 0 || !strings.Contains(out, "store") {
		t.Fatalf("--generate-bash-completion: %d %q", code, out)
	}
}

// TestExplicitWiring checks that the package registers nothing from
// init: the command list is commands(), and nothing else adds to it.
func TestExplicitWiring(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), "\nfunc init()") {
			t.Errorf("%s has a func init(); add commands to commands() in app.go", f)
		}
	}
	names := map[string]bool{}
	for _, c := range commands() {
		if names[c.Name] {
			t.Errorf("command %s listed twice", c.Name)
		}
		names[c.Name] = true
	}
	for _, want := range []string{"version", "completion", "store", "status", "datasets", "features", "train", "models", "score", "scores", "customers"} {
		if !names[want] {
			t.Errorf("commands() lacks %s", want)
		}
	}
	// Every command constructor is called somewhere: a command built but
	// wired nowhere is a command users cannot run.
	var src strings.Builder
	ctors := regexp.MustCompile(`(?m)^func (\w+)\(\) \*cli\.Command \{`)
	var found []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, _ := os.ReadFile(f)
		src.Write(b)
		for _, m := range ctors.FindAllStringSubmatch(string(b), -1) {
			found = append(found, m[1])
		}
	}
	if len(found) < 10 {
		t.Fatalf("found only %d command constructors: %v", len(found), found)
	}
	for _, name := range found {
		if strings.Count(src.String(), name+"()") < 2 {
			t.Errorf("%s() builds a command that nothing wires into commands()", name)
		}
	}
}
