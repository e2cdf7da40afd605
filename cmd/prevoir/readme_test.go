package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/prevoir/prevoir/datasets/datatest"
)

// readmeCustomers scales the synthetic history of `make run` and the
// README down from 20,000 customers, to keep the test to seconds; every
// command is otherwise run as written.
const readmeCustomers = "10000"

// TestReadmeUsingIt runs `make run`'s commands (read from the Makefile)
// and then every command block of the README's "Using it" section, in
// sequence, on a fresh store in a scratch folder that has the checkout's
// testdata/ (and ../shared when present): the README cannot drift from
// the code. A block that reads ../shared/data runs only where that data
// is (the datatest rule: skipped outside CI, failed under CI=true).
func TestReadmeUsingIt(t *testing.T) {
	if testing.Short() {
		t.Skip("generates a history and trains; skipped under -short")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	makeRun := makefileRun(t, filepath.Join(root, "Makefile"))
	blocks := readmeBlocks(t, filepath.Join(root, "README.md"), "## Using it")
	if len(makeRun) < 3 || len(blocks) < 2 {
		t.Fatalf("found %d make run commands and %d README blocks", len(makeRun), len(blocks))
	}

	scratch := t.TempDir()
	work := filepath.Join(scratch, "work")
	if err := os.Mkdir(work, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"testdata", "deploy"} { // deploy: make run's nightly config
		if err := os.Symlink(filepath.Join(root, d), filepath.Join(work, d)); err != nil {
			t.Fatal(err)
		}
	}
	if shared := filepath.Join(root, "..", "shared"); exists(shared) {
		if err := os.Symlink(shared, filepath.Join(scratch, "shared")); err != nil {
			t.Fatal(err)
		}
	}
	bank := filepath.Join(root, "..", "shared", "data", "bank_marketing", "bank.csv")
	t.Chdir(work)

	exec := func(t *testing.T, line string) string {
		t.Helper()
		args := strings.Fields(strings.ReplaceAll(line, "--customers 20000", "--customers "+readmeCustomers))
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), append([]string{"prevoir"}, args[1:]...), &stdout, &stderr); code != 0 {
			t.Fatalf("%s: exit %d\n%s%s", line, code, stdout.String(), stderr.String())
		}
		return stdout.String()
	}
	var last string
	for _, line := range makeRun {
		last = exec(t, line)
	}
	// make run ends with the nightly run, which says what it published.
	for _, want := range []string{"task churn: published", "task propensity: published", "task demand: published", "task clv: published",
		"task segments: published", "top churn risks as of", "top offers as of", "pre-positioning plan as of", "rule top_offer: "} {
		if !strings.Contains(last, want) {
			t.Errorf("make run's last command did not print %q:\n%s", want, last)
		}
	}
	for i, b := range blocks {
		if strings.Contains(b, "../shared/data") {
			t.Run("shared-data", func(t *testing.T) {
				if !exists(bank) {
					datatest.Missing(t, "real data %s is missing (../shared/data is not part of a fresh clone)", bank)
				}
				for _, line := range blockCommands(b) {
					exec(t, line)
				}
			})
			continue
		}
		for _, line := range blockCommands(b) {
			exec(t, line)
		}
		if i == 0 {
			for _, f := range []string{"churn-latest.csv", "churn-scores.csv"} {
				if fi, err := os.Stat(f); err != nil || fi.Size() == 0 || fi.Mode().Perm() != 0o644 {
					t.Errorf("%s: %v (want a non-empty file, mode 0644)", f, err)
				}
			}
		}
	}
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// readmeBlocks returns the ```sh blocks of the README section that starts
// with heading (up to the next "## ").
func readmeBlocks(t *testing.T, path, heading string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i := strings.Index(s, heading+"\n")
	if i < 0 {
		t.Fatalf("%s: no %q section", path, heading)
	}
	s = s[i+len(heading):]
	if j := strings.Index(s, "\n## "); j >= 0 {
		s = s[:j]
	}
	var blocks []string
	for _, m := range regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllStringSubmatch(s, -1) {
		blocks = append(blocks, m[1])
	}
	return blocks
}

// blockCommands returns a block's prevoir command lines: continuations
// joined, comments cut, and a command inside a process substitution
// (source <(bin/prevoir completion bash)) taken out of it.
func blockCommands(block string) []string {
	block = strings.ReplaceAll(block, "\\\n", " ")
	inner := regexp.MustCompile(`<\((bin/prevoir [^)]*)\)`)
	var out []string
	for _, line := range strings.Split(block, "\n") {
		if i := strings.Index(line, " #"); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimSpace(line)
		if m := inner.FindStringSubmatch(line); m != nil {
			line = m[1]
		}
		if strings.HasPrefix(line, "bin/prevoir ") {
			out = append(out, line)
		}
	}
	return out
}

// makefileRun returns the prevoir commands of the Makefile's run target,
// with its variables expanded (STORE left at its default).
func makefileRun(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{}
	def := regexp.MustCompile(`^([A-Z_]+)\s*(\?=|:=|=)\s*(.*)$`)
	var recipe []string
	inRun := false
	for _, line := range strings.Split(string(b), "\n") {
		if m := def.FindStringSubmatch(line); m != nil {
			vars[m[1]] = strings.TrimSpace(m[3])
			continue
		}
		if strings.HasPrefix(line, "run:") {
			inRun = true
			continue
		}
		if inRun {
			if !strings.HasPrefix(line, "\t") {
				inRun = false
				continue
			}
			recipe = append(recipe, strings.TrimSpace(line))
		}
	}
	ref := regexp.MustCompile(`\$\(([A-Z_]+)\)`)
	expand := func(s string) string {
		for i := 0; i < 10 && ref.MatchString(s); i++ {
			s = ref.ReplaceAllStringFunc(s, func(r string) string { return vars[r[2:len(r)-1]] })
		}
		return s
	}
	vars["DEMO_CUSTOMERS"] = readmeCustomers
	var out []string
	for _, l := range recipe {
		l = expand(l)
		if strings.HasPrefix(l, "./bin/prevoir ") {
			out = append(out, strings.TrimPrefix(l, "./"))
		}
	}
	return out
}
