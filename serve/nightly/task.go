package nightly

import (
	"context"
	"time"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/models"
	"github.com/prevoir/prevoir/serve/publish"
)

// Input is what a task adapter gets for one run: the dataset, the
// resolved date and the task's settings.
type Input struct {
	Dataset string
	// AsOf is the resolved date, YYYY-MM-DD.
	AsOf string
	// Format is the parts' format (publish.FormatParquet or FormatCSV).
	Format string
	// Task holds the task's settings, defaults filled: model, horizon,
	// top N, quantiles, service level, bands.
	Task *TaskConfig
	// Dir is the config file's folder: files the task's settings name
	// (propensity's rules) are read relative to it.
	Dir string
	// Kinds are the model kinds the registry may load.
	Kinds          models.Kinds
	PrevoirVersion string
	Now            func() time.Time
}

// Output is what a task published.
type Output struct {
	Manifest *publish.Manifest
	// FeaturesReused reports that the scoring feature table existed.
	FeaturesReused bool
}

// Adapter is one task of the nightly job: it builds the task's features
// as of a date, scores them with the model its config names and publishes
// the rows through serve/publish (scores/<dataset>/<Name>/<as_of>/ and
// LATEST). Adding a task is one Adapter value and one line in Builtin.
type Adapter struct {
	// Name is the task's name: its publications' task and its key under
	// tasks: in the config.
	Name string
	// Needs names tasks whose publications Run reads: they run first,
	// and a failure of one skips this task.
	Needs []string
	// After names tasks this one runs after when the run has them (their
	// publications are then read instead of scored again), without
	// needing them.
	After []string
	// Memory is the estimate the memory budget counts when the config
	// gives none (0: DefaultTaskMemory).
	Memory int64
	// Run builds, scores and publishes. A non-nil Output with an error
	// means the publication is committed but LATEST did not move.
	Run func(ctx context.Context, st datasets.Store, in Input) (*Output, error)
}

// Builtin lists the task adapters the job knows, in no particular order
// (the job orders them by Needs).
func Builtin() []Adapter {
	return []Adapter{
		Churn(),
		Propensity(),
		Demand(),
		CLV(),
		Segments(),
	}
}
