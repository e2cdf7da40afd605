package crashtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/datasets/local"
	"github.com/prevoir/prevoir/datasets/s3"
	"github.com/prevoir/prevoir/datasets/s3/s3test"
	"github.com/prevoir/prevoir/features"
	"github.com/prevoir/prevoir/serve/publish"
)

var (
	trialsFlag = flag.Int("crash.trials", 0, "kill trials per command, backend and kill mode (default 2; make crashtest passes 100)")
	reportFlag = flag.String("crash.report", "", "write the counts per command and invariant as Markdown to this file")
)

// bin is the prevoir binary the tests run; work holds shared inputs.
var bin, work string

func TestMain(m *testing.M) {
	flag.Parse()
	code := func() int {
		var err error
		work, err = os.MkdirTemp("", "prevoir-crashtest-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(work)
		bin = filepath.Join(work, "prevoir")
		build := exec.Command("go", "build", "-o", bin, "github.com/prevoir/prevoir/cmd/prevoir")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "build prevoir:", err)
			return 1
		}
		start := time.Now()
		code := m.Run()
		if *reportFlag != "" && code == 0 {
			if err := writeReport(*reportFlag, time.Since(start)); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
		}
		return code
	}()
	s3test.Stop()
	os.Exit(code)
}

// trials is -crash.trials, or a few: `make test` runs the suite in about
// a minute; `make crashtest` asks for hundreds.
func trials() int {
	if *trialsFlag > 0 {
		return *trialsFlag
	}
	return 2
}

// backend is where a trial's store lives.
type backend struct {
	name string
	// newStore returns a fresh, empty store: its URL for the binary, the
	// environment the binary needs, and the store for the checks.
	newStore func(t *testing.T) (url string, env []string, st datasets.Store)
}

func localBackend() backend {
	return backend{name: "folder", newStore: func(t *testing.T) (string, []string, datasets.Store) {
		dir := filepath.Join(t.TempDir(), "store")
		st, err := local.New(dir)
		if err != nil {
			t.Fatal(err)
		}
		return dir, nil, st
	}}
}

func minioBackend(t *testing.T) backend {
	srv := s3test.Start(t) // skips without a minio binary (fails with CI=true)
	return backend{name: "minio", newStore: func(t *testing.T) (string, []string, datasets.Store) {
		bucket := srv.NewBucket(t)
		st, err := s3.New(context.Background(), bucket, "crash", srv.Config())
		if err != nil {
			t.Fatal(err)
		}
		env := []string{"AWS_ENDPOINT_URL=" + srv.Endpoint, "AWS_ACCESS_KEY_ID=" + srv.AccessKey,
			"AWS_SECRET_ACCESS_KEY=" + srv.SecretKey, "AWS_REGION=" + s3test.Region}
		return "s3://" + bucket + "/crash", env, st
	}}
}

// scenario is one command under test.
type scenario struct {
	name string
	// setup prepares the store before the command (nil: empty store).
	setup func(t *testing.T, url string, env []string)
	args  []string
	// check, when set, is checked after the rerun (with the rerun
	// invariant).
	check func(ctx context.Context, st datasets.Store) error
	// lease, when set, is the command's lease TTL: a rerun refused by
	// the lease of the killed run is retried until it expires, and must
	// not be blocked longer.
	lease time.Duration
	// eachTask: the command publishes several things one after the
	// other (the nightly job: features, then each task's publication),
	// so each visible table or publication must be as before or as after
	// the command, not all of them together.
	eachTask bool
}

var csvOnce sync.Once
var csvPath string

func importCSV(t *testing.T) string {
	csvOnce.Do(func() {
		csvPath = filepath.Join(work, "orders.csv")
		if out, err := exec.Command(bin, "datasets", "generate", "--format", "csv", "--out", csvPath, "--customers", "600", "--days", "300").CombinedOutput(); err != nil {
			panic(fmt.Sprintf("generate csv: %v: %s", err, out))
		}
	})
	return csvPath
}

