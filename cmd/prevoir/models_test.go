package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/datasets/datatest"
	"github.com/prevoir/prevoir/datasets/s3"
	"github.com/prevoir/prevoir/datasets/s3/s3test"
)

// churnDoc is a register document (testdata/models/churn_logistic.json,
// shared with the logistic package's tests). z(tenure) = (tenure - 10) / 2; a
// missing tenure is imputed 12 and flagged; segment is one-hot.
var churnDoc = datatest.ReadTestdata("models/churn_logistic.json")

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// mustRun runs the CLI and fails the test unless it exits 0.
func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	code, stdout, stderr := runCLI(t, args...)
	if code != 0 {
		t.Fatalf("prevoir %s: exit %d: %s", strings.Join(args, " "), code, stderr)
	}
	return stdout
}

func TestModelsCLI(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "store")
	doc := writeFile(t, dir, "model.json", churnDoc)
	s := func(args ...string) []string { return append([]string{"--store", store}, args...) }

	if out := mustRun(t, s("models", "register", "--name", "churn", "--file", doc, "--task", "churn")...); !strings.Contains(out, "registered churn@1") {
		t.Errorf("register: %q", out)
	}
	mustRun(t, s("models", "register", "--name", "churn", "--file", doc)...)
	mustRun(t, s("models", "promote", "churn@1", "--alias", "champion")...)

	// ls --json: one object per version, version an integer.
	var ls []map[string]any
	if err := json.Unmarshal([]byte(mustRun(t, s("models", "ls", "--json")...)), &ls); err != nil {
		t.Fatal(err)
	}
	if len(ls) != 2 {
		t.Fatalf("ls --json: %d entries, want 2", len(ls))
	}
	for _, k := range []string{"name", "version", "kind", "aliases", "created"} {
		if _, ok := ls[0][k]; !ok {
			t.Errorf("ls --json entry lacks %q: %v", k, ls[0])
		}
	}
	if ls[0]["version"] != 1.0 || ls[0]["name"] != "churn" || ls[0]["kind"] != "logistic" || fmt.Sprint(ls[0]["aliases"]) != "[champion]" || fmt.Sprint(ls[1]["aliases"]) != "[]" {
		t.Errorf("ls --json = %v", ls)
	}
	if _, err := time.Parse(time.RFC3339Nano, ls[0]["created"].(string)); err != nil {
		t.Errorf("created: %v", err)
	}

	// show --json: the whole card, coefficients and intercept at the top.
	var card map[string]any
	if err := json.Unmarshal([]byte(mustRun(t, s("models", "show", "churn@champion", "--json")...)), &card); err != nil {
		t.Fatal(err)
	}
	coefs, _ := card["coefficients"].(map[string]any)
	pp, _ := card["preprocessing"].(map[string]any)
	if card["version"] != 1.0 || card["intercept"] != -1.0 || coefs["segment=silver"] != -1.0 || pp == nil || pp["mean"].(map[string]any)["tenure"] != 10.0 || card["task"] != "churn" {
		t.Errorf("show --json = %v", card)
	}
	if out := mustRun(t, s("models", "show", "churn")...); !strings.Contains(out, "churn@2") || !strings.Contains(out, "segment=silver  -1") {
		t.Errorf("show text:\n%s", out)
	}
	if out := mustRun(t, s("models", "diff", "churn@1", "churn@latest")...); !strings.Contains(out, "task") || !strings.Contains(out, "version") {
		t.Errorf("diff:\n%s", out)
	}
	var diff struct{ Changes []map[string]any }
	json.Unmarshal([]byte(mustRun(t, s("models", "diff", "churn@1", "churn@1", "--json")...)), &diff)
	if len(diff.Changes) != 0 {
		t.Errorf("diff of a version with itself: %v", diff.Changes)
	}

	// predict: semicolon CSV with CRLF, quoted id, extra column, empty cells.
	in := writeFile(t, dir, "in.csv", "customer_id;segment;tenure;junk\r\nc1;gold;14;x\r\nc2;silver;10;\r\n\"c;3\";platinum;;\r\nc4;;8;\r\n")
	out := mustRun(t, s("models", "predict", "churn@champion", "--input", in, "--id", "customer_id")...)
	// Margins: c1 -1+0.5*2+1 = 1; c2 -1+0-1 = -2; c3 -1+0.5*1+2 = 1.5; c4 -1+0.5*-1 = -1.5.
	want := "customer_id,score\n" +
		"c1," + strconv.FormatFloat(sigmoid(1), 'g', -1, 64) + "\n" +
		"c2," + strconv.FormatFloat(sigmoid(-2), 'g', -1, 64) + "\n" +
		"c;3," + strconv.FormatFloat(sigmoid(1.5), 'g', -1, 64) + "\n" +
		"c4," + strconv.FormatFloat(sigmoid(-1.5), 'g', -1, 64) + "\n"
	if out != want {
		t.Errorf("predict:\n%s\nwant:\n%s", out, want)
	}
	outFile := filepath.Join(dir, "out.csv")
	mustRun(t, s("models", "predict", "churn", "--input", in, "--output", outFile, "--output-kind", "raw", "--id", "junk", "--id", "customer_id")...)
	if b, _ := os.ReadFile(outFile); string(b) != "junk,customer_id,score\nx,c1,1\n,c2,-2\n,c;3,1.5\n,c4,-1.5\n" {
		t.Errorf("predict --output-kind raw:\n%s", b)
	}

	// Parquet input gives the same scores.
	pq := filepath.Join(dir, "in.parquet")
	writePredictParquet(t, pq)
	if out := mustRun(t, s("models", "predict", "churn@1", "--input", pq, "--id", "customer_id", "--output-kind", "raw")...); out != "customer_id,score\nc1,1\nc2,-2\nc;3,1.5\nc4,-1.5\n" {
		t.Errorf("predict parquet:\n%s", out)
	}

	// rm: refused while aliased, then allowed.
	if code, _, stderr := runCLI(t, s("models", "rm", "churn@1")...); code != 1 || !strings.Contains(stderr, "champion") {
		t.Errorf("rm aliased: exit %d: %s", code, stderr)
	}
	mustRun(t, s("models", "promote", "churn@2", "--alias", "champion")...)
	mustRun(t, s("models", "rm", "churn@1")...)
	if out := mustRun(t, s("models", "ls", "churn", "--json")...); strings.Count(out, `"version"`) != 1 {
		t.Errorf("ls after rm: %s", out)
	}
}

