package nightly

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/datasets/synth"
	"github.com/prevoir/prevoir/features"
	"github.com/prevoir/prevoir/models"
	"github.com/prevoir/prevoir/models/logistic"
	"github.com/prevoir/prevoir/models/registry"
	"github.com/prevoir/prevoir/serve/publish"
)

// generated returns a store with a generated dataset "demo" and a churn
// model churn@1, the champion: recency raises the score.
func generated(t *testing.T, o synth.Options) datasets.Store {
	t.Helper()
	st := newStore(t)
	ctx := context.Background()
	o.Name = "demo"
	if _, err := synth.Generate(ctx, st, o, synth.StoreOptions{}); err != nil {
		t.Fatal(err)
	}
	asOf, err := datasets.ResolveAsOf(ctx, st, "demo", datasets.AsOfLatest, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	res, err := features.Build(ctx, st, features.Options{Dataset: "demo", AsOf: asOf})
	if err != nil {
		t.Fatal(err)
	}
	inputs := res.Manifest.FeatureSchema()
	intercept := -0.5
	card := &models.Card{Kind: models.KindLogistic, Task: "churn", Output: logistic.Output, Link: logistic.Link, Inputs: inputs,
		Intercept: &intercept, Coefficients: map[string]float64{},
		Preprocessing: &models.Preprocessing{Mean: map[string]float64{}, Scale: map[string]float64{}, Impute: map[string]float64{}}}
	for _, f := range inputs.Features {
		card.Coefficients[f.Name] = 0
		card.Preprocessing.Impute[f.Name] = 0
		if f.Name == "recency_days" {
			card.Coefficients[f.Name] = 1
			card.Preprocessing.Mean[f.Name], card.Preprocessing.Scale[f.Name] = 60, 30
		}
	}
	reg := registry.New(st, registry.Options{})
	if _, err := reg.Register(ctx, "churn", card, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Promote(ctx, "churn", 1, DefaultAlias); err != nil {
		t.Fatal(err)
	}
	return st
}

// rowsOf reads a publication's table as text lines.
func rowsOf(t *testing.T, st datasets.Store, task, asOf, table string) []string {
	t.Helper()
	m, err := publish.ReadManifest(context.Background(), st, "demo", task, asOf)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	if err := publish.Rows(context.Background(), st, m, table, func(r []any) error {
		out = append(out, fmt.Sprintf("%q", r))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestRunChampionsIdempotent(t *testing.T) {
	ctx := context.Background()
	st := generated(t, synth.Options{Customers: 200, Days: 200, Seed: 3})
	var mu sync.Mutex
	var events []string
	o := Options{Dataset: "demo", Progress: func(e Event) {
		mu.Lock()
		events = append(events, fmt.Sprintf("%s/%s/%v", e.Stage, e.Task, e.Done))
		mu.Unlock()
	}}
	sum, err := Run(ctx, st, o)
	if err != nil {
		t.Fatal(err)
	}
	if !sum.OK || len(sum.Tasks) != 1 || sum.Tasks[0].Task != "churn" || sum.Tasks[0].Status != StatusPublished || sum.Tasks[0].Model != "churn@champion" {
		t.Fatalf("summary %+v", sum)
	}
	if sum.Tasks[0].Rows == 0 {
		t.Fatal("no rows published")
	}
	if !slices.Contains(events, "publish/churn/true") || !slices.Contains(events, "lease//true") {
		t.Errorf("progress events %v", events)
	}
	var stages []string
	for _, s := range sum.Stages {
		stages = append(stages, s.Stage+"/"+s.Task)
	}
	if !slices.Equal(stages, []string{"lease/", "publish/churn", "quality/churn"}) || sum.Stages[1].Rows != sum.Tasks[0].Rows {
		t.Errorf("stages %+v", sum.Stages)
	}
	first := rowsOf(t, st, "churn", sum.AsOf, "")
	// The lease was released: a second run goes at once and publishes the
	// same rows.
	sum2, err := Run(ctx, st, o)
	if err != nil {
		t.Fatal(err)
	}
	if sum2.AsOf != sum.AsOf || sum2.Tasks[0].Run == sum.Tasks[0].Run {
		t.Fatalf("second run %+v", sum2.Tasks)
	}
	if second := rowsOf(t, st, "churn", sum.AsOf, ""); !reflect.DeepEqual(first, second) {
		t.Errorf("a second run for the same as_of published other rows")
	}
	p, err := publish.ReadLatest(ctx, st, "demo", "churn")
	if err != nil || p.AsOf != sum.AsOf {
		t.Errorf("LATEST %+v, %v", p, err)
	}
}

func TestRunRefusedWhileLeased(t *testing.T) {
	ctx := context.Background()
	st := generated(t, synth.Options{Customers: 50, Days: 120, Seed: 1})
	if _, err := AcquireLease(ctx, st, LeaseKey("demo"), LeaseInfo{Holder: "other-host:42", Run: "r0"}, time.Minute, nil); err != nil {
		t.Fatal(err)
	}
	_, err := Run(ctx, st, Options{Dataset: "demo"})
	if !errors.Is(err, ErrLeaseHeld) || !strings.Contains(err.Error(), "other-host:42") {
		t.Fatalf("run under another's lease: %v", err)
	}
	if es, _ := publish.List(ctx, st, "demo", "churn"); len(es) != 0 {
		t.Errorf("a refused run published %v", es)
	}
}

func TestRunFailingTaskNamedEarlierKept(t *testing.T) {
	ctx := context.Background()
	st := generated(t, synth.Options{Customers: 80, Days: 150, Seed: 2})
	sum, err := Run(ctx, st, Options{Dataset: "demo"})
	if err != nil {
		t.Fatal(err)
	}
	before := rowsOf(t, st, "churn", sum.AsOf, "")
	cfg := &Config{Tasks: map[string]*TaskConfig{"churn": {Model: "churn@nosuch"}}}
	if err := cfg.Defaults(); err != nil {
		t.Fatal(err)
	}
	sum2, err := Run(ctx, st, Options{Dataset: "demo", Config: cfg})
	var te *TaskError
	if !errors.As(err, &te) || te.Task != "churn" || sum2.OK || sum2.Tasks[0].Status != StatusFailed {
		t.Fatalf("run with a missing alias: %v, %+v", err, sum2)
	}
	if after := rowsOf(t, st, "churn", sum.AsOf, ""); !reflect.DeepEqual(before, after) {
		t.Error("the failed run changed the earlier publication")
	}
	// The lease was released despite the failure.
	if _, err := AcquireLease(ctx, st, LeaseKey("demo"), LeaseInfo{Holder: "x"}, time.Minute, nil); err != nil {
		t.Errorf("lease after a failed run: %v", err)
	}
}

// fakeAdapter publishes one row per call and records when it ran.
func fakeAdapter(name string, needs []string, mem int64, log *[]string, mu *sync.Mutex, running, peak *int, fail bool) Adapter {
	return Adapter{Name: name, Needs: needs, Memory: mem, Run: func(ctx context.Context, st datasets.Store, in Input) (*Output, error) {
		mu.Lock()
		*log = append(*log, "start "+name)
		*running++
		*peak = max(*peak, *running)
		mu.Unlock()
		time.Sleep(30 * time.Millisecond)
		mu.Lock()
		*running--
		*log = append(*log, "end "+name)
		mu.Unlock()
		if fail {
			return nil, errors.New("boom")
		}
		return &Output{Manifest: &publish.Manifest{Dataset: in.Dataset, Task: name, AsOf: in.AsOf, Rows: 1}}, nil
	}}
}

func TestRunTasksOrderAndBudget(t *testing.T) {
	ctx := context.Background()
	st := generated(t, synth.Options{Customers: 30, Days: 60, Seed: 4})
	var mu sync.Mutex
	var log []string
	var running, peak int
	cfg := &Config{MemoryBudget: 100, Tasks: map[string]*TaskConfig{"a": {}, "b": {}, "c": {}, "d": {}}}
	if err := cfg.Defaults(); err != nil {
		t.Fatal(err)
	}
	ads := []Adapter{
		fakeAdapter("a", nil, 50, &log, &mu, &running, &peak, false),
		fakeAdapter("b", nil, 50, &log, &mu, &running, &peak, false),
		fakeAdapter("c", []string{"a", "b"}, 100, &log, &mu, &running, &peak, false),
		fakeAdapter("d", []string{"c"}, 10, &log, &mu, &running, &peak, true),
	}
	sum, err := Run(ctx, st, Options{Dataset: "demo", Config: cfg, Adapters: ads})
	var te *TaskError
	if !errors.As(err, &te) || te.Task != "d" {
		t.Fatalf("err %v, want task d named", err)
	}
	if peak != 2 {
		t.Errorf("peak concurrency %d, want 2 (a and b together within the budget)", peak)
	}
	idx := func(s string) int { return slices.Index(log, s) }
	if idx("start c") < idx("end a") || idx("start c") < idx("end b") || idx("start d") < idx("end c") {
		t.Errorf("order %v", log)
	}
	st2 := map[string]string{}
	for _, r := range sum.Tasks {
		st2[r.Task] = r.Status
	}
	if st2["a"] != StatusPublished || st2["c"] != StatusPublished || st2["d"] != StatusFailed {
		t.Errorf("statuses %v", st2)
	}
	// A failed need skips what needs it.
	log, peak = nil, 0
	ads[0] = fakeAdapter("a", nil, 50, &log, &mu, &running, &peak, true)
	sum, err = Run(ctx, st, Options{Dataset: "demo", Config: cfg, Adapters: ads})
	if !errors.As(err, &te) || te.Task != "a" {
		t.Fatalf("err %v, want task a named", err)
	}
	for _, r := range sum.Tasks {
		if (r.Task == "c" || r.Task == "d") && r.Status != StatusSkipped {
			t.Errorf("task %s: %s, want skipped", r.Task, r.Status)
		}
	}
	// A cycle is refused before anything runs.
	ads[0] = fakeAdapter("a", []string{"d"}, 50, &log, &mu, &running, &peak, false)
	if _, err := Run(ctx, st, Options{Dataset: "demo", Config: cfg, Adapters: ads}); err == nil || !strings.Contains(err.Error(), "cycle") {
		t.Errorf("cycle: %v", err)
	}
}

func TestRunUnknownTaskAndNoChampion(t *testing.T) {
	ctx := context.Background()
	st := generated(t, synth.Options{Customers: 30, Days: 60, Seed: 4})
	cfg := &Config{Tasks: map[string]*TaskConfig{"nosuch": {}}}
	if err := cfg.Defaults(); err != nil {
		t.Fatal(err)
	}
	if _, err := Run(ctx, st, Options{Dataset: "demo", Config: cfg}); err == nil || !strings.Contains(err.Error(), "nosuch") {
		t.Errorf("unknown task: %v", err)
	}
	if err := registry.New(st, registry.Options{}).Unalias(ctx, "churn", DefaultAlias); err != nil {
		t.Fatal(err)
	}
	if _, err := Run(ctx, st, Options{Dataset: "demo"}); err == nil || !strings.Contains(err.Error(), "no task to run") {
		t.Errorf("no champion: %v", err)
	}
}

// TestRunCorruptPartNamed: a corrupt order part fails the churn task of a
// new date, named, and the earlier publication stays readable as it was.
func TestRunCorruptPartNamed(t *testing.T) {
	ctx := context.Background()
	st := generated(t, synth.Options{Customers: 80, Days: 150, Seed: 6})
	cfg := &Config{AsOf: "2024-12-01"}
	if err := cfg.Defaults(); err != nil {
		t.Fatal(err)
	}
	if _, err := Run(ctx, st, Options{Dataset: "demo", Config: cfg}); err != nil {
		t.Fatal(err)
	}
	before := rowsOf(t, st, "churn", "2024-12-01", "")
	m, err := datasets.ReadManifest(ctx, st, "demo", "orders")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range m.Parts {
		if _, err := datasets.PutBytes(ctx, st, p.Key, []byte("PAR1 not parquet at all PAR1"), datasets.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	cfg.AsOf = "2024-12-02"
	sum, err := Run(ctx, st, Options{Dataset: "demo", Config: cfg})
	var te *TaskError
	if !errors.As(err, &te) || te.Task != "churn" || sum.OK {
		t.Fatalf("run over corrupt parts: %v", err)
	}
	if after := rowsOf(t, st, "churn", "2024-12-01", ""); !reflect.DeepEqual(before, after) {
		t.Error("the earlier publication changed")
	}
	if p, err := publish.ReadLatest(ctx, st, "demo", "churn"); err != nil || p.AsOf != "2024-12-01" {
		t.Errorf("LATEST %+v %v, want the earlier publication", p, err)
	}
}

// TestRunAfterWhenPresent: an adapter's After orders it after those tasks
// when the run has them, and does not require them when it has not.
func TestRunAfterWhenPresent(t *testing.T) {
	ctx := context.Background()
	st := generated(t, synth.Options{Customers: 30, Days: 60, Seed: 4})
	var mu sync.Mutex
	var log []string
	var running, peak int
	seg := fakeAdapter("seg", nil, 10, &log, &mu, &running, &peak, false)
	seg.After = []string{"a", "missing"}
	ads := []Adapter{fakeAdapter("a", nil, 10, &log, &mu, &running, &peak, false), seg}
	cfg := &Config{Tasks: map[string]*TaskConfig{"a": {}, "seg": {}}}
	if err := cfg.Defaults(); err != nil {
		t.Fatal(err)
	}
	if _, err := Run(ctx, st, Options{Dataset: "demo", Config: cfg, Adapters: ads}); err != nil {
		t.Fatal(err)
	}
	if i, j := slices.Index(log, "end a"), slices.Index(log, "start seg"); i < 0 || j < i {
		t.Errorf("order %v: seg must start after a ends", log)
	}
	log = nil
	cfg = &Config{Tasks: map[string]*TaskConfig{"seg": {}}}
	if err := cfg.Defaults(); err != nil {
		t.Fatal(err)
	}
	if _, err := Run(ctx, st, Options{Dataset: "demo", Config: cfg, Adapters: ads}); err != nil {
		t.Fatalf("seg alone: %v", err)
	}
}

// TestBuiltinAdapters: the job knows every task that publishes, once.
func TestBuiltinAdapters(t *testing.T) {
	seen := map[string]bool{}
	for _, a := range Builtin() {
		if seen[a.Name] || a.Run == nil {
			t.Errorf("adapter %q duplicated or without Run", a.Name)
		}
		seen[a.Name] = true
	}
	for _, want := range []string{"churn", "propensity", "demand", "clv", "segments"} {
		if !seen[want] {
			t.Errorf("no adapter for task %s", want)
		}
	}
}