func scenarios(t *testing.T) []scenario {
	return []scenario{
		{name: "datasets import", args: []string{"datasets", "import", "--name", "imp", importCSV(t)}},
		{name: "datasets generate", args: []string{"datasets", "generate", "--name", "gen", "--customers", "300", "--days", "200"}},
		{name: "features build", args: []string{"features", "build", "--as-of", "2024-10-01", "--labels"},
			setup: func(t *testing.T, url string, env []string) {
				mustRun(t, url, env, "datasets", "generate", "--name", "gen", "--customers", "300", "--days", "200")
			}},
		{name: "score", args: []string{"score", "--model", "churn@1", "--as-of", "2025-01-01"},
			// A model, both dates' feature tables, and the previous
			// publication (2024-12-01), which LATEST points to: the run
			// under test writes only its publication.
			setup: func(t *testing.T, url string, env []string) {
				mustRun(t, url, env, "datasets", "generate", "--name", "gen", "--customers", "300", "--days", "200")
				mustRun(t, url, env, "train", "--task", "churn", "--as-of", "2024-10-01", "--cutoffs", "2", "--step", "90d", "--name", "churn", "--min-class", "10")
				mustRun(t, url, env, "features", "build", "--as-of", "2025-01-01")
				mustRun(t, url, env, "score", "--model", "churn@1", "--as-of", "2024-12-01")
			},
			check: scoresAreFeatureCustomers},
		{name: "scores commit", args: []string{"scores", "commit", "churn", "--as-of", "2025-01-01", "--shards", "3"},
			// Three shards scored; the commit under test publishes them.
			setup: func(t *testing.T, url string, env []string) {
				mustRun(t, url, env, "datasets", "generate", "--name", "gen", "--customers", "300", "--days", "200")
				mustRun(t, url, env, "train", "--task", "churn", "--as-of", "2024-10-01", "--cutoffs", "2", "--step", "90d", "--name", "churn", "--min-class", "10")
				for i := 0; i < 3; i++ {
					mustRun(t, url, env, "score", "--model", "churn@1", "--as-of", "2025-01-01", "--shard", fmt.Sprintf("%d/3", i))
				}
			},
			check: scoresAreFeatureCustomers},
		{name: "run", args: []string{"run", "--config", runConfig(t), "--as-of", "2025-01-01", "--lease-ttl", "2s"},
			// A champion and the previous night's run (2024-12-01: its
			// publications and the triggers' cooldown state); the run under
			// test publishes churn and the triggers, then collects garbage.
			setup: func(t *testing.T, url string, env []string) {
				mustRun(t, url, env, "datasets", "generate", "--name", "gen", "--customers", "300", "--days", "200")
				mustRun(t, url, env, "train", "--task", "churn", "--as-of", "2024-10-01", "--cutoffs", "2", "--step", "90d", "--name", "churn", "--min-class", "10", "--promote", "champion")
				mustRun(t, url, env, "run", "--config", runConfig(t), "--as-of", "2024-12-01")
			},
			check: scoresAreFeatureCustomers, lease: 2 * time.Second, eachTask: true},
	}
}

var runConfigOnce sync.Once

// runConfig writes the nightly job's config and rules for the run
// scenario into the shared folder and returns the config's path.
func runConfig(t *testing.T) string {
	path := filepath.Join(work, "prevoir.yaml")
	runConfigOnce.Do(func() {
		rules := "version: 1\nrules:\n" +
			"  - {name: risk, type: churn_probability, threshold: 0.5, channel: email, cooldown: 30d}\n" +
			"  - {name: lapsed, type: days_without_order, days: 60, channel: sms}\n"
		if err := os.WriteFile(filepath.Join(work, "rules.yaml"), []byte(rules), 0o644); err != nil {
			panic(err)
		}
		if err := os.WriteFile(path, []byte("dataset: gen\ntriggers: rules.yaml\n"), 0o644); err != nil {
			panic(err)
		}
	})
	return path
}