type predictRow struct {
	CustomerID string   `parquet:"customer_id"`
	Segment    *string  `parquet:"segment,optional"`
	Tenure     *float64 `parquet:"tenure,optional"`
}

func writePredictParquet(t *testing.T, path string) {
	t.Helper()
	str := func(s string) *string { return &s }
	num := func(v float64) *float64 { return &v }
	rows := []predictRow{
		{"c1", str("gold"), num(14)},
		{"c2", str("silver"), num(10)},
		{"c;3", str("platinum"), nil},
		{"c4", nil, num(8)},
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := parquet.NewGenericWriter[predictRow](f, parquet.MaxRowsPerRowGroup(2))
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestModelsErrors(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "store")
	s := func(args ...string) []string { return append([]string{"--store", store}, args...) }
	doc := writeFile(t, dir, "model.json", churnDoc)
	mustRun(t, s("models", "register", "--name", "churn", "--file", doc)...)
	good := writeFile(t, dir, "good.csv", "segment,tenure\ngold,1\n")
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown model", s("models", "show", "nope"), 1, `no model named "nope"`},
		{"unknown version", s("models", "show", "churn@7"), 1, `model "churn" has no version 7 (versions: 1)`},
		{"unknown alias", s("models", "predict", "churn@champion", "--input", good), 1, `model "churn" has no alias "champion"`},
		{"promote unknown version", s("models", "promote", "churn@3", "--alias", "a"), 1, "no version 3"},
		{"rm unknown version", s("models", "rm", "churn@3"), 1, "no version 3"},
		{"bad ref", s("models", "show", "churn@"), 2, "empty reference"},
		{"bad name", s("models", "show", "a/b"), 2, "model name"},
		{"promote without alias flag", s("models", "promote", "churn@1"), 2, "alias"},
		{"promote alias latest", s("models", "promote", "churn@1", "--alias", "latest"), 2, "reserved"},
		{"rm by alias", s("models", "rm", "churn@latest"), 2, "version number"},
		{"output kind", s("models", "predict", "churn", "--input", good, "--output-kind", "margin"), 2, "response or raw"},
		{"missing input file", s("models", "predict", "churn", "--input", filepath.Join(dir, "none.csv")), 1, "none.csv"},
		{"missing column", s("models", "predict", "churn", "--input", writeFile(t, dir, "m.csv", "segment,x\ngold,1\n")), 1, `missing column(s) "tenure"`},
		{"missing id column", s("models", "predict", "churn", "--input", good, "--id", "cid"), 1, `missing column(s) "cid"`},
		{"bad number", s("models", "predict", "churn", "--input", writeFile(t, dir, "b.csv", "segment,tenure\ngold,1\ngold,1,5\n")), 1, "b.csv:3:"},
		{"bad value", s("models", "predict", "churn", "--input", writeFile(t, dir, "v.csv", "tenure;segment\n1;gold\nabc;gold\n")), 1, `v.csv:3:1: column "tenure": value "abc": not a number`},
		{"register malformed", s("models", "register", "--name", "x", "--file", writeFile(t, dir, "bad.json", `{"kind":"logistic","features":["a"],"intercept":0,"coefficients":{}}`)), 1, `no coefficient for design column "a"`},
		{"register not json", s("models", "register", "--name", "x", "--file", writeFile(t, dir, "bad2.json", `{`)), 1, "model document"},
		{"register bad name", s("models", "register", "--name", "a b", "--file", doc), 2, "model name"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, c.args...)
			if code != c.code || !strings.Contains(stderr, c.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, stderr, c.code, c.want)
			}
		})
	}
	// A failed prediction leaves no output file.
	out := filepath.Join(dir, "never.csv")
	runCLI(t, s("models", "predict", "churn", "--input", filepath.Join(dir, "v.csv"), "--output", out)...)
	if _, err := os.Stat(out); err == nil {
		t.Error("failed predict left its output file")
	}
	// A malformed card in the store.
	os.MkdirAll(filepath.Join(store, "models", "broken", "1"), 0o755)
	writeFile(t, filepath.Join(store, "models", "broken", "1"), "card.json", "{oops")
	if code, _, stderr := runCLI(t, s("models", "show", "broken")...); code != 1 || !strings.Contains(stderr, "malformed") {
		t.Errorf("malformed card: exit %d: %s", code, stderr)
	}
}

