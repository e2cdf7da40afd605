package nightly

import (
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/datasets/privacy"
	"github.com/prevoir/prevoir/datasets/synth"
	"github.com/prevoir/prevoir/serve/publish"
)

// history is what the test reads of a generated dataset, row by row
// through datasets.ReadPart (not the column scan the rules use).
type history struct {
	sales   map[string][]time.Time
	ledger  map[string][]datasets.LoyaltyEntry
	consent map[string][]datasets.Consent
}

func readHistory(t *testing.T, st datasets.Store) *history {
	t.Helper()
	ctx := context.Background()
	h := &history{sales: map[string][]time.Time{}, ledger: map[string][]datasets.LoyaltyEntry{}, consent: map[string][]datasets.Consent{}}
	m, err := datasets.ReadManifest(ctx, st, "demo", "orders")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range m.Parts {
		rows, err := datasets.ReadPart(ctx, st, datasets.Orders, p.Key)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			if r.LineType == datasets.LineSale {
				h.sales[r.CustomerID] = append(h.sales[r.CustomerID], time.UnixMicro(r.Timestamp).UTC())
			}
		}
	}
	m, err = datasets.ReadManifest(ctx, st, "demo", "loyalty")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range m.Parts {
		rows, err := datasets.ReadPart(ctx, st, datasets.Loyalty, p.Key)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			h.ledger[r.CustomerID] = append(h.ledger[r.CustomerID], r)
		}
	}
	m, err = datasets.ReadManifest(ctx, st, "demo", "consent")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range m.Parts {
		rows, err := datasets.ReadPart(ctx, st, datasets.ConsentTable, p.Key)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			h.consent[r.CustomerID] = append(h.consent[r.CustomerID], r)
		}
	}
	return h
}

// lapsed: the customers whose last sale before asOf is 180 days old at a
// time in (asOf - 1 day, asOf].
func (h *history) lapsed(asOf time.Time) []string {
	var out []string
	for c, ts := range h.sales {
		var last time.Time
		for _, t := range ts {
			if t.Before(asOf) && t.After(last) {
				last = t
			}
		}
		at := last.Add(180 * 24 * time.Hour)
		if !last.IsZero() && at.After(asOf.AddDate(0, 0, -1)) && !at.After(asOf) {
			out = append(out, c)
		}
	}
	sort.Strings(out)
	return out
}

// crossed: the customers whose balance went from below level points
// before asOf - 1 day to level or more before asOf.
func (h *history) crossed(asOf time.Time, level float64) []string {
	var out []string
	for c, es := range h.ledger {
		var before, now float64
		for _, e := range es {
			t := time.UnixMicro(e.Timestamp)
			if t.Before(asOf.AddDate(0, 0, -1)) {
				before += e.Points
			}
			if t.Before(asOf) {
				now += e.Points
			}
		}
		if before < level && now >= level {
			out = append(out, c)
		}
	}
	sort.Strings(out)
	return out
}

// emailOut reports whether the customer's latest consent row for email
// (or all) before asOf is an opt-out.
func (h *history) emailOut(c string, asOf time.Time) bool {
	var at int64 = -1 << 62
	out := false
	for _, r := range h.consent[c] {
		if (r.Channel == "email" || r.Channel == "all") && r.Timestamp < asOf.UnixMicro() && r.Timestamp >= at {
			at, out = r.Timestamp, !r.OptedIn
		}
	}
	return out
}

