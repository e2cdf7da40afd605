package publish_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/datasets/privacy"
	"github.com/prevoir/prevoir/serve/publish"
)

// TestForgetter: forgetting a customer rewrites every publication that
// holds them (both tables), and removes the replaced parts of an earlier
// run that still hold them once past the grace; a second forget changes
// nothing.
func TestForgetter(t *testing.T) {
	for _, format := range []string{publish.FormatParquet, publish.FormatCSV} {
		t.Run(format, func(t *testing.T) {
			st := newStore(t)
			ctx := context.Background()
			first, err := publish.Publish(ctx, st, opts("2024-05-01", format), source(12), scaler{2})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := publish.Publish(ctx, st, opts("2024-05-01", format), source(12), scaler{2}); err != nil {
				t.Fatal(err)
			}
			if _, err := publish.Publish(ctx, st, opts("2024-05-02", format), source(12), scaler{2}); err != nil {
				t.Fatal(err)
			}
			f := publish.Forgetter{Store: st, Now: func() time.Time { return time.Now().Add(2 * publish.ForgetGrace) }}
			rep, err := privacy.Forget(ctx, st, []string{"c004", "c999"}, time.Now(), f)
			if err != nil {
				t.Fatal(err)
			}
			// Two publications x (scores + evens), and the first run's two
			// replaced parts holding c004 (one per table).
			if rep.Rows != 6 {
				t.Errorf("removed %d rows, want 6: %+v", rep.Rows, rep.Rewrites)
			}
			for _, d := range []string{"2024-05-01", "2024-05-02"} {
				for _, tb := range []string{"scores", "evens"} {
					rows, m, err := read(t, st, d, tb)
					if err != nil {
						t.Fatal(err)
					}
					for _, r := range rows {
						if strings.HasPrefix(r, "c004") {
							t.Errorf("%s %s still holds c004", d, tb)
						}
					}
					if m.Rows != 11 || m.Suppressed != 1 || (tb == "evens" && len(rows) != 5) {
						t.Errorf("%s %s: manifest rows %d, suppressed %d, read %d", d, tb, m.Rows, m.Suppressed, len(rows))
					}
				}
			}
			for _, tb := range first.Tables {
				for _, p := range tb.Parts {
					held := false
					if _, err := st.Stat(ctx, p.Key); err == nil {
						held = true
					}
					// Parts of 7 rows: c000-c006 in the first of each table.
					if strings.HasSuffix(strings.TrimSuffix(p.Key, "."+format), "-00000") && held {
						t.Errorf("replaced part %s holding c004 was kept", p.Key)
					}
				}
			}
			rep, err = privacy.Forget(ctx, st, []string{"c004"}, time.Now(), f)
			if err != nil || rep.Rows != 0 || len(rep.Rewrites) != 0 {
				t.Errorf("second forget: %+v, %v", rep, err)
			}
			// Nothing listed is missing.
			objs, _ := st.List(ctx, "scores/")
			orphans, err := publish.GCLayer().Orphans(ctx, st, objs, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range orphans {
				if !strings.Contains(o.Key, first.Run) {
					t.Errorf("unexpected orphan %s", o.Key)
				}
			}
			var _ datasets.Store = st
		})
	}
}
