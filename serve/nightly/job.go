package nightly

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/models"
	"github.com/prevoir/prevoir/models/registry"
	"github.com/prevoir/prevoir/serve/publish"
)

// Options describe one run of the nightly job.
type Options struct {
	// Config is the run's config, Defaults applied (nil: DefaultConfig).
	Config *Config
	// Dataset is the dataset to run on (required: the caller resolves
	// the config's or the store's only one).
	Dataset string
	// Adapters are the tasks the job knows (nil: Builtin()).
	Adapters []Adapter
	// Rules are the trigger rules (nil: no triggers).
	Rules *Rules
	// Kinds are the model kinds the registry may load.
	Kinds models.Kinds
	// GCLayers are the layers the final store gc walks (nil: no gc).
	GCLayers []datasets.GCLayer
	// Retrain trains and judges a challenger (nil: retraining is off
	// whatever the schedule says). cmd/prevoir supplies it: serve does
	// not train.
	Retrain RetrainFunc
	// Holder names this process in the lease (default host:pid).
	Holder         string
	PrevoirVersion string
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Progress, when set, is told when each stage starts and ends. It is
	// called from several goroutines.
	Progress func(Event)
}

// Event is a stage starting (Done false) or ending.
type Event struct {
	Stage string `json:"stage"`
	Task  string `json:"task,omitempty"`
	Done  bool   `json:"done"`
	// Rows is the stage's output rows (when done).
	Rows    int64         `json:"rows,omitempty"`
	Elapsed time.Duration `json:"elapsed,omitempty"`
	Err     error         `json:"-"`
}

// Stage names.
const (
	StageLease    = "lease"
	StageRetrain  = "retrain"
	StagePublish  = "publish"
	StageQuality  = "quality"
	StageTriggers = "triggers"
	StageGC       = "gc"
)

// Task statuses in the summary.
const (
	StatusPublished = "published"
	StatusFailed    = "failed"
	StatusSkipped   = "skipped"
)

// TaskResult is one task's outcome.
type TaskResult struct {
	Task           string   `json:"task"`
	Model          string   `json:"model"`
	Status         string   `json:"status"`
	Publication    string   `json:"publication,omitempty"`
	Run            string   `json:"run,omitempty"`
	Rows           int64    `json:"rows"`
	FeaturesReused bool     `json:"features_reused"`
	Elapsed        Duration `json:"elapsed"`
	Error          string   `json:"error,omitempty"`
}

// Summary is what a run did; OK only when every task (and the triggers)
// published.
type Summary struct {
	Dataset   string             `json:"dataset"`
	AsOf      string             `json:"as_of"`
	Run       string             `json:"run"`
	Holder    string             `json:"holder"`
	StartedAt time.Time          `json:"started_at"`
	Elapsed   Duration           `json:"elapsed"`
	OK        bool               `json:"ok"`
	Tasks     []TaskResult       `json:"tasks"`
	Triggers  *TriggerSummary    `json:"triggers,omitempty"`
	Retrain   []RetrainDecision  `json:"retrain,omitempty"`
	Quality   []QualityPoint     `json:"quality,omitempty"`
	GC        *datasets.GCReport `json:"gc,omitempty"`
	Warnings  []string           `json:"warnings"`
	Notes     []string           `json:"notes"`
	// Stages are the stages that ended, in the order they ended: the
	// timings behind the progress lines.
	Stages []StageTime `json:"stages"`
}

// StageTime is one stage's outcome in the summary.
type StageTime struct {
	Stage   string   `json:"stage"`
	Task    string   `json:"task,omitempty"`
	Rows    int64    `json:"rows"`
	Elapsed Duration `json:"elapsed"`
	Failed  bool     `json:"failed,omitempty"`
}

// TaskError is the run's error when a task failed: it names the task.
type TaskError struct {
	Task string
	Err  error
}

func (e *TaskError) Error() string { return fmt.Sprintf("task %s: %v", e.Task, e.Err) }
func (e *TaskError) Unwrap() error { return e.Err }