// TestModelsProcesses races 8 CLI processes registering one name, then 8
// promoting their own version to their own alias, on the local store and
// on MinIO: versions are exactly 1..8 and all 8 aliases survive.
func TestModelsProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test")
	}
	doc := writeFile(t, t.TempDir(), "model.json", churnDoc)
	race := func(t *testing.T, store string, env []string) {
		const n = 8
		runAll := func(args func(i int) []string) []string {
			cmds := make([]*exec.Cmd, n)
			outs := make([]*bytes.Buffer, n)
			errs := make([]*bytes.Buffer, n)
			for i := range cmds {
				cmds[i] = cliProcess(t, env, append([]string{"--store", store}, args(i)...)...)
				outs[i], errs[i] = &bytes.Buffer{}, &bytes.Buffer{}
				cmds[i].Stdout, cmds[i].Stderr = outs[i], errs[i]
			}
			for _, c := range cmds {
				if err := c.Start(); err != nil {
					t.Fatal(err)
				}
			}
			res := make([]string, n)
			for i, c := range cmds {
				if err := c.Wait(); err != nil {
					t.Fatalf("process %d: %v: %s", i, err, errs[i])
				}
				res[i] = outs[i].String()
			}
			return res
		}
		outs := runAll(func(int) []string {
			return []string{"models", "register", "--name", "churn", "--file", doc, "--json"}
		})
		var versions []int
		for _, o := range outs {
			var c struct{ Version int }
			if err := json.Unmarshal([]byte(o), &c); err != nil {
				t.Fatalf("register output %q: %v", o, err)
			}
			versions = append(versions, c.Version)
		}
		sort.Ints(versions)
		if fmt.Sprint(versions) != "[1 2 3 4 5 6 7 8]" {
			t.Fatalf("versions = %v, want exactly 1..8", versions)
		}
		runAll(func(i int) []string {
			return []string{"models", "promote", fmt.Sprintf("churn@%d", i+1), "--alias", fmt.Sprintf("a%d", i+1)}
		})
		cmd := cliProcess(t, env, "--store", store, "models", "ls", "churn", "--json")
		b, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		var ls []struct {
			Version int
			Aliases []string
		}
		if err := json.Unmarshal(b, &ls); err != nil {
			t.Fatal(err)
		}
		if len(ls) != n {
			t.Fatalf("ls: %d versions", len(ls))
		}
		for _, e := range ls {
			if want := fmt.Sprintf("[a%d]", e.Version); fmt.Sprint(e.Aliases) != want {
				t.Errorf("version %d aliases %v, want %s", e.Version, e.Aliases, want)
			}
		}
	}
	t.Run("local", func(t *testing.T) { race(t, filepath.Join(t.TempDir(), "store"), nil) })
	t.Run("s3", func(t *testing.T) {
		srv := s3test.Start(t)
		race(t, "s3://"+srv.NewBucket(t)+"/prefix", s3Env(srv))
	})
}