// scoresAreFeatureCustomers: the publication LATEST points to holds one
// row per customer of the feature table it scored, no more, no fewer.
func scoresAreFeatureCustomers(ctx context.Context, st datasets.Store) error {
	m, err := publish.Resolve(ctx, st, "gen", "churn", "latest")
	if err != nil {
		return err
	}
	fm, err := features.Latest(ctx, st, "gen", "churn", m.AsOf, "")
	if err != nil {
		return err
	}
	var want, got []string
	if err := features.Rows(ctx, st, fm, func(r []any) error { want = append(want, r[0].(string)); return nil }); err != nil {
		return err
	}
	if err := publish.Rows(ctx, st, m, "", func(r []any) error { got = append(got, r[0].(string)); return nil }); err != nil {
		return err
	}
	sort.Strings(want)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		return fmt.Errorf("published %d customers, the feature table has %d (or they differ, or are not sorted)", len(got), len(want))
	}
	return nil
}

// result is how a run of the binary ended.
type result struct {
	code   int // exit code, -1 when killed
	stderr string
}

func (r result) killed() bool { return r.code == -1 }

// conflict reports a run that lost a race and said so: a commit's
// compare-and-swap, or the nightly job's lease.
func (r result) conflict() bool {
	return r.code == 1 && (strings.Contains(r.stderr, "concurrent commit") || leaseHeld(r))
}

// leaseHeld reports a run refused because another holds the lease.
func leaseHeld(r result) bool { return strings.Contains(r.stderr, "another run holds the lease") }

// start starts the binary on the store with args.
func start(url string, env []string, args ...string) (*exec.Cmd, *bytes.Buffer, error) {
	cmd := exec.Command(bin, append([]string{"--store", url}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	var errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &errb
	return cmd, &errb, cmd.Start()
}

func wait(cmd *exec.Cmd, errb *bytes.Buffer) result {
	err := cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return result{code: -1, stderr: errb.String()}
		}
		return result{code: ee.ExitCode(), stderr: errb.String()}
	}
	if err != nil {
		return result{code: 1, stderr: err.Error()}
	}
	return result{code: 0, stderr: errb.String()}
}

func run(url string, env []string, args ...string) result {
	cmd, errb, err := start(url, env, args...)
	if err != nil {
		return result{code: 1, stderr: err.Error()}
	}
	return wait(cmd, errb)
}

func mustRun(t *testing.T, url string, env []string, args ...string) {
	t.Helper()
	if r := run(url, env, args...); r.code != 0 {
		t.Fatalf("prevoir %s: exit %d: %s", strings.Join(args, " "), r.code, r.stderr)
	}
}

// state is what readers see: per dataset table and feature table, its
// row count and a digest of its rows (sorted: part layout aside). A part
// that does not read is an error.
func state(ctx context.Context, st datasets.Store) (string, error) {
	var lines []string
	names, err := datasets.ListDatasets(ctx, st)
	if err != nil {
		return "", err
	}
	for _, ds := range names {
		tables, err := datasets.ListTables(ctx, st, ds)
		if err != nil {
			return "", err
		}
		for _, tb := range tables {
			m, err := datasets.ReadManifest(ctx, st, ds, tb)
			if err != nil {
				return "", err
			}
			var rows []string
			for _, p := range m.Parts {
				rs, err := partRows(ctx, st, p.Key)
				if err != nil {
					return "", err
				}
				rows = append(rows, rs...)
			}
			lines = append(lines, digest("datasets/"+ds+"/"+tb, rows))
		}
		tabs, err := features.List(ctx, st, ds)
		if err != nil {
			return "", err
		}
		for _, tb := range tabs {
			m, err := features.ReadManifest(ctx, st, ds, tb.Task, tb.AsOf, tb.Spec)
			if err != nil {
				return "", err
			}
			var rows []string
			if err := features.Rows(ctx, st, m, func(r []any) error { rows = append(rows, fmt.Sprint(r...)); return nil }); err != nil {
				return "", err
			}
			lines = append(lines, digest(tb.Key, rows))
		}
		// Publications, as a reader of LATEST sees them.
		objs, err := st.List(ctx, publish.Root+ds+"/")
		if err != nil {
			return "", err
		}
		for _, o := range objs {
			segs := strings.Split(o.Key, "/")
			if len(segs) != 4 || segs[3] != "LATEST" {
				continue
			}
			m, err := publish.Resolve(ctx, st, ds, segs[2], "latest")
			if err != nil {
				return "", err
			}
			var rows []string
			if err := publish.Rows(ctx, st, m, "", func(r []any) error { rows = append(rows, fmt.Sprint(r...)); return nil }); err != nil {
				return "", err
			}
			lines = append(lines, digest(o.Key+" -> "+m.AsOf, rows))
		}
	}
	return strings.Join(lines, "\n"), nil
}

