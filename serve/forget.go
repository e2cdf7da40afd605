package serve

import (
	"context"
	"time"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/datasets/privacy"
	"github.com/prevoir/prevoir/features"
	"github.com/prevoir/prevoir/serve/publish"
)

// Layers is the one list of the store's layers that hold customer rows,
// each declaring how its rows are found and forgotten, in the order
// Forget rewrites them. Forget and Show walk it, and a test fails when a
// stored object holding customer rows is covered by none
// (TestFlowForgetCoversEveryObject). A new layer that stores customer
// rows (scores, offers, publications) adds its line here.
func Layers(st datasets.Store, now time.Time) []privacy.Rewriter {
	return []privacy.Rewriter{
		privacy.DatasetsRewriter(st, now),                                  // dataset tables and customer files (the generator's truth)
		features.Forgetter{Store: st},                                      // feature tables and shard receipts
		privacy.FilesRewriter(st),                                          // CSV files with a customer_id column written into the store (predictions)
		publish.Forgetter{Store: st, Now: func() time.Time { return now }}, // publications under scores/
	}
}

// Forget forgets the customers ids everywhere: it records their
// tombstones (so later writes drop them) and removes their rows from every
// layer of Layers. Running it again is harmless.
func Forget(ctx context.Context, st datasets.Store, ids []string, now time.Time) (privacy.ForgetReport, error) {
	return privacy.Forget(ctx, st, ids, now, Layers(st, now)...)
}

// Show is the subject-access view of one customer, with every object of
// every layer of Layers that holds their rows.
func Show(ctx context.Context, st datasets.Store, customerID string) (*privacy.Subject, error) {
	return privacy.Show(ctx, st, customerID, Layers(st, time.Now())...)
}
