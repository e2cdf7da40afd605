package serve

import (
	"context"
	"time"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/datasets/privacy"
	"github.com/prevoir/prevoir/datasets/synth"
	"github.com/prevoir/prevoir/features"
	"github.com/prevoir/prevoir/serve/publish"
)

// Rewriters returns every layer of the store that holds customer rows, in
// the order Forget rewrites them: dataset tables, the generator's latent
// truth, feature tables, publications.
func Rewriters(st datasets.Store, now time.Time) []privacy.Rewriter {
	return []privacy.Rewriter{
		privacy.DatasetsRewriter(st, now),
		synth.LatentRewriter(st),
		features.Forgetter{Store: st},
		publish.Forgetter{Store: st, Now: func() time.Time { return now }},
	}
}

// Forget forgets the customers ids everywhere: it records their
// tombstones (so later imports drop them) and removes their rows from every
// layer returned by Rewriters. Running it again is harmless.
func Forget(ctx context.Context, st datasets.Store, ids []string, now time.Time) (privacy.ForgetReport, error) {
	return privacy.Forget(ctx, st, ids, now, Rewriters(st, now)...)
}