// eachBeforeOrAfter reports whether every line of a state (one table or
// publication) is a line of the state before or of the state after.
func eachBeforeOrAfter(got, pre, full string) bool {
	seen := map[string]bool{}
	for _, l := range append(strings.Split(pre, "\n"), strings.Split(full, "\n")...) {
		seen[l] = true
	}
	for _, l := range strings.Split(got, "\n") {
		if !seen[l] {
			return false
		}
	}
	return true
}

func digest(name string, rows []string) string {
	sort.Strings(rows)
	h := sha256.New()
	for _, r := range rows {
		h.Write([]byte(r))
		h.Write([]byte{0})
	}
	return fmt.Sprintf("%s: %d rows %x", name, len(rows), h.Sum(nil)[:8])
}

func partRows(ctx context.Context, st datasets.Store, key string) ([]string, error) {
	b, err := datasets.ReadAll(ctx, st, key)
	if err != nil {
		return nil, err
	}
	r := parquet.NewReader(bytes.NewReader(b))
	defer r.Close()
	var out []string
	buf := make([]parquet.Row, 256)
	for {
		n, err := r.ReadRows(buf)
		for _, row := range buf[:n] {
			var sb strings.Builder
			for _, v := range row {
				sb.WriteString(v.String())
				sb.WriteByte('|')
			}
			out = append(out, sb.String())
		}
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", key, err)
		}
	}
}

// checkParts: every committed manifest's parts exist and read, including
// the _manifest.json copies tools may read directly.
func checkParts(ctx context.Context, st datasets.Store) error {
	names, err := datasets.ListDatasets(ctx, st)
	if err != nil {
		return err
	}
	for _, ds := range names {
		if _, err := datasets.Validate(ctx, st, ds); err != nil && !errors.Is(err, datasets.ErrNoDataset) {
			return err
		}
	}
	objs, err := st.List(ctx, "datasets/")
	if err != nil {
		return err
	}
	for _, o := range objs {
		if filepath.Base(o.Key) != "_manifest.json" {
			continue
		}
		m, err := datasets.ReadManifestKey(ctx, st, o.Key)
		if err != nil {
			return err
		}
		for _, p := range m.Parts {
			if _, err := st.Stat(ctx, p.Key); err != nil && !p.RedactedByForget {
				return fmt.Errorf("%s lists %s: %w", o.Key, p.Key, err)
			}
		}
	}
	pubs, err := publish.List(ctx, st, "", "")
	if err != nil {
		return err
	}
	for _, e := range pubs {
		m, err := publish.ReadManifest(ctx, st, e.Dataset, e.Task, e.AsOf)
		if err != nil {
			return err
		}
		for _, tb := range m.Tables {
			// Rows checks each part's checksum and row count.
			if err := publish.Rows(ctx, st, m, tb.Name, func([]any) error { return nil }); err != nil {
				return err
			}
		}
	}
	_, err = state(ctx, st)
	return err
}

