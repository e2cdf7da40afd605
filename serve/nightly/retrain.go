package nightly

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/models/registry"
)

// RetrainRequest asks for a challenger of one task's champion.
type RetrainRequest struct {
	Dataset string
	Task    string
	// Model is the champion's model name; the challenger is registered
	// as its next version.
	Model string
	// Holdout is the cutoff both models are evaluated on: the run's as_of
	// minus the horizon and a day (the latest cutoff whose label window
	// ends within the data: as_of latest is the day after the last order).
	Holdout string
	Horizon datasets.Span
	// Cutoffs, Step and C are the challenger's training settings.
	Cutoffs int
	Step    datasets.Span
	C       []float64
	// MinClass is the fewest positives and negatives to train on (0:
	// events per variable).
	MinClass int
	// Metric and Margin decide: the challenger is promoted only when it
	// beats the champion by more than Margin on Metric.
	Metric string
	Margin float64
}

// RetrainDecision is the outcome of a challenger, recorded in the
// summary, on the challenger's card and in the alias history.
type RetrainDecision struct {
	Task            string  `json:"task"`
	Model           string  `json:"model"`
	Holdout         string  `json:"holdout_cutoff"`
	Metric          string  `json:"metric"`
	Margin          float64 `json:"margin"`
	Champion        int     `json:"champion_version"`
	Challenger      int     `json:"challenger_version"`
	ChampionValue   float64 `json:"champion_value"`
	ChallengerValue float64 `json:"challenger_value"`
	Promoted        bool    `json:"promoted"`
	Reason          string  `json:"reason"`
}

// RetrainFunc trains a challenger, evaluates it and the champion on the
// same held-out cutoff, registers it, and promotes it when it wins.
type RetrainFunc func(ctx context.Context, st datasets.Store, r RetrainRequest) (*RetrainDecision, error)

// RetrainStateKey is where the job records a task's last retraining.
func RetrainStateKey(dataset, task string) string {
	return Root + dataset + "/retrain/" + task + ".json"
}

// retrainState is the object under RetrainStateKey.
type retrainState struct {
	AsOf     string           `json:"as_of"`
	At       time.Time        `json:"at"`
	Decision *RetrainDecision `json:"decision"`
}

// retrainDue reports whether the schedule asks for a challenger of task
// as of asOf: never retrained, or Every or more since the last time.
func retrainDue(ctx context.Context, st datasets.Store, dataset, task, asOf string, every time.Duration) (bool, string, error) {
	if every <= 0 {
		return false, "", nil
	}
	b, etag, err := datasets.ReadVersioned(ctx, st, RetrainStateKey(dataset, task))
	if errors.Is(err, fs.ErrNotExist) {
		return true, "", nil
	}
	if err != nil {
		return false, "", err
	}
	var s retrainState
	if err := json.Unmarshal(b, &s); err != nil {
		return false, "", fmt.Errorf("%s: %w", RetrainStateKey(dataset, task), err)
	}
	last, err1 := time.Parse(time.DateOnly, s.AsOf)
	cur, err2 := time.Parse(time.DateOnly, asOf)
	if err1 != nil || err2 != nil {
		return true, etag, nil
	}
	return cur.Sub(last) >= every, etag, nil
}

// retrain runs the challengers the schedule says are due, before the
// tasks score (a promoted challenger scores tonight).
func retrain(ctx context.Context, st datasets.Store, o Options, sum *Summary, tasks []planned, progress func(Event)) error {
	rc := o.Config.Retrain
	if rc.Every <= 0 {
		return nil
	}
	if o.Retrain == nil {
		sum.Notes = append(sum.Notes, "retraining is scheduled but this build has no trainer")
		return nil
	}
	want := map[string]bool{}
	for _, t := range rc.Tasks {
		want[t] = true
	}
	for _, t := range tasks {
		name := t.adapter.Name
		if !want[name] {
			continue
		}
		due, etag, err := retrainDue(ctx, st, o.Dataset, name, sum.AsOf, time.Duration(rc.Every))
		if err != nil {
			return &TaskError{Task: name, Err: fmt.Errorf("retrain: %w", err)}
		}
		if !due {
			continue
		}
		model, _, err := registry.ParseRef(t.cfg.Model)
		if err != nil {
			return &TaskError{Task: name, Err: err}
		}
		hz := t.cfg.HorizonSpan()
		at, _ := time.Parse(time.DateOnly, sum.AsOf)
		step, _ := datasets.ParseSpan(rc.Step)
		req := RetrainRequest{Dataset: o.Dataset, Task: name, Model: model, Holdout: hz.Before(at, time.UTC).AddDate(0, 0, -1).Format(time.DateOnly),
			Horizon: hz, Cutoffs: rc.Cutoffs, Step: step, C: rc.C, MinClass: rc.MinClass, Metric: rc.Metric, Margin: rc.Margin}
		t0 := o.Now()
		progress(Event{Stage: StageRetrain, Task: name})
		d, err := o.Retrain(ctx, st, req)
		progress(Event{Stage: StageRetrain, Task: name, Done: true, Err: err, Elapsed: o.Now().Sub(t0)})
		if err != nil {
			return &TaskError{Task: name, Err: fmt.Errorf("retrain: %w", err)}
		}
		sum.Retrain = append(sum.Retrain, *d)
		b, _ := json.MarshalIndent(retrainState{AsOf: sum.AsOf, At: o.Now().UTC(), Decision: d}, "", " ")
		if _, err := datasets.SwapObject(ctx, st, RetrainStateKey(o.Dataset, name), append(b, '\n'), etag); err != nil {
			return &TaskError{Task: name, Err: fmt.Errorf("retrain: %w", err)}
		}
	}
	return nil
}
