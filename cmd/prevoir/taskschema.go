package main

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/prevoir/prevoir/features"
)

// currentTaskSchema is `models import --task T`'s schema: the feature
// schema of the task's most recently built feature table in the store
// (its full feature set: churn's, or propensity's; only dataset's tables when dataset, the command's
// --dataset, is not empty). When several datasets have tables whose latest
// schemas differ (one has web events, another not), it refuses and names
// them: the schema must then be given with --schema.
func currentTaskSchema(ctx context.Context, c *cli.Context, dataset, task string) (*features.Schema, error) {
	if err := checkChoice("Task", task, tasks); err != nil {
		return nil, err
	}
	st, err := openStore(c)
	if err != nil {
		return nil, err
	}
	tabs, err := features.List(ctx, st, dataset)
	if err != nil {
		return nil, err
	}
	latest := map[string]features.Table{}
	for _, t := range tabs {
		// Churn's schema is its full feature set's, not the anchor's.
		if t.Task != task || task == features.TaskChurn && t.Set != features.SetChurn {
			continue
		}
		if l, ok := latest[t.Dataset]; !ok || !t.Created.Before(l.Created) {
			latest[t.Dataset] = t
		}
	}
	if len(latest) == 0 {
		return nil, fmt.Errorf("--task %s: no %s feature table in %s to take the schema from: build one (prevoir features build --task %s --as-of DATE) or give --schema FILE",
			task, task, st.URL(), task)
	}
	names := make([]string, 0, len(latest))
	for ds := range latest {
		names = append(names, ds)
	}
	sort.Strings(names)
	var schema *features.Schema
	var seen []string
	for _, ds := range names {
		t := latest[ds]
		m, err := features.ReadManifest(ctx, st, t.Dataset, t.Task, t.AsOf, t.Spec)
		if err != nil {
			return nil, err
		}
		s := m.FeatureSchema()
		seen = append(seen, fmt.Sprintf("%s (%s as of %s: %d features, fingerprint %s)", ds, t.Spec, t.AsOf, len(s.Features), s.Fingerprint()))
		if schema == nil {
			schema = &s
		} else if s.Fingerprint() != schema.Fingerprint() {
			return nil, fmt.Errorf("--task %s: the datasets' latest %s feature tables have different schemas: %s; give --schema FILE", task, task, strings.Join(seen, "; "))
		}
	}
	return schema, nil
}