// checkNoOrphans: no part, kept copy or temporary outside what committed
// manifests list.
func checkNoOrphans(ctx context.Context, st datasets.Store) error {
	var orphans []string
	for _, l := range []datasets.GCLayer{datasets.DatasetsGCLayer(), features.GCLayer(), publish.GCLayer()} {
		objs, err := st.List(ctx, l.Prefix)
		if err != nil {
			return err
		}
		found, err := l.Orphans(ctx, st, objs, func(datasets.ObjectInfo) bool { return false })
		if err != nil {
			return err
		}
		for _, o := range found {
			orphans = append(orphans, o.Key)
		}
	}
	if sc, ok := st.(datasets.Scavenger); ok {
		temps, err := sc.Temporaries(ctx, "")
		if err != nil {
			return err
		}
		for _, o := range temps {
			orphans = append(orphans, o.Key)
		}
	}
	if len(orphans) > 0 {
		return fmt.Errorf("%d orphans after gc: %s", len(orphans), strings.Join(orphans[:min(5, len(orphans))], ", "))
	}
	return nil
}

// tally counts, per backend and command, trials and invariant failures.
type tally struct {
	mu     sync.Mutex
	trials map[string]map[string]int // row -> mode -> trials
	fails  map[string]map[string]int // row -> invariant -> failures
	checks map[string]map[string]int // row -> invariant -> checks
}

var counts = &tally{trials: map[string]map[string]int{}, fails: map[string]map[string]int{}, checks: map[string]map[string]int{}}

func (c *tally) add(row, mode string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.trials[row] == nil {
		c.trials[row] = map[string]int{}
	}
	c.trials[row][mode]++
}

func (c *tally) check(t *testing.T, row, invariant string, err error) {
	t.Helper()
	c.mu.Lock()
	if c.checks[row] == nil {
		c.checks[row], c.fails[row] = map[string]int{}, map[string]int{}
	}
	c.checks[row][invariant]++
	if err != nil {
		c.fails[row][invariant]++
	}
	c.mu.Unlock()
	if err != nil {
		t.Errorf("%s: invariant %s: %v", row, invariant, err)
	}
}

// invariants lists the checks in report order.
var invariants = []string{"parts", "whole", "rerun", "gc"}

// afterCrash checks the invariants after a killed (or raced) run: pre and
// full are the visible states before the command and after an
// uninterrupted run.
func afterCrash(t *testing.T, row, url string, env []string, st datasets.Store, sc scenario, pre, full string) {
	t.Helper()
	ctx := context.Background()
	counts.check(t, row, "parts", checkParts(ctx, st))
	got, err := state(ctx, st)
	if err == nil && got != pre && got != full && !(sc.eachTask && eachBeforeOrAfter(got, pre, full)) {
		err = fmt.Errorf("visible state is neither before nor after the command:\n%s\nbefore:\n%s\nafter:\n%s", got, pre, full)
	}
	counts.check(t, row, "whole", err)
	r := run(url, env, sc.args...)
	err = nil
	if sc.lease > 0 {
		// The killed run's lease blocks the rerun at most its TTL (and a
		// little for the clocks of two processes and the rerun's start).
		deadline := time.Now().Add(sc.lease + 2*time.Second)
		for r.code != 0 && leaseHeld(r) && time.Now().Before(deadline) {
			time.Sleep(200 * time.Millisecond)
			r = run(url, env, sc.args...)
		}
		if r.code != 0 && leaseHeld(r) {
			err = fmt.Errorf("the lease still blocks the rerun %s after the killed run: %s", sc.lease+2*time.Second, r.stderr)
		}
	}
	if err != nil {
	} else if r.code != 0 {
		err = fmt.Errorf("rerun: exit %d: %s", r.code, r.stderr)
	} else if got, serr := state(ctx, st); serr != nil || got != full {
		err = fmt.Errorf("rerun state %q (%v), want %q", got, serr, full)
	} else if sc.check != nil {
		err = sc.check(ctx, st)
	}
	counts.check(t, row, "rerun", err)
	before, _ := state(ctx, st)
	r = run(url, env, "store", "gc", "--min-age", "0s")
	err = nil
	if r.code != 0 {
		err = fmt.Errorf("gc: exit %d: %s", r.code, r.stderr)
	} else if err = checkNoOrphans(ctx, st); err == nil {
		if err = checkParts(ctx, st); err == nil {
			if after, _ := state(ctx, st); after != before {
				err = fmt.Errorf("gc changed what readers see:\n%s\nwas:\n%s", after, before)
			}
		}
	}
	counts.check(t, row, "gc", err)
}

