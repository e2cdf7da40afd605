package features

import (
	"context"
	"fmt"
)

// task is one feature task: its defaults, the columns it writes and how
// it computes its rows. Each task lives in its own file and shares the
// rest of a build with the others: the dataset inputs, the cutoff, the
// spec, the parts, the commit, forgetting and garbage collection.
type task interface {
	// defaults fills the task's zero options (the horizon above all) and
	// checks the task's own ones.
	defaults(o *Options) error
	// setup completes the plan: the task's Params fields (the spec hashes
	// them), p.cols (ids, then features, then the label, each with its
	// Role), p.label and p.meaning.
	setup(p *plan) error
	// compute hands the rows, sorted by their id columns, to emit (all
	// at once, or a few at a time as they come: Build writes each part as
	// soon as it fills) and returns the label balance (nil without a
	// label). It reads the dataset through c.
	compute(ctx context.Context, c *computation, emit func([]outRow) error) (*Balance, error)
}

// Tasks lists the feature tasks, in the order help texts show them.
func Tasks() []string { return []string{TaskChurn, TaskPropensity, TaskDemand, TaskCLV} }

// taskOf returns the task named name.
func taskOf(name string) (task, error) {
	switch name {
	case TaskChurn:
		return churnTask{}, nil
	case TaskPropensity:
		return propensityTask{}, nil
	case TaskCLV:
		return clvTask{}, nil
	case TaskDemand:
		return demandTask{}, nil
	}
	return nil, fmt.Errorf("task %q: not available (tasks: %v)", name, Tasks())
}
