package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestModelsHistoryCLI: two versions, champion promoted to 1 then to 2;
// history lists both moves with user and host; --at between them answers
// version 1, --at after them 2, before them nothing.
func TestModelsHistoryCLI(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "store")
	doc := writeFile(t, dir, "model.json", churnDoc)
	s := func(args ...string) []string { return append([]string{"--store", store}, args...) }

	mustRun(t, s("models", "register", "--name", "churn", "--file", doc)...)
	mustRun(t, s("models", "register", "--name", "churn", "--file", doc)...)
	if out := mustRun(t, s("models", "history", "churn")...); !strings.Contains(out, "no recorded alias moves") {
		t.Errorf("history before any promote: %q", out)
	}
	mustRun(t, s("models", "promote", "churn@1", "--alias", "champion")...)
	mustRun(t, s("models", "promote", "churn@2", "--alias", "champion")...)

	var rows []struct {
		Time  time.Time `json:"time"`
		Alias string    `json:"alias"`
		From  int       `json:"from"`
		To    int       `json:"to"`
		User  string    `json:"user"`
		Host  string    `json:"host"`
	}
	if err := json.Unmarshal([]byte(mustRun(t, s("--json", "models", "history", "churn")...)), &rows); err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	user := userName()
	if len(rows) != 2 || rows[0].Alias != "champion" || rows[0].From != 0 || rows[0].To != 1 ||
		rows[1].From != 1 || rows[1].To != 2 || rows[1].User != user || rows[1].Host != host {
		t.Fatalf("history --json = %+v, want champion 0->1 then 1->2 by %s on %s", rows, user, host)
	}
	if !rows[1].Time.After(rows[0].Time) {
		t.Fatalf("moves at %v then %v", rows[0].Time, rows[1].Time)
	}

	text := mustRun(t, s("models", "history", "churn")...)
	lines := strings.Split(strings.TrimSpace(text), "\n")
	if len(lines) != 3 || strings.Join(strings.Fields(lines[0]), " ") != "TIME ALIAS FROM TO USER HOST" {
		t.Fatalf("history table:\n%s", text)
	}
	if f := strings.Fields(lines[2]); len(f) != 6 || f[1] != "champion" || f[2] != "1" || f[3] != "2" || f[4] != user {
		t.Errorf("second move row %q", lines[2])
	}
	if f := strings.Fields(lines[1]); len(f) != 6 || f[2] != "-" || f[3] != "1" {
		t.Errorf("first move row %q", lines[1])
	}

	mid := rows[0].Time.Add(rows[1].Time.Sub(rows[0].Time) / 2).Format(time.RFC3339Nano)
	if out := mustRun(t, s("models", "history", "churn", "--at", mid)...); !strings.HasPrefix(out, "champion -> 1 ") {
		t.Errorf("--at %s: %q, want champion -> 1", mid, out)
	}
	after := rows[1].Time.Add(time.Second).Format(time.RFC3339Nano)
	if out := mustRun(t, s("models", "history", "churn", "--at", after)...); !strings.HasPrefix(out, "champion -> 2 ") {
		t.Errorf("--at %s: %q, want champion -> 2", after, out)
	}
	if out := mustRun(t, s("models", "history", "churn", "--at", "2011-10-15")...); !strings.Contains(out, "no alias of churn") {
		t.Errorf("--at before any move: %q", out)
	}
	var at []struct {
		Alias   string `json:"alias"`
		Version int    `json:"version"`
	}
	if err := json.Unmarshal([]byte(mustRun(t, s("--json", "models", "history", "churn", "--at", mid)...)), &at); err != nil {
		t.Fatal(err)
	}
	if len(at) != 1 || at[0].Alias != "champion" || at[0].Version != 1 {
		t.Errorf("--at --json = %+v", at)
	}
	if out := mustRun(t, s("--json", "models", "history", "churn", "--at", "2011-10-15")...); strings.TrimSpace(out) != "[]" {
		t.Errorf("--at --json before any move = %q, want []", out)
	}

	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"bad --at", s("models", "history", "churn", "--at", "15/10/2011"), 2, "--at"},
		{"unknown model", s("models", "history", "nope"), 1, "nope"},
		{"bad name", s("models", "history", "churn@1"), 2, "model name"},
		{"no name", s("models", "history"), 2, "NAME"},
	} {
		code, _, stderr := runCLI(t, tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("%s: exit %d, stderr %q; want exit %d mentioning %q", tc.name, code, stderr, tc.code, tc.want)
		}
	}
}