// prepare makes a fresh store with the scenario's setup; it returns the
// visible state before the command.
func prepare(t *testing.T, b backend, sc scenario) (string, []string, datasets.Store, string) {
	url, env, st := b.newStore(t)
	if sc.setup != nil {
		sc.setup(t, url, env)
	}
	pre, err := state(context.Background(), st)
	if err != nil {
		t.Fatal(err)
	}
	return url, env, st, pre
}

// baseline runs the command uninterrupted: the full state, how long it
// took and how many objects it wrote (about its Puts).
func baseline(t *testing.T, b backend, sc scenario) (full string, took time.Duration, puts int) {
	url, env, st, _ := prepare(t, b, sc)
	before, _ := st.List(context.Background(), "")
	t0 := time.Now()
	mustRun(t, url, env, sc.args...)
	took = time.Since(t0)
	after, _ := st.List(context.Background(), "")
	full, err := state(context.Background(), st)
	if err != nil {
		t.Fatal(err)
	}
	// Each object is one Put; _manifest.json copies and _dataset.json may
	// be written twice.
	return full, took, len(after) - len(before) + 2
}

func runKills(t *testing.T, b backend, n int) {
	for _, sc := range scenarios(t) {
		t.Run(strings.ReplaceAll(sc.name, " ", "_"), func(t *testing.T) {
			row := b.name + "\t" + sc.name
			full, took, puts := baseline(t, b, sc)
			killed := 0
			for i := 0; i < n; i++ {
				// Right after the Nth Put, N spread over the run's writes.
				k := 1 + (i*puts/n+i)%puts
				url, env, st, pre := prepare(t, b, sc)
				r := run(url, append(env, fmt.Sprintf("PREVOIR_TEST_KILL_AFTER_PUTS=%d", k)), sc.args...)
				if !r.killed() && r.code != 0 {
					t.Fatalf("kill after put %d: exit %d: %s", k, r.code, r.stderr)
				}
				if r.killed() {
					killed++
				}
				counts.add(row, "after put N")
				afterCrash(t, row, url, env, st, sc, pre, full)
			}
			for i := 0; i < n; i++ {
				// At a random moment of the run.
				url, env, st, pre := prepare(t, b, sc)
				cmd, errb, err := start(url, env, sc.args...)
				if err != nil {
					t.Fatal(err)
				}
				time.AfterFunc(time.Duration(rand.Int64N(int64(took)*5/4+1)), func() { cmd.Process.Signal(syscall.SIGKILL) })
				if r := wait(cmd, errb); !r.killed() && r.code != 0 {
					t.Fatalf("random kill: exit %d: %s", r.code, r.stderr)
				}
				counts.add(row, "random")
				afterCrash(t, row, url, env, st, sc, pre, full)
			}
			if killed == 0 {
				t.Errorf("no run was killed after its Nth Put (N up to %d): the kill switch does not work", puts)
			}
		})
	}
}

