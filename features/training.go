package features

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"time"

	"github.com/prevoir/prevoir/datasets"
)

// TrainingSet lists the tables of a stack of cutoffs, latest first: what
// a trainer fits on (older cutoffs) and holds out (the latest).
type TrainingSet struct {
	FormatVersion int    `json:"format_version"`
	Dataset       string `json:"dataset"`
	Task          string `json:"task"`
	Spec          string `json:"spec"`
	Params        Params `json:"params"`
	// Step is the distance between cutoffs.
	Step   string          `json:"step"`
	Tables []TrainingTable `json:"tables"`
	Rows   int64           `json:"rows"`
	// Fingerprint is the feature schema's, equal in every table.
	Fingerprint string    `json:"fingerprint"`
	CreatedAt   time.Time `json:"created_at"`
}

// TrainingTable is one cutoff of a training set.
type TrainingTable struct {
	AsOf     string   `json:"as_of"`
	Manifest string   `json:"manifest"`
	Rows     int64    `json:"rows"`
	Balance  *Balance `json:"label_balance,omitempty"`
	Reused   bool     `json:"reused"`
}

// TrainingSetKey returns the key of a training-set manifest.
func TrainingSetKey(dataset, task, lastAsOf string, k int, step datasets.Span, spec string) string {
	return fmt.Sprintf("features/%s/%s/_training/%s-%dx%s-%s.json", dataset, task, lastAsOf, k, step, spec)
}

// BuildTrainingSet builds (or reuses) one table per cutoff as_of - k*step,
// k = 0..cutoffs-1, and writes a training-set manifest listing them. With
// labels, every cutoff's window is checked before anything is built: the
// refusal names each censored cutoff.
func BuildTrainingSet(ctx context.Context, st datasets.Store, o Options, cutoffs int, step datasets.Span) (*TrainingSet, string, error) {
	if cutoffs < 1 {
		return nil, "", datasets.Fieldf("Cutoffs", strconv.Itoa(cutoffs), "want at least 1")
	}
	if cutoffs > 1 && step.Days < 1 {
		return nil, "", datasets.Fieldf("Step", step.String(), "a step of at least one day is required with several cutoffs")
	}
	if o.Entities != nil || o.Shards > 1 {
		return nil, "", &datasets.FieldError{Field: "Cutoffs", Value: strconv.Itoa(cutoffs), Msg: "does not combine with entities or shards", With: []string{"Entities", "Shards"}}
	}
	po := o
	po.Labels = false // every cutoff's label window is checked below
	p, err := newPlan(ctx, st, po)
	if err != nil {
		return nil, "", fmt.Errorf("features build: %w", err)
	}
	last := *p.asOfTime
	var opts []Options
	var cuts []*cutoff
	for _, t := range Cutoffs(last, p.loc, cutoffs, step) {
		oo := p.opts
		oo.Labels = o.Labels
		oo.AsOf = t.Format(time.RFC3339)
		if asOfName(t, p.loc) == t.In(p.loc).Format("2006-01-02") {
			oo.AsOf = t.In(p.loc).Format("2006-01-02")
		}
		opts = append(opts, oo)
		cuts = append(cuts, newCutoff(t, p.loc, p.opts.Lookback, p.opts.Horizon))
	}
	if o.Labels {
		if err := checkCensoring(p.in.orders, cuts, p.loc, p.opts.Horizon); err != nil {
			return nil, "", fmt.Errorf("features build: %w", err)
		}
	}
	ts := &TrainingSet{FormatVersion: FormatVersion, Dataset: o.Dataset, Task: p.opts.Task, Step: step.String(), CreatedAt: p.opts.Now().UTC().Truncate(time.Second)}
	for _, oo := range opts {
		r, err := Build(ctx, st, oo)
		if err != nil {
			return nil, "", err
		}
		ts.Tables = append(ts.Tables, TrainingTable{AsOf: r.AsOf, Manifest: r.Manifest.Key(), Rows: r.Rows, Balance: r.Manifest.Balance, Reused: r.Reused})
		ts.Rows += r.Rows
		ts.Fingerprint = r.Manifest.Fingerprint
		ts.Spec, ts.Params = r.Manifest.Spec, r.Manifest.Params
	}
	key := TrainingSetKey(o.Dataset, p.opts.Task, p.asOfName, cutoffs, step, ts.Spec)
	if err := commitTrainingSet(ctx, st, key, ts); err != nil {
		return nil, "", fmt.Errorf("features build: training set: %w", err)
	}
	return ts, key, nil
}

// commitTrainingSet commits a training-set manifest by the commit
// protocol: a compare-and-swap against the one read just before. A race
// lost to a run that committed the same tables is that run's training set;
// lost to other tables (a table was rebuilt from newer data in between), it
// is an error wrapping datasets.ErrConflict. The manifest lists no parts of
// its own: nothing is deleted.
func commitTrainingSet(ctx context.Context, st datasets.Store, key string, ts *TrainingSet) error {
	_, etag, err := datasets.ReadVersioned(ctx, st, key)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	_, err = datasets.SwapObject(ctx, st, key, encodeJSON(ts), etag)
	if !errors.Is(err, datasets.ErrConflict) {
		return err
	}
	b, rerr := datasets.ReadAll(ctx, st, key)
	var cur TrainingSet
	if rerr == nil && jsonUnmarshal(b, &cur) == nil && sameTables(cur.Tables, ts.Tables) {
		return nil
	}
	return fmt.Errorf("%w; build again", err)
}

// sameTables reports whether two training sets list the same table
// versions (manifest and rows; whether a build reused one does not matter).
func sameTables(a, b []TrainingTable) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Manifest != b[i].Manifest || a[i].Rows != b[i].Rows || a[i].AsOf != b[i].AsOf {
			return false
		}
	}
	return true
}

// ReadTrainingSet reads a training-set manifest and the manifests of its
// tables, latest cutoff first.
func ReadTrainingSet(ctx context.Context, st datasets.Store, key string) (*TrainingSet, []*Manifest, error) {
	b, err := datasets.ReadAll(ctx, st, key)
	if err != nil {
		return nil, nil, fmt.Errorf("training set %s: %w", key, err)
	}
	var ts TrainingSet
	if err := jsonUnmarshal(b, &ts); err != nil {
		return nil, nil, fmt.Errorf("training set %s: %w", key, err)
	}
	var ms []*Manifest
	for _, t := range ts.Tables {
		m, err := readManifestKey(ctx, st, t.Manifest)
		if err != nil {
			return nil, nil, err
		}
		ms = append(ms, m)
	}
	return &ts, ms, nil
}
