package main

import (
	"context"
	"fmt"
	"slices"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/features"
	"github.com/prevoir/prevoir/models"
	"github.com/prevoir/prevoir/models/btyd"
	"github.com/prevoir/prevoir/models/registry"
	"github.com/prevoir/prevoir/serve/churn"
	"github.com/prevoir/prevoir/serve/nightly"
	"github.com/prevoir/prevoir/train"
)

// retrainChallenger is the nightly job's trainer (nightly.RetrainFunc;
// serve does not train): it trains a churn challenger on fresh cutoffs
// whose latest, r.Holdout, is held out, scores the champion on that same
// cutoff's labelled feature table, registers the challenger with the
// decision in its card's lineage, and promotes it to champion only when
// it wins on r.Metric by more than r.Margin.
func retrainChallenger(ctx context.Context, st datasets.Store, r nightly.RetrainRequest) (*nightly.RetrainDecision, error) {
	if r.Task != features.TaskChurn {
		return nil, fmt.Errorf("task %s: prevoir trains churn models only; retrain %s outside and import it", r.Task, r.Task)
	}
	reg := registry.New(st, registryOptions())
	champV, err := reg.Resolve(ctx, r.Model, nightly.DefaultAlias)
	if err != nil {
		return nil, err
	}
	champ, err := reg.Load(ctx, r.Model, champV)
	if err != nil {
		return nil, err
	}
	fo := features.Options{Dataset: r.Dataset, Task: r.Task, AsOf: r.Holdout, Horizon: r.Horizon, Lookback: features.DefaultLookback}
	// A champion trained with the clv columns gets a challenger with them.
	_, withCLV := champ.Card().Parameters[btyd.ChurnParam]
	res, err := train.TrainTask(ctx, st, train.TaskOptions{Features: fo, Cutoffs: r.Cutoffs, Step: r.Step, Fit: train.CutoffOptions{Cs: r.C, MinClass: r.MinClass}, CLVFeatures: withCLV})
	if err != nil {
		return nil, fmt.Errorf("challenger: %w", err)
	}
	if res.Model.Holdout == nil {
		return nil, fmt.Errorf("challenger: no holdout metrics on %s", r.Holdout)
	}
	champM, err := evaluateOn(ctx, st, champ, fo)
	if err != nil {
		return nil, fmt.Errorf("champion %s@%d on %s: %w", r.Model, champV, r.Holdout, err)
	}
	cv, hv := metricOf(champM, r.Metric), metricOf(res.Model.Holdout, r.Metric)
	lowerWins := r.Metric == "log_loss" || r.Metric == "brier"
	wins := hv-cv > r.Margin
	if lowerWins {
		wins = cv-hv > r.Margin
	}
	d := &nightly.RetrainDecision{Task: r.Task, Model: r.Model, Holdout: r.Holdout, Metric: r.Metric, Margin: r.Margin,
		Champion: champV, ChampionValue: cv, ChallengerValue: hv, Promoted: wins}
	d.Reason = fmt.Sprintf("challenger %s %.4f vs champion %.4f: ", r.Metric, hv, cv)
	if wins {
		d.Reason += fmt.Sprintf("wins by more than %g", r.Margin)
	} else {
		d.Reason += fmt.Sprintf("does not win by more than %g", r.Margin)
	}
	card := res.Card
	card.PrevoirVersion = Version()
	if card.Lineage != nil {
		if card.Lineage.Extra == nil {
			card.Lineage.Extra = map[string]any{}
		}
		card.Lineage.Extra["challenger_decision"] = d
	}
	stored, err := reg.Register(ctx, r.Model, card, nil)
	if err != nil {
		return nil, err
	}
	d.Challenger = stored.Version
	if _, err := reg.Promote(ctx, r.Model, stored.Version, "challenger"); err != nil {
		return nil, err
	}
	if wins {
		if _, err := reg.Promote(ctx, r.Model, stored.Version, nightly.DefaultAlias); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// evaluateOn scores m on the labelled feature table of the holdout
// cutoff fo.AsOf (built with the feature set and lookback m takes) and
// returns its metrics.
func evaluateOn(ctx context.Context, st datasets.Store, m models.Model, fo features.Options) (*train.Metrics, error) {
	card := m.Card()
	fo.Labels = true
	if card.Inputs.Index("frequency_30") >= 0 {
		fo.FeatureSet = features.SetRFMAnchor
	}
	if card.Lineage != nil {
		if s, ok := card.Lineage.Extra["lookback"].(string); ok && s != "" {
			span, err := datasets.ParseSpan(s)
			if err != nil {
				return nil, fmt.Errorf("lineage lookback %q: %w", s, err)
			}
			fo.Lookback = span
		}
	}
	in, err := churn.BuildInput(ctx, st, card, fo)
	if err != nil {
		return nil, err
	}
	fm := in.Features
	sc, err := churn.NewInputScorer(m, in, fo.AsOf, churn.DefaultBands)
	if err != nil {
		return nil, err
	}
	label := -1
	for i, c := range fm.Schema {
		if c.Role == "label" {
			label = i
		}
	}
	if label < 0 {
		return nil, fmt.Errorf("feature table %s has no label", fm.Key())
	}
	var y, p []float64
	batch := make([][]any, 0, 4096)
	flush := func() error {
		err := sc.Score(ctx, batch, func(_ int, row []any) error {
			p = append(p, row[2].(float64))
			return nil
		})
		batch = batch[:0]
		return err
	}
	err = in.Rows(ctx, st, func(r []any) error {
		var v float64
		switch x := r[label].(type) {
		case float64:
			v = x
		case int64:
			v = float64(x)
		case bool:
			if x {
				v = 1
			}
		default:
			return nil // censored
		}
		y = append(y, v)
		batch = append(batch, slices.Clone(r))
		if len(batch) == cap(batch) {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return nil, err
	}
	mt, err := train.Evaluate(y, p, nil)
	if err != nil {
		return nil, err
	}
	return &mt, nil
}

func metricOf(m *train.Metrics, name string) float64 {
	switch name {
	case "average_precision":
		return m.AveragePrecision
	case "log_loss":
		return m.LogLoss
	case "brier":
		return m.Brier
	}
	return m.AUC
}