func runRaces(t *testing.T, b backend, rounds, procs int) {
	for _, sc := range scenarios(t) {
		t.Run(strings.ReplaceAll(sc.name, " ", "_"), func(t *testing.T) {
			row := b.name + "\t" + sc.name
			full, _, _ := baseline(t, b, sc)
			for i := 0; i < rounds; i++ {
				url, env, st, pre := prepare(t, b, sc)
				results := make([]result, procs)
				var wg sync.WaitGroup
				for p := 0; p < procs; p++ {
					wg.Add(1)
					go func(p int) {
						defer wg.Done()
						results[p] = run(url, env, sc.args...)
					}(p)
				}
				wg.Wait()
				ok := 0
				for _, r := range results {
					switch {
					case r.code == 0:
						ok++
					case !r.conflict():
						t.Errorf("race: exit %d without a conflict message: %s", r.code, r.stderr)
					}
				}
				if ok == 0 {
					t.Errorf("race of %d: no run succeeded", procs)
				}
				counts.add(row, fmt.Sprintf("race of %d", procs))
				afterCrash(t, row, url, env, st, sc, pre, full)
				if got, _ := state(context.Background(), st); got != full {
					t.Errorf("after the race: %s, want %s", got, full)
				}
			}
		})
	}
}

func TestKillFolder(t *testing.T) { runKills(t, localBackend(), trials()) }

func TestRaceFolder(t *testing.T) { runRaces(t, localBackend(), max(1, trials()/3), 3) }

func TestKillMinIO(t *testing.T) {
	b := minioBackend(t)
	runKills(t, b, max(1, trials()/3))
}

func TestRaceMinIO(t *testing.T) {
	b := minioBackend(t)
	runRaces(t, b, max(1, trials()/5), 3)
}

// writeReport writes the counts as docs/RELIABILITY.md.
func writeReport(path string, took time.Duration) error {
	var b strings.Builder
	b.WriteString("# Reliability: the crash-test suite\n\n")
	b.WriteString("Generated by `make crashtest` (cmd/prevoir/crashtest): the prevoir binary killed with SIGKILL\n")
	b.WriteString("right after its Nth store write (PREVOIR_TEST_KILL_AFTER_PUTS=N, N spread over the run's writes)\n")
	b.WriteString("and at random moments, and raced by several processes of one command on one store; after\n")
	b.WriteString("each trial the invariants below are checked. Do not edit by hand: rerun `make crashtest`.\n\n")
	b.WriteString("Invariants:\n\n")
	b.WriteString("- **parts**: every committed manifest's parts (and every `_manifest.json` copy's) exist and read;\n")
	b.WriteString("- **whole**: readers see the state before the command or after it, nothing between (no table of a dataset without the others);\n")
	b.WriteString("- **rerun**: the command run again succeeds and yields the rows of an uninterrupted run;\n")
	b.WriteString("- **gc**: `prevoir store gc --min-age 0s` then leaves no orphan part, kept copy or temporary, and removes nothing readers see.\n\n")
	fmt.Fprintf(&b, "Last run: %s, %d trials per command, backend and kill mode (`-crash.trials`), %s in all.\n\n", time.Now().UTC().Format("2006-01-02"), trials(), took.Round(time.Second))
	b.WriteString("| store | command | trials (by mode) | parts | whole | rerun | gc |\n|---|---|---|---|---|---|---|\n")
	counts.mu.Lock()
	rows := make([]string, 0, len(counts.trials))
	for r := range counts.trials {
		rows = append(rows, r)
	}
	sort.Strings(rows)
	for _, r := range rows {
		store, cmd, _ := strings.Cut(r, "\t")
		var modes []string
		for m, n := range counts.trials[r] {
			modes = append(modes, fmt.Sprintf("%d %s", n, m))
		}
		sort.Strings(modes)
		fmt.Fprintf(&b, "| %s | %s | %s |", store, cmd, strings.Join(modes, ", "))
		for _, inv := range invariants {
			n, f := counts.checks[r][inv], counts.fails[r][inv]
			fmt.Fprintf(&b, " %d/%d |", n-f, n)
		}
		b.WriteString("\n")
	}
	counts.mu.Unlock()
	b.WriteString("\nEach cell is checks passed / checks made. A command that writes the store adds a scenario\n")
	b.WriteString("to cmd/prevoir/crashtest; the MinIO rows appear when the minio binary is available (PREVOIR_TOOLS).\n")
	return os.WriteFile(path, []byte(b.String()), 0o644)
}
