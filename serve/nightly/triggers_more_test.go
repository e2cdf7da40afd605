package nightly

import (
	"context"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/datasets/synth"
	"github.com/prevoir/prevoir/serve/publish"
)

// lastCarts reads the events table row by row: each customer's cart_add
// times.
func lastCarts(t *testing.T, st datasets.Store) map[string][]time.Time {
	t.Helper()
	ctx := context.Background()
	m, err := datasets.ReadManifest(ctx, st, "demo", "events")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]time.Time{}
	for _, p := range m.Parts {
		rows, err := datasets.ReadPart(ctx, st, datasets.Events, p.Key)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			if r.EventType == "cart_add" && r.CustomerID != "" {
				out[r.CustomerID] = append(out[r.CustomerID], time.UnixMicro(r.Timestamp).UTC())
			}
		}
	}
	return out
}

// offersScorer publishes fixed offers rows.
type offersScorer struct{}

func (offersScorer) Tables() []publish.TableSpec {
	return []publish.TableSpec{{Name: "offers", SortBy: "customer_id", ThenBy: []string{"rank"}, Customer: "customer_id", Columns: []publish.Column{
		{Name: "customer_id", Type: publish.TypeString}, {Name: "rank", Type: publish.TypeInt64},
		{Name: "item", Type: publish.TypeString}, {Name: "probability", Type: publish.TypeDouble}}}}
}

func (offersScorer) Score(_ context.Context, in [][]any, emit func(int, []any) error) error {
	for _, r := range in {
		if err := emit(0, r); err != nil {
			return err
		}
	}
	return nil
}

// TestTriggersCalendarCartAndOffers: with the scoring task disabled (the
// sharded form: its publication comes from elsewhere), the anniversary,
// abandoned-cart and top-offer rules fire for exactly the customers the
// tables say.
func TestTriggersCalendarCartAndOffers(t *testing.T) {
	ctx := context.Background()
	st := generated(t, synth.Options{Customers: 600, Days: 500, Seed: 9})
	h := readHistory(t, st)
	carts := lastCarts(t, st)
	anniversaries := func(d time.Time) []string {
		var out []string
		for c, ts := range h.sales {
			first := slices.MinFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
			for k := 1; k < 5; k++ {
				a := first.AddDate(k, 0, 0)
				if a.After(d.AddDate(0, 0, -1)) && !a.After(d) {
					out = append(out, c)
				}
			}
		}
		sort.Strings(out)
		return out
	}
	abandoned := func(d time.Time) []string {
		var out []string
		for c, ts := range carts {
			var last time.Time
			for _, x := range ts {
				if !x.Before(d.AddDate(0, 0, -1)) && x.Before(d) && x.After(last) {
					last = x
				}
			}
			if last.IsZero() {
				continue
			}
			bought := false
			for _, s := range h.sales[c] {
				bought = bought || !s.Before(last) && s.Before(d)
			}
			if !bought {
				out = append(out, c)
			}
		}
		sort.Strings(out)
		return out
	}
	end := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var day time.Time
	best := 0
	for d := end.AddDate(0, 0, -120); d.Before(end); d = d.AddDate(0, 0, 1) {
		a, b := len(anniversaries(d)), len(abandoned(d))
		if a > 0 && b > 0 && a+b > best {
			day, best = d, a+b
		}
	}
	if best == 0 {
		t.Fatal("no day with an anniversary and an abandoned cart")
	}
	asOf := day.Format(time.DateOnly)
	offers := [][]any{
		{"000001", int64(1), "P1", 0.9}, {"000001", int64(2), "P2", 0.2},
		{"000002", int64(1), "P3", 0.3}, {"000002", int64(2), "P4", 0.95}, // rank 2 does not count
		{"000003", int64(1), "P5", 0.6},
	}
	if _, err := publish.Publish(ctx, st, publish.Options{Dataset: "demo", Task: offersTask, AsOf: asOf}, func(ctx context.Context, fn func([]any) error) error {
		for _, r := range offers {
			if err := fn(r); err != nil {
				return err
			}
		}
		return nil
	}, offersScorer{}); err != nil {
		t.Fatal(err)
	}
	off := false
	cfg := &Config{AsOf: asOf, Tasks: map[string]*TaskConfig{"churn": {Enabled: &off}}}
	if err := cfg.Defaults(); err != nil {
		t.Fatal(err)
	}
	rules := &Rules{Rules: []Rule{
		{Name: "anniversary", Type: RuleAnniversary, Channel: "push"},
		{Name: "cart", Type: RuleAbandonedCart, Channel: "push"},
		{Name: "offer", Type: RuleTopOffer, Threshold: 0.5, Channel: "push"},
	}}
	if err := rules.Defaults(); err != nil {
		t.Fatal(err)
	}
	sum, err := Run(ctx, st, Options{Dataset: "demo", Config: cfg, Rules: rules})
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Tasks) != 0 {
		t.Errorf("tasks %v: churn is disabled", sum.Tasks)
	}
	if got, want := fired(t, st, asOf, "anniversary"), anniversaries(day); !slices.Equal(got, want) {
		t.Errorf("anniversary fired for %v, want %v", got, want)
	}
	if got, want := fired(t, st, asOf, "cart"), abandoned(day); !slices.Equal(got, want) {
		t.Errorf("cart fired for %v, want %v", got, want)
	}
	if got := fired(t, st, asOf, "offer"); !slices.Equal(got, []string{"000001", "000003"}) {
		t.Errorf("offer fired for %v, want 000001 and 000003", got)
	}
}