// Run runs the nightly job once: it takes the dataset's lease (refused
// while another run holds it), retrains what the schedule says is due,
// publishes every task in dependency order (independent tasks at once,
// within the memory budget), checks the quality of the publications of
// one horizon ago, evaluates the trigger rules and publishes the events,
// collects the store's garbage and releases the lease. The summary is
// returned even with an error; the error names the first failed task.
// A failed task leaves every earlier publication as it was.
func Run(ctx context.Context, st datasets.Store, o Options) (*Summary, error) {
	if o.Config == nil {
		o.Config = DefaultConfig()
	}
	if o.Adapters == nil {
		o.Adapters = Builtin()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Holder == "" {
		host, _ := os.Hostname()
		o.Holder = fmt.Sprintf("%s:%d", host, os.Getpid())
	}
	if o.Dataset == "" {
		return nil, datasets.Fieldf("Dataset", "", "the nightly job needs a dataset")
	}
	cfg := o.Config
	start := o.Now()
	sum := &Summary{Dataset: o.Dataset, Run: datasets.NewRunID(), Holder: o.Holder, StartedAt: start.UTC().Truncate(time.Second),
		Tasks: []TaskResult{}, Warnings: []string{}, Notes: []string{}}
	var mu sync.Mutex
	sum.Stages = []StageTime{}
	progress := func(e Event) {
		if e.Done {
			mu.Lock()
			sum.Stages = append(sum.Stages, StageTime{Stage: e.Stage, Task: e.Task, Rows: e.Rows, Elapsed: Duration(e.Elapsed), Failed: e.Err != nil})
			mu.Unlock()
		}
		if o.Progress != nil {
			o.Progress(e)
		}
	}
	asOf, err := datasets.ResolveAsOf(ctx, st, o.Dataset, cfg.AsOf, start)
	if err != nil {
		return sum, err
	}
	sum.AsOf = asOf

	progress(Event{Stage: StageLease})
	lease, err := AcquireLease(ctx, st, LeaseKey(o.Dataset), LeaseInfo{Holder: o.Holder, Run: sum.Run, AsOf: asOf}, time.Duration(cfg.LeaseTTL), o.Now)
	progress(Event{Stage: StageLease, Done: true, Err: err, Elapsed: o.Now().Sub(start)})
	if err != nil {
		return sum, err
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stop := lease.Heartbeat(ctx, func(err error) { cancel(err) })
	defer func() {
		stop()
		// Released with a fresh context: a cancelled run still frees it.
		rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer rcancel()
		if rerr := lease.Release(rctx); rerr != nil {
			sum.Warnings = append(sum.Warnings, rerr.Error())
		}
	}()

	err = run(ctx, st, o, sum, progress)
	if cause := context.Cause(ctx); cause != nil && errors.Is(cause, ErrLeaseLost) {
		err = errors.Join(err, cause)
	}
	sum.Elapsed = Duration(o.Now().Sub(start))
	sum.OK = err == nil
	return sum, err
}

// run is Run under the lease.
func run(ctx context.Context, st datasets.Store, o Options, sum *Summary, progress func(Event)) error {
	cfg := o.Config
	tasks, err := planTasks(ctx, st, o, sum)
	if err != nil {
		return err
	}
	if err := retrain(ctx, st, o, sum, tasks, progress); err != nil {
		return err
	}
	results := runTasks(ctx, st, o, sum.AsOf, tasks, progress)
	sum.Tasks = results
	var firstErr error
	for _, r := range results {
		if r.Status != StatusPublished && firstErr == nil {
			firstErr = &TaskError{Task: r.Task, Err: errors.New(r.Error)}
		}
	}
	for _, t := range tasks {
		quality(ctx, st, o, sum, t.adapter.Name, t.cfg, progress)
	}
	if o.Rules != nil {
		if firstErr != nil {
			sum.Triggers = &TriggerSummary{Status: StatusSkipped, Error: "a task failed: triggers read the tasks' publications"}
		} else {
			t0 := o.Now()
			progress(Event{Stage: StageTriggers})
			ts, err := Trigger(ctx, st, TriggerOptions{Dataset: o.Dataset, AsOf: sum.AsOf, Rules: o.Rules, Format: cfg.Format,
				PrevoirVersion: o.PrevoirVersion, Now: o.Now})
			sum.Triggers = ts
			var rows int64
			if ts != nil {
				rows = ts.Events
			}
			progress(Event{Stage: StageTriggers, Done: true, Rows: rows, Err: err, Elapsed: o.Now().Sub(t0)})
			if err != nil {
				firstErr = &TaskError{Task: TriggersTask, Err: err}
			}
		}
	}
	if o.GCLayers != nil && ctx.Err() == nil {
		t0 := o.Now()
		progress(Event{Stage: StageGC})
		rep, err := datasets.Collect(ctx, st, o.GCLayers, datasets.GCOptions{MinAge: time.Duration(cfg.GCMinAge), Now: o.Now()})
		if rep != nil {
			sum.GC = rep
			progress(Event{Stage: StageGC, Done: true, Rows: int64(len(rep.Removed)), Err: err, Elapsed: o.Now().Sub(t0)})
		}
		if err != nil && firstErr == nil {
			firstErr = fmt.Errorf("store gc: %w", err)
		}
	}
	return firstErr
}

// planned is a task to run with its settings.
type planned struct {
	adapter Adapter
	cfg     *TaskConfig
	needs   []string
}

// planTasks returns the tasks of the config, or without any, every task
// with a champion model, checked against the adapters and ordered so that
// a task comes after what it needs.
func planTasks(ctx context.Context, st datasets.Store, o Options, sum *Summary) ([]planned, error) {
	cfg := o.Config
	byName := map[string]Adapter{}
	var known []string
	for _, a := range o.Adapters {
		byName[a.Name] = a
		known = append(known, a.Name)
	}
	sort.Strings(known)
	confs := map[string]*TaskConfig{}
	if len(cfg.Tasks) == 0 {
		found, err := champions(ctx, st, o.Kinds)
		if err != nil {
			return nil, err
		}
		for _, task := range sortedKeys(found) {
			if _, ok := byName[task]; !ok {
				sum.Notes = append(sum.Notes, fmt.Sprintf("model %s has a champion for task %s, which the nightly job does not run", found[task], task))
				continue
			}
			tc := &TaskConfig{Model: found[task] + "@" + DefaultAlias}
			if err := tc.defaults(task); err != nil {
				return nil, err
			}
			confs[task] = tc
		}
		if len(confs) == 0 {
			return nil, fmt.Errorf("no task to run: no model of a known task (%s) has a %s alias; train one with --promote %s, or name tasks in the config",
				strings.Join(known, ", "), DefaultAlias, DefaultAlias)
		}
	} else {
		for name, tc := range cfg.Tasks {
			if _, ok := byName[name]; !ok {
				return nil, datasets.Fieldf("tasks", name, "unknown task; the nightly job runs: %s", strings.Join(known, ", "))
			}
			if tc.On() {
				confs[name] = tc
			}
		}
	}
	var out []planned
	for _, name := range sortedKeys(confs) {
		a := byName[name]
		needs := append(append([]string{}, a.Needs...), confs[name].After...)
		for _, n := range a.After {
			if _, ok := confs[n]; ok && !slices.Contains(needs, n) {
				needs = append(needs, n)
			}
		}
		for _, n := range needs {
			if _, ok := confs[n]; !ok {
				return nil, fmt.Errorf("task %s needs task %s, which this run does not run", name, n)
			}
		}
		out = append(out, planned{adapter: a, cfg: confs[name], needs: needs})
	}
	return topoSort(out)
}

// topoSort orders tasks so that each comes after its needs (by name
// among equals), refusing a cycle.
func topoSort(ts []planned) ([]planned, error) {
	done := map[string]bool{}
	var out []planned
	for len(out) < len(ts) {
		progressed := false
		for _, t := range ts {
			if done[t.adapter.Name] {
				continue
			}
			ready := true
			for _, n := range t.needs {
				ready = ready && done[n]
			}
			if ready {
				done[t.adapter.Name] = true
				out = append(out, t)
				progressed = true
			}
		}
		if !progressed {
			var left []string
			for _, t := range ts {
				if !done[t.adapter.Name] {
					left = append(left, t.adapter.Name)
				}
			}
			return nil, fmt.Errorf("tasks %s need each other (a cycle in needs/after)", strings.Join(left, ", "))
		}
	}
	return out, nil
}

// champions maps each task to the model with a champion alias: the model
// named after the task when it has one, else the first by name.
func champions(ctx context.Context, st datasets.Store, kinds models.Kinds) (map[string]string, error) {
	reg := registry.New(st, registry.Options{Kinds: kinds})
	names, err := reg.Names(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, name := range names {
		aliases, err := reg.Aliases(ctx, name)
		if err != nil {
			return nil, err
		}
		v, ok := aliases[DefaultAlias]
		if !ok {
			continue
		}
		card, err := reg.Card(ctx, name, v)
		if err != nil {
			return nil, err
		}
		task := card.Task
		if task == "" {
			continue
		}
		if cur, ok := out[task]; !ok || (name == task && cur != task) {
			out[task] = name
		}
	}
	return out, nil
}

// runTasks publishes every task, each once what it needs has published,
// as many at once as the memory budget allows.
func runTasks(ctx context.Context, st datasets.Store, o Options, asOf string, tasks []planned, progress func(Event)) []TaskResult {
	results := make([]TaskResult, len(tasks))
	done := map[string]chan struct{}{}
	ok := map[string]*bool{}
	for _, t := range tasks {
		done[t.adapter.Name] = make(chan struct{})
		ok[t.adapter.Name] = new(bool)
	}
	budget := newBudget(int64(o.Config.MemoryBudget))
	var wg sync.WaitGroup
	for i, t := range tasks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := t.adapter.Name
			defer close(done[name])
			r := TaskResult{Task: name, Model: t.cfg.Model, Status: StatusSkipped}
			defer func() { results[i] = r }()
			for _, n := range t.needs {
				<-done[n]
				if !*ok[n] {
					r.Error = "needs task " + n + ", which did not publish"
					return
				}
			}
			mem := int64(t.cfg.Memory)
			if mem == 0 {
				mem = t.adapter.Memory
			}
			if mem == 0 {
				mem = DefaultTaskMemory
			}
			if err := budget.acquire(ctx, mem); err != nil {
				r.Status, r.Error = StatusFailed, err.Error()
				return
			}
			defer budget.release(mem)
			t0 := o.Now()
			progress(Event{Stage: StagePublish, Task: name})
			out, err := runAdapter(ctx, st, t.adapter, Input{Dataset: o.Dataset, AsOf: asOf, Format: o.Config.Format, Task: t.cfg, Dir: o.Config.Dir,
				Kinds: o.Kinds, PrevoirVersion: o.PrevoirVersion, Now: o.Now})
			r.Elapsed = Duration(o.Now().Sub(t0))
			if out != nil && out.Manifest != nil {
				m := out.Manifest
				r.Publication, r.Run, r.Rows, r.FeaturesReused = publish.Prefix(m.Dataset, m.Task, m.AsOf), m.Run, m.Rows, out.FeaturesReused
			}
			progress(Event{Stage: StagePublish, Task: name, Done: true, Rows: r.Rows, Err: err, Elapsed: time.Duration(r.Elapsed)})
			if err != nil {
				r.Status, r.Error = StatusFailed, err.Error()
				return
			}
			r.Status = StatusPublished
			*ok[name] = true
		}()
	}
	wg.Wait()
	return results
}

// runAdapter runs one adapter, turning a panic in it into an error.
func runAdapter(ctx context.Context, st datasets.Store, a Adapter, in Input) (out *Output, err error) {
	err = datasets.Guard("task "+a.Name, func() error {
		var e error
		out, e = a.Run(ctx, st, in)
		return e
	})
	return out, err
}

// budget is a weighted semaphore over bytes: a task bigger than the whole
// budget runs alone.
type budget struct {
	mu    sync.Mutex
	cond  *sync.Cond
	total int64
	used  int64
}

func newBudget(total int64) *budget {
	b := &budget{total: total}
	b.cond = sync.NewCond(&b.mu)
	return b
}

func (b *budget) acquire(ctx context.Context, n int64) error {
	n = min(n, b.total)
	stop := context.AfterFunc(ctx, func() {
		b.mu.Lock()
		b.cond.Broadcast()
		b.mu.Unlock()
	})
	defer stop()
	b.mu.Lock()
	defer b.mu.Unlock()
	for b.used+n > b.total {
		if err := ctx.Err(); err != nil {
			return err
		}
		b.cond.Wait()
	}
	b.used += n
	return nil
}

func (b *budget) release(n int64) {
	n = min(n, b.total)
	b.mu.Lock()
	b.used -= n
	b.cond.Broadcast()
	b.mu.Unlock()
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
