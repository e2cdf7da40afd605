package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/features"
)

// asOfUsage is the help text of every --as-of that computes.
const asOfUsage = "`DATE` (YYYY-MM-DD, 00:00 in the dataset's zone), latest (the day after the last order) or today"

// checkAsOf checks a given --as-of's form before anything is opened: a
// bad date is a usage error saying so.
func checkAsOf(asOf string) error {
	if asOf == features.AsOfEntities {
		return nil
	}
	return datasets.CheckAsOf(asOf)
}

// resolveAsOf returns --as-of as a DATE of dataset ds: latest and today
// are read from the dataset (datasets.ResolveAsOf).
func resolveAsOf(c *cli.Context, st datasets.Store, ds, asOf string) (string, error) {
	if asOf == features.AsOfEntities {
		return features.AsOfEntities, nil
	}
	return datasets.ResolveAsOf(c.Context, st, ds, asOf, time.Now())
}

// resolveTableAsOf returns --as-of of a command reading a built feature
// table: latest is the most recent as_of built for the dataset and task.
func resolveTableAsOf(c *cli.Context, st datasets.Store, ds, task, asOf string) (string, error) {
	a := asOf
	if a != datasets.AsOfLatest {
		if a == features.AsOfEntities {
			return a, nil
		}
		return resolveAsOf(c, st, ds, a)
	}
	tabs, err := features.List(c.Context, st, ds)
	if err != nil {
		return "", err
	}
	best := ""
	for _, t := range tabs {
		if t.Task == task && t.AsOf != features.AsOfEntities && t.AsOf > best {
			best = t.AsOf
		}
	}
	if best == "" {
		return "", fmt.Errorf("--as-of latest: no %s feature table of dataset %s (prevoir features build --task %s --as-of latest)", task, ds, task)
	}
	return best, nil
}

// resolveDataset returns the dataset named by --dataset, or the store's
// only one. An unknown name, or none given while the store holds several,
// is a usage error listing the datasets.
func resolveDataset(c *cli.Context, st datasets.Store) (string, error) {
	name := c.String("dataset")
	got, err := datasets.ResolveDataset(c.Context, st, name)
	if err == nil {
		return got, nil
	}
	if name != "" && datasets.ValidDatasetName(name) != nil {
		return "", &datasets.FieldError{Field: "Dataset", Value: name, Msg: datasets.ValidDatasetName(name).Error(), Err: err}
	}
	if !errors.Is(err, datasets.ErrNoDataset) {
		return "", err
	}
	names, lerr := datasets.ListDatasets(c.Context, st)
	if lerr != nil {
		return "", err
	}
	switch {
	case len(names) == 0:
		return "", fmt.Errorf("the store %s holds no dataset yet: prevoir datasets generate --dataset demo, or prevoir datasets import --dataset NAME FILE...", st.URL())
	case name != "":
		return "", &datasets.FieldError{Field: "Dataset", Value: name, Msg: fmt.Sprintf("no such dataset in %s (datasets: %s)", st.URL(), strings.Join(names, ", ")), Err: err}
	}
	return "", usageErrorf("the store %s holds %d datasets: pass --dataset NAME (datasets: %s)", st.URL(), len(names), strings.Join(names, ", "))
}

// listSuffix is " (datasets: a, b)", or "" for none.
func listSuffix(names []string) string {
	if len(names) == 0 {
		return ""
	}
	return " (datasets: " + strings.Join(names, ", ") + ")"
}

// The values --task and --feature-set take.
var (
	tasks       = features.Tasks()
	featureSets = []string{features.SetChurn, features.SetRFMAnchor}
)

// checkChoice checks a flag's value against its choices: an unknown one
// is a usage error (a FieldError on field) listing them.
func checkChoice(field, value string, choices []string) error {
	for _, c := range choices {
		if value == c {
			return nil
		}
	}
	want := strings.Join(choices, " or ")
	if len(choices) > 2 {
		want = "one of " + strings.Join(choices, ", ")
	}
	return &datasets.FieldError{Field: field, Value: value, Msg: "unknown; want " + want}
}

// checkTask checks --task, bound to task, when the command has it.
func checkTask(c *cli.Context, task string) error {
	if !c.IsSet("task") && task == "" {
		return nil
	}
	return checkChoice("Task", task, tasks)
}