// TestModelsS3 keeps models in MinIO and predicts a table read from an
// s3:// URL.
func TestModelsS3(t *testing.T) {
	srv := s3test.Start(t)
	for _, kv := range s3Env(srv) {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	bucket := srv.NewBucket(t)
	st, err := s3.New(t.Context(), bucket, "", srv.Config())
	if err != nil {
		t.Fatal(err)
	}
	pq := filepath.Join(t.TempDir(), "in.parquet")
	writePredictParquet(t, pq)
	b, _ := os.ReadFile(pq)
	if _, err := datasets.PutBytes(t.Context(), st, "tables/in.parquet", b, datasets.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	doc := writeFile(t, t.TempDir(), "model.json", churnDoc)
	store := "s3://" + bucket + "/reg"
	mustRun(t, "--store", store, "models", "register", "--name", "churn", "--file", doc)
	out := mustRun(t, "--store", store, "models", "predict", "churn@1", "--input", "s3://"+bucket+"/tables/in.parquet", "--id", "customer_id", "--output-kind", "raw")
	if out != "customer_id,score\nc1,1\nc2,-2\nc;3,1.5\nc4,-1.5\n" {
		t.Errorf("predict from s3:\n%s", out)
	}
	if code, _, stderr := runCLI(t, "--store", store, "models", "predict", "churn", "--input", "s3://"+bucket+"/tables/none.csv"); code != 1 || !strings.Contains(stderr, "none.csv") {
		t.Errorf("missing s3 input: exit %d: %s", code, stderr)
	}

	// Scores written to an s3:// URL: the same bytes as on stdout.
	mustRun(t, "--store", store, "models", "predict", "churn@1", "--input", "s3://"+bucket+"/tables/in.parquet", "--id", "customer_id", "--output-kind", "raw", "--output", "s3://"+bucket+"/scores/churn.csv")
	got, err := datasets.ReadAll(t.Context(), st, "scores/churn.csv")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != out {
		t.Errorf("predict to s3:\n%s\nwant\n%s", got, out)
	}
	// A prediction that fails part-way (a bad value on line 3) leaves no
	// object, and an existing one as it was.
	bad := writeFile(t, t.TempDir(), "bad.csv", "customer_id,segment,tenure\nc1,gold,14\nc2,silver,lots\n")
	for _, key := range []string{"scores/none.csv", "scores/churn.csv"} {
		code, _, stderr := runCLI(t, "--store", store, "models", "predict", "churn@1", "--input", bad, "--output", "s3://"+bucket+"/"+key)
		if code != 1 || !strings.Contains(stderr, "bad.csv:3") {
			t.Errorf("failing predict to %s: exit %d: %s", key, code, stderr)
		}
	}
	if _, err := st.Stat(t.Context(), "scores/none.csv"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a failed predict left scores/none.csv: %v", err)
	}
	if again, err := datasets.ReadAll(t.Context(), st, "scores/churn.csv"); err != nil || string(again) != out {
		t.Errorf("a failed predict changed scores/churn.csv: %v\n%s", err, again)
	}
	if code, _, stderr := runCLI(t, "--store", store, "models", "predict", "churn@1", "--input", bad, "--output", "s3://"+bucket+"/scores/"); code != 2 || !strings.Contains(stderr, "want s3://bucket/key") {
		t.Errorf("--output to an s3 folder: exit %d: %s", code, stderr)
	}
}

// writeBigCSV writes rows rows of an id and a tenure, streamed.
func writeBigCSV(t testing.TB, path string, rows int) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	w.WriteString("customer_id,segment,tenure,pad\n")
	segs := []string{"gold", "silver", "bronze", ""}
	for i := range rows {
		fmt.Fprintf(w, "customer-%09d,%s,%d,padding-padding-padding\n", i, segs[i%4], i%50)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// TestPredictStreams scores 1M rows and checks that the heap stays far
// below the size of the input (about 60 MB): memory does not grow with
// rows.
func TestPredictStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("1M-row streaming test")
	}
	dir := t.TempDir()
	store := filepath.Join(dir, "store")
	doc := writeFile(t, dir, "model.json", churnDoc)
	mustRun(t, "--store", store, "models", "register", "--name", "churn", "--file", doc)
	in := filepath.Join(dir, "big.csv")
	const rows = 1_000_000
	writeBigCSV(t, in, rows)
	runtime.GC()

	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	out := filepath.Join(dir, "scores.csv")
	code, _, stderr := runCLI(t, "--store", store, "models", "predict", "churn", "--input", in, "--output", out, "--id", "customer_id")
	close(stop)
	wg.Wait()
	if code != 0 {
		t.Fatalf("predict: exit %d: %s", code, stderr)
	}
	n := 0
	f, _ := os.Open(out)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		n++
	}
	f.Close()
	if n != rows+1 {
		t.Errorf("%d output lines, want %d", n, rows+1)
	}
	fi, _ := os.Stat(in)
	t.Logf("input %d MB, peak heap in use %d MB", fi.Size()>>20, peak.Load()>>20)
	if limit := uint64(32 << 20); peak.Load() > limit {
		t.Errorf("peak heap in use %d MB > %d MB for a %d MB input: prediction does not stream", peak.Load()>>20, limit>>20, fi.Size()>>20)
	}
}

// BenchmarkPredict measures scoring throughput of a CSV through the CLI
// path (rows/s is reported).
func BenchmarkPredict(b *testing.B) {
	dir := b.TempDir()
	store := filepath.Join(dir, "store")
	doc := filepath.Join(dir, "model.json")
	os.WriteFile(doc, []byte(churnDoc), 0o644)
	var so, se bytes.Buffer
	if code := run(context.Background(), []string{"prevoir", "--store", store, "models", "register", "--name", "churn", "--file", doc}, &so, &se); code != 0 {
		b.Fatal(se.String())
	}
	in := filepath.Join(dir, "in.csv")
	const rows = 100_000
	writeBigCSV(b, in, rows)
	out := filepath.Join(dir, "out.csv")
	b.ResetTimer()
	for range b.N {
		if code := run(context.Background(), []string{"prevoir", "--store", store, "models", "predict", "churn", "--input", in, "--output", out}, &so, &se); code != 0 {
			b.Fatal(se.String())
		}
	}
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