func fired(t *testing.T, st datasets.Store, asOf, rule string) []string {
	t.Helper()
	var out []string
	m, err := publish.ReadManifest(context.Background(), st, "demo", TriggersTask, asOf)
	if err != nil {
		t.Fatal(err)
	}
	if err := publish.Rows(context.Background(), st, m, EventsTable, func(r []any) error {
		if r[1] == rule {
			out = append(out, r[0].(string))
			if r[3] != asOf || len(r[5].(string)) != 32 {
				t.Errorf("event %v", r)
			}
			var v map[string]any
			if err := json.Unmarshal([]byte(r[4].(string)), &v); err != nil || len(v) == 0 {
				t.Errorf("values %q: %v", r[4], err)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestTriggersAgainstGeneratedHistory(t *testing.T) {
	if testing.Short() {
		t.Skip("generates 1,500 customers over two years")
	}
	ctx := context.Background()
	st := generated(t, synth.Options{Customers: 1500, Days: 730, Seed: 11})
	h := readHistory(t, st)
	// The loyalty rule at 1,000 points, as a CRM would set it (the
	// generator redeems 500 points once a balance reaches 1,500, so
	// balances cross 1,000). The day of the history with the most
	// firings of both rules:
	const level = 1000
	end := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var day time.Time
	best := 0
	for d := end.AddDate(0, 0, -540); d.Before(end); d = d.AddDate(0, 0, 1) {
		a, b := len(h.lapsed(d)), len(h.crossed(d, level))
		if a > 0 && b > 0 && a+b > best {
			day, best = d, a+b
		}
	}
	if best == 0 {
		t.Fatal("no day with both a lapse and a crossing")
	}
	lapsed, crossed := h.lapsed(day), h.crossed(day, level)
	// The latent truth agrees: a customer who dropped out after an order
	// 180 days before the day lapses on it.
	err := synth.ReadLatentCustomers(ctx, st, "demo", func(c *synth.LatentCustomer) error {
		at := c.DropoutAt.Add(180 * 24 * time.Hour)
		if !c.DropoutAt.IsZero() && at.After(day.AddDate(0, 0, -1)) && !at.After(day) && !slices.Contains(lapsed, c.CustomerID) {
			t.Errorf("latent truth: %s dropped out after the order of %s, not among the lapsed", c.CustomerID, c.DropoutAt)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// One lapsed customer opts out of email through prevoir.
	var optOut string
	for _, c := range lapsed {
		if !h.emailOut(c, day) {
			optOut = c
		}
	}
	if optOut != "" {
		if err := privacy.SetConsent(ctx, st, []string{optOut}, privacy.Email, false, day.AddDate(0, 0, -3)); err != nil {
			t.Fatal(err)
		}
	}
	var wantLapsed []string
	for _, c := range lapsed {
		if c != optOut && !h.emailOut(c, day) {
			wantLapsed = append(wantLapsed, c)
		}
	}
	rules := &Rules{Rules: []Rule{
		{Name: "lapsed_180", Type: RuleDaysWithoutOrder, Days: 180, Channel: "email"},
		{Name: "points_1000", Type: RuleLoyaltyLevel, Level: level, Channel: "push"},
		{Name: "churn_risk", Type: RuleChurnProbability, Threshold: 0.5, Channel: "push", Cooldown: Duration(30 * 24 * time.Hour)},
		{Name: "top_offer", Type: RuleTopOffer, Channel: "push"},
	}}
	if err := rules.Defaults(); err != nil {
		t.Fatal(err)
	}
	cfg := &Config{AsOf: day.Format(time.DateOnly)}
	if err := cfg.Defaults(); err != nil {
		t.Fatal(err)
	}
	sum, err := Run(ctx, st, Options{Dataset: "demo", Config: cfg, Rules: rules})
	if err != nil {
		t.Fatal(err)
	}
	asOf := sum.AsOf
	if got := fired(t, st, asOf, "lapsed_180"); !slices.Equal(got, wantLapsed) {
		t.Errorf("lapsed_180 fired for %v, want %v (lapsed %v, %s opted out)", got, wantLapsed, lapsed, optOut)
	}
	if got := fired(t, st, asOf, "points_1000"); !slices.Equal(got, crossed) {
		t.Errorf("points_1000 fired for %v, want %v", got, crossed)
	}
	if optOut != "" && sum.Triggers.OptedOut["lapsed_180"] < 1 {
		t.Errorf("opted out counts %v", sum.Triggers.OptedOut)
	}
	if got := fired(t, st, asOf, "top_offer"); len(got) != 0 {
		t.Errorf("top_offer fired without an offers publication: %v", got)
	}
	risky := fired(t, st, asOf, "churn_risk")
	if len(risky) == 0 {
		t.Fatal("churn_risk fired for no one")
	}
	events := rowsOf(t, st, TriggersTask, asOf, EventsTable)

	// The next day, within the cooldown: none of them fires churn_risk again.
	cfg.AsOf = day.AddDate(0, 0, 1).Format(time.DateOnly)
	sum2, err := Run(ctx, st, Options{Dataset: "demo", Config: cfg, Rules: rules})
	if err != nil {
		t.Fatal(err)
	}
	if sum2.Triggers.Since != asOf {
		t.Errorf("since %s, want the last run %s", sum2.Triggers.Since, asOf)
	}
	again := fired(t, st, sum2.AsOf, "churn_risk")
	for _, c := range again {
		if slices.Contains(risky, c) {
			t.Errorf("%s fired churn_risk again within the cooldown", c)
		}
	}
	if sum2.Triggers.CooledDown["churn_risk"] == 0 {
		t.Errorf("cooled down %v", sum2.Triggers.CooledDown)
	}
	// A rerun of the first day fires the same events, keys included.
	cfg.AsOf = asOf
	if _, err := Run(ctx, st, Options{Dataset: "demo", Config: cfg, Rules: rules}); err != nil {
		t.Fatal(err)
	}
	if again := rowsOf(t, st, TriggersTask, asOf, EventsTable); !reflect.DeepEqual(events, again) {
		t.Errorf("rerun of %s fired other events", asOf)
	}
	// Forgotten customers never fire.
	if _, err := privacy.Forget(ctx, st, risky[:1], time.Now(), publish.Forgetter{Store: st}); err != nil {
		t.Fatal(err)
	}
	if _, err := Run(ctx, st, Options{Dataset: "demo", Config: cfg, Rules: rules}); err != nil {
		t.Fatal(err)
	}
	if got := fired(t, st, asOf, "churn_risk"); slices.Contains(got, risky[0]) {
		t.Errorf("forgotten customer %s fired", risky[0])
	}
}

func TestIdempotencyKeyStable(t *testing.T) {
	a := IdempotencyKey("demo", "r", "000001", "2024-10-01")
	if a != IdempotencyKey("demo", "r", "000001", "2024-10-01") || a == IdempotencyKey("demo", "r", "000001", "2024-10-02") ||
		a == IdempotencyKey("demo", "r2", "000001", "2024-10-01") || a == IdempotencyKey("demo", "r", "000002", "2024-10-01") || len(a) != 32 {
		t.Errorf("key %s", a)
	}
}

func TestRulesDefaults(t *testing.T) {
	r := &Rules{Rules: []Rule{{Name: "a", Type: RuleDaysWithoutOrder, Channel: "sms"}, {Name: "b", Type: RuleLoyaltyLevel, Channel: "email"}}}
	if err := r.Defaults(); err != nil {
		t.Fatal(err)
	}
	if r.Rules[0].Days != 180 || r.Rules[1].Level != 1000 || r.Rules[0].Cooldown != DefaultCooldown {
		t.Errorf("defaults %+v", r.Rules)
	}
	for _, bad := range []Rule{{Name: "x", Type: "nope", Channel: "sms"}, {Name: "x", Type: RuleAnniversary}, {Name: "", Type: RuleAnniversary, Channel: "sms"},
		{Name: "x", Type: RuleChurnProbability, Channel: "sms", Threshold: 2}} {
		r := &Rules{Rules: []Rule{bad}}
		if _, ok := datasets.AsFieldError(r.Defaults()); !ok {
			t.Errorf("rule %+v accepted", bad)
		}
	}
	dup := &Rules{Rules: []Rule{{Name: "a", Type: RuleAnniversary, Channel: "sms"}, {Name: "a", Type: RuleAnniversary, Channel: "sms"}}}
	if dup.Defaults() == nil {
		t.Error("two rules named a accepted")
	}
}
