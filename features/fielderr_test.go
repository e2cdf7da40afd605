package features

import (
	"context"
	"testing"

	"github.com/prevoir/prevoir/datasets"
)

// TestOptionErrorsNameFields: option errors of BuildTrainingSet and Build
// are FieldErrors naming the option's field, never a command-line flag.
func TestOptionErrorsNameFields(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	randomHistory(1, 20).write(t, st, "d", 0)
	o := Options{Dataset: "d", AsOf: "2024-03-01"}
	for _, tc := range []struct {
		name  string
		field string
		run   func() error
	}{
		{"no cutoffs", "Cutoffs", func() error { _, _, err := BuildTrainingSet(ctx, st, o, 0, datasets.Span{Days: 30}); return err }},
		{"no step", "Step", func() error { _, _, err := BuildTrainingSet(ctx, st, o, 3, datasets.Span{}); return err }},
		{"cutoffs with shards", "Cutoffs", func() error {
			so := o
			so.Shard, so.Shards = 0, 2
			_, _, err := BuildTrainingSet(ctx, st, so, 2, datasets.Span{Days: 30})
			return err
		}},
		{"entity labels with Labels", "Labels", func() error {
			eo := Options{Dataset: "d", Labels: true, Entities: []EntityRow{{CustomerID: "C0001", AsOf: "2024-03-01", Label: "1"}}}
			_, err := Build(ctx, st, eo)
			return err
		}},
	} {
		err := tc.run()
		if fe, ok := datasets.AsFieldError(err); !ok || fe.Field != tc.field {
			t.Errorf("%s: %v, want a FieldError on %s", tc.name, err, tc.field)
		}
	}
}
