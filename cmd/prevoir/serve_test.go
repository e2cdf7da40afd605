package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prevoir/prevoir/datasets/local"
	"github.com/prevoir/prevoir/serve/publish"
)

// servedScorer publishes prepared churn-shaped rows.
type servedScorer struct{}

func (servedScorer) Tables() []publish.TableSpec {
	cols := []publish.Column{{Name: "customer_id", Type: "string"}, {Name: "as_of", Type: "string"}, {Name: "probability", Type: "double"}, {Name: "reason_1", Type: "string"}}
	return []publish.TableSpec{{Name: "churn", Columns: cols, SortBy: "customer_id", Customer: "customer_id"}}
}

func (servedScorer) Score(_ context.Context, in [][]any, emit func(int, []any) error) error {
	for _, r := range in {
		if err := emit(0, r); err != nil {
			return err
		}
	}
	return nil
}

// freePort returns a loopback address nothing listens on.
func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestServeAndPull: `prevoir serve` serves a store's publication and
// `prevoir scores pull` writes exactly what `scores export` writes; with
// --since-etag, nothing when unchanged.
func TestServeAndPull(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "store")
	if code, _, errOut := runCLI(t, "--store", store, "datasets", "generate", "--dataset", "demo", "--customers", "40", "--days", "20", "--seed", "3"); code != 0 {
		t.Fatal(errOut)
	}
	st, err := local.New(store)
	if err != nil {
		t.Fatal(err)
	}
	src := func(ctx context.Context, fn func([]any) error) error {
		for i := 0; i < 5000; i++ {
			if err := fn([]any{fmt.Sprintf("C%05d", i), "2024-03-01", float64(i%97) / 97, `a "quoted", reason`}); err != nil {
				return err
			}
		}
		return nil
	}
	if _, err := publish.Publish(context.Background(), st, publish.Options{Dataset: "demo", Task: "churn", AsOf: "2024-03-01"}, src, servedScorer{}); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PREVOIR_TOKENS", "tok-scores-0123456789 scores:read;tok-admin-0123456789 admin")
	addr := freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var serveCode int
	var serveErr bytes.Buffer
	wg.Add(1)
	go func() {
		defer wg.Done()
		serveCode = run(ctx, []string{"prevoir", "--store", store, "serve", "--addr", addr, "--poll", "0"}, &bytes.Buffer{}, &serveErr)
	}()
	base := "http://" + addr
	for i := 0; ; i++ {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if i > 300 {
			cancel()
			wg.Wait()
			t.Fatalf("never ready: %v\n%s", err, serveErr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	tokFile := filepath.Join(dir, "token")
	os.WriteFile(tokFile, []byte("tok-scores-0123456789\n"), 0o600)
	pulled := filepath.Join(dir, "pulled.csv")
	code, out, errOut := runCLI(t, "scores", "pull", "churn", "--from", base, "--token-file", tokFile, "-o", pulled)
	if code != 0 {
		t.Fatalf("pull: %d %s", code, errOut)
	}
	_, exported, _ := runCLI(t, "--store", store, "scores", "export", "churn", "--format", "csv")
	got, _ := os.ReadFile(pulled)
	if string(got) != exported || len(exported) < 5000*20 {
		t.Fatalf("pulled %d bytes, export %d", len(got), len(exported))
	}
	etag := regexp.MustCompile(`etag (\S+)`).FindStringSubmatch(out)
	if etag == nil {
		t.Fatalf("no etag in %q", out)
	}
	os.Remove(pulled)
	code, out, errOut = runCLI(t, "scores", "pull", "churn", "--from", base, "--token-file", tokFile, "--since-etag", etag[1], "-o", pulled)
	if code != 0 || !strings.Contains(out, "not modified") {
		t.Fatalf("since etag: %d %s %s", code, out, errOut)
	}
	if _, err := os.Stat(pulled); !os.IsNotExist(err) {
		t.Fatal("an unchanged pull wrote the file")
	}
	if code, _, errOut := runCLI(t, "scores", "pull", "churn", "--from", base, "-o", pulled); code != 1 || !strings.Contains(errOut, "401") {
		t.Fatalf("no token: %d %s", code, errOut)
	}
	cancel()
	wg.Wait()
	if serveCode != 0 || strings.Contains(serveErr.String(), "tok-") {
		t.Fatalf("serve: exit %d\n%s", serveCode, serveErr.String())
	}
}

// TestServeRefusals: serve needs tokens, refuses a tokens file others can
// read, a bad --max-age and bad limits, all as usage errors.
func TestServeRefusals(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "store")
	loose := filepath.Join(dir, "loose")
	os.WriteFile(loose, []byte("tok-admin-0123456789 admin\n"), 0o644)
	bad := filepath.Join(dir, "bad")
	os.WriteFile(bad, []byte("# x\ntok-admin-0123456789 root\n"), 0o600)
	t.Setenv("PREVOIR_TOKENS", "")
	for _, c := range []struct {
		args []string
		says string
	}{
		{[]string{"serve"}, "PREVOIR_TOKENS"},
		{[]string{"serve", "--tokens", loose}, "chmod 600"},
		{[]string{"serve", "--tokens", bad}, bad + `:2: unknown scope "root"`},
		{[]string{"serve", "--tokens", bad, "--max-age", "soon"}, "--max-age"},
		{[]string{"serve", "--max-streams", "0"}, "PREVOIR_TOKENS"},
	} {
		code, _, errOut := runCLI(t, append([]string{"--store", store}, c.args...)...)
		if code != 2 || !strings.Contains(errOut, c.says) {
			t.Errorf("%v: exit %d %s, want 2 saying %q", c.args, code, errOut, c.says)
		}
	}
	for in, want := range map[string]time.Duration{"36h": 36 * time.Hour, "2d": 48 * time.Hour, "": 0} {
		if d, err := parseAge(in); err != nil || d != want {
			t.Errorf("parseAge(%q) = %v %v", in, d, err)
		}
	}
}
