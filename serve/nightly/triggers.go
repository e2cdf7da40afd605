package nightly

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"time"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/datasets/privacy"
	"github.com/prevoir/prevoir/features"
	"github.com/prevoir/prevoir/serve/publish"
)

// TriggersTask is the task name of the triggers publication.
const TriggersTask = "triggers"

// Tables of the triggers publication.
const (
	EventsTable   = "events"
	CooldownTable = "cooldown"
)

// churnTask and offersTask are the publications rules read.
const (
	churnTask  = features.TaskChurn
	offersTask = features.TaskPropensity // its main table is offers
)

var eventColumns = []publish.Column{
	{Name: "customer_id", Type: publish.TypeString, Description: "the customer"},
	{Name: "rule", Type: publish.TypeString, Description: "the rule that fired"},
	{Name: "channel", Type: publish.TypeString, Description: "the rule's channel"},
	{Name: "as_of", Type: publish.TypeString, Description: "the run's date"},
	{Name: "values", Type: publish.TypeString, Description: "the values that fired it, a JSON object"},
	{Name: "idempotency_key", Type: publish.TypeString, Description: "stable for customer, rule and firing date: a CRM receiving the event twice drops the copy"},
}

var cooldownColumns = []publish.Column{
	{Name: "customer_id", Type: publish.TypeString, Description: "the customer"},
	{Name: "rule", Type: publish.TypeString, Description: "the rule"},
	{Name: "fired_as_of", Type: publish.TypeString, Description: "the run the rule last fired in"},
	{Name: "until", Type: publish.TypeString, Description: "the rule cannot fire again for the customer before this date"},
}

// TriggerOptions describe one evaluation of the rules.
type TriggerOptions struct {
	Dataset, AsOf string
	Rules         *Rules
	Format        string
	// PrevoirVersion is recorded in the manifest.
	PrevoirVersion string
	Now            func() time.Time
}

// TriggerSummary is what the triggers did.
type TriggerSummary struct {
	Status      string `json:"status"`
	Publication string `json:"publication,omitempty"`
	// Since is the as_of of the previous triggers publication (the last
	// run); crossing rules fire for what happened in [Since, AsOf).
	Since  string           `json:"since"`
	Events int64            `json:"events"`
	ByRule map[string]int64 `json:"by_rule"`
	// CooledDown and OptedOut count firings held back per rule.
	CooledDown map[string]int64 `json:"cooled_down"`
	OptedOut   map[string]int64 `json:"opted_out"`
	Notes      []string         `json:"notes,omitempty"`
	Error      string           `json:"error,omitempty"`
}

// TriggerEvent is one fired trigger.
type TriggerEvent struct {
	CustomerID, Rule, Channel, AsOf string
	Values                          map[string]any
	Key                             string
}

// IdempotencyKey is the event's key: the first 32 hex digits of the
// SHA-256 of dataset, rule, customer and firing date.
func IdempotencyKey(dataset, rule, customerID, asOf string) string {
	h := sha256.Sum256([]byte(dataset + "\x00" + rule + "\x00" + customerID + "\x00" + asOf))
	return hex.EncodeToString(h[:16])
}

// cooldownEntry is one row of the cooldown table.
type cooldownEntry struct{ fired, until string }

// Trigger evaluates the rules as of o.AsOf and publishes the events
// under scores/<dataset>/triggers/<as_of>/ with the cooldown state
// carried forward (the cooldown table). The previous state is the
// triggers publication with the latest as_of before o.AsOf, so a rerun
// of one date fires the same events.
func Trigger(ctx context.Context, st datasets.Store, o TriggerOptions) (*TriggerSummary, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	ts := &TriggerSummary{Status: StatusFailed, ByRule: map[string]int64{}, CooledDown: map[string]int64{}, OptedOut: map[string]int64{}}
	asOf, err := time.Parse(time.DateOnly, o.AsOf)
	if err != nil {
		return ts, datasets.Fieldf("AsOf", o.AsOf, "want a date YYYY-MM-DD")
	}
	prev, err := previousTriggers(ctx, st, o.Dataset, o.AsOf)
	if err != nil {
		return ts, err
	}
	since := asOf.AddDate(0, 0, -1)
	cool := map[[2]string]cooldownEntry{}
	if prev != nil {
		if since, err = time.Parse(time.DateOnly, prev.AsOf); err != nil {
			return ts, fmt.Errorf("triggers: previous publication as of %q", prev.AsOf)
		}
		err := publish.Rows(ctx, st, prev, CooldownTable, func(r []any) error {
			c, _ := r[0].(string)
			rule, _ := r[1].(string)
			f, _ := r[2].(string)
			u, _ := r[3].(string)
			cool[[2]string{c, rule}] = cooldownEntry{fired: f, until: u}
			return nil
		})
		if err != nil {
			return ts, fmt.Errorf("triggers: cooldown state of %s: %w", publish.Prefix(prev.Dataset, prev.Task, prev.AsOf), err)
		}
	}
	ts.Since = since.Format(time.DateOnly)
	facts, err := gatherFacts(ctx, st, o.Dataset, o.Rules, since, asOf)
	if err != nil {
		return ts, err
	}
	sup, err := privacy.Load(ctx, st)
	if err != nil {
		return ts, err
	}
	var events []TriggerEvent
	for _, ru := range o.Rules.Rules {
		ts.ByRule[ru.Name], ts.CooledDown[ru.Name], ts.OptedOut[ru.Name] = 0, 0, 0
	}
	for _, ru := range o.Rules.Rules {
		fired, err := evaluate(ctx, st, o.Dataset, ru, facts, since, asOf)
		if err != nil {
			return ts, fmt.Errorf("triggers: rule %s: %w", ru.Name, err)
		}
		for _, c := range sortedKeys(fired) {
			if sup.Forgotten(c) {
				continue
			}
			// Opt-outs given through prevoir count as they stand now (a
			// rerun of an old date never fires for someone who opted out
			// since); the dataset's consent table as of the date.
			if sup.OptedOut(c, ru.Channel, time.Time{}) || facts.optedOut(c, ru.Channel) {
				ts.OptedOut[ru.Name]++
				continue
			}
			if e, ok := cool[[2]string{c, ru.Name}]; ok && e.until > o.AsOf {
				ts.CooledDown[ru.Name]++
				continue
			}
			events = append(events, TriggerEvent{CustomerID: c, Rule: ru.Name, Channel: ru.Channel, AsOf: o.AsOf, Values: fired[c],
				Key: IdempotencyKey(o.Dataset, ru.Name, c, o.AsOf)})
			cool[[2]string{c, ru.Name}] = cooldownEntry{fired: o.AsOf, until: asOf.Add(time.Duration(ru.Cooldown)).Format(time.DateOnly)}
			ts.ByRule[ru.Name]++
		}
	}
	ts.Notes = append(ts.Notes, facts.notes...)
	rows := make([][]any, 0, len(events)+len(cool))
	for _, e := range events {
		v, _ := json.Marshal(e.Values)
		rows = append(rows, []any{0, e.CustomerID, e.Rule, e.Channel, e.AsOf, string(v), e.Key})
	}
	for k, e := range cool {
		if e.until > o.AsOf {
			rows = append(rows, []any{1, k[0], k[1], e.fired, e.until})
		}
	}
	params := map[string]any{"rules": o.Rules.Rules, "since": ts.Since}
	m, err := publish.Publish(ctx, st, publish.Options{Dataset: o.Dataset, Task: TriggersTask, AsOf: o.AsOf, Format: o.Format,
		PrevoirVersion: o.PrevoirVersion, Now: o.Now, Lineage: publish.Lineage{Params: params, Notes: ts.Notes}},
		func(ctx context.Context, fn func([]any) error) error {
			for _, r := range rows {
				if err := fn(r); err != nil {
					return err
				}
			}
			return nil
		}, passThrough{})
	if m != nil {
		ts.Publication, ts.Events = publish.Prefix(m.Dataset, m.Task, m.AsOf), m.Rows
	}
	if err != nil {
		return ts, err
	}
	ts.Status = StatusPublished
	return ts, nil
}

// passThrough publishes rows made beforehand: the first value is the
// table's index.
type passThrough struct{}

func (passThrough) Tables() []publish.TableSpec {
	return []publish.TableSpec{
		{Name: EventsTable, Columns: eventColumns, SortBy: "customer_id", ThenBy: []string{"rule"}, Customer: "customer_id"},
		{Name: CooldownTable, Columns: cooldownColumns, SortBy: "customer_id", ThenBy: []string{"rule"}, Customer: "customer_id"},
	}
}

func (passThrough) Score(_ context.Context, in [][]any, emit func(int, []any) error) error {
	for _, r := range in {
		if err := emit(r[0].(int), r[1:]); err != nil {
			return err
		}
	}
	return nil
}

// previousTriggers is the triggers publication with the latest as_of
// before asOf, nil when there is none.
func previousTriggers(ctx context.Context, st datasets.Store, dataset, asOf string) (*publish.Manifest, error) {
	es, err := publish.List(ctx, st, dataset, TriggersTask)
	if err != nil {
		return nil, err
	}
	best := ""
	for _, e := range es {
		if e.AsOf < asOf && e.AsOf > best {
			best = e.AsOf
		}
	}
	if best == "" {
		return nil, nil
	}
	return publish.ReadManifest(ctx, st, dataset, TriggersTask, best)
}

// evaluate returns the customers rule ru fires for, with the values that
// fired it.
func evaluate(ctx context.Context, st datasets.Store, dataset string, ru Rule, f *facts, since, asOf time.Time) (map[string]map[string]any, error) {
	out := map[string]map[string]any{}
	day := 24 * time.Hour
	switch ru.Type {
	case RuleChurnProbability:
		return readScores(ctx, st, dataset, churnTask, asOf, "probability", ru.Threshold, nil)
	case RuleTopOffer:
		res, err := readScores(ctx, st, dataset, offersTask, asOf, "probability", ru.Threshold, func(row map[string]any) bool {
			r, _ := row["rank"].(int64)
			return r == 1
		})
		if errors.Is(err, publish.ErrNoPublication) || errors.Is(err, fs.ErrNotExist) {
			// Fires only when the offers publication exists.
			f.notes = append(f.notes, fmt.Sprintf("rule %s: no %s publication as of %s: it fired for no one", ru.Name, offersTask, asOf.Format(time.DateOnly)))
			return out, nil
		}
		return res, err
	case RuleLoyaltyLevel:
		for c, p := range f.points {
			if p[0] < ru.Level && p[1] >= ru.Level {
				out[c] = map[string]any{"points": p[1], "level": ru.Level}
			}
		}
	case RuleDaysWithoutOrder:
		span := time.Duration(ru.Days) * day
		for c, o := range f.orders {
			at := time.UnixMicro(o.last).UTC().Add(span)
			if at.After(since) && !at.After(asOf) {
				out[c] = map[string]any{"days": ru.Days, "last_order": time.UnixMicro(o.last).UTC().Format(time.RFC3339)}
			}
		}
	case RuleAnniversary:
		for c, o := range f.orders {
			first := time.UnixMicro(o.first).UTC()
			for k := 1; ; k++ {
				a := first.AddDate(k, 0, 0)
				if a.After(asOf) {
					break
				}
				if a.After(since) {
					out[c] = map[string]any{"years": k, "first_purchase": first.Format(time.RFC3339)}
				}
			}
		}
	case RuleAbandonedCart:
		from := asOf.Add(-time.Duration(ru.Within)).UnixMicro()
		for c, t := range f.carts {
			if t >= from && t > f.orders[c].last {
				out[c] = map[string]any{"cart_at": time.UnixMicro(t).UTC().Format(time.RFC3339)}
			}
		}
	}
	return out, nil
}

// readScores reads tonight's publication of task and returns the
// customers whose column col is at or above threshold (among the rows
// keep accepts).
func readScores(ctx context.Context, st datasets.Store, dataset, task string, asOf time.Time, col string, threshold float64, keep func(map[string]any) bool) (map[string]map[string]any, error) {
	m, err := publish.ReadManifest(ctx, st, dataset, task, asOf.Format(time.DateOnly))
	if err != nil {
		return nil, err
	}
	t, err := m.Table("")
	if err != nil {
		return nil, err
	}
	pos := map[string]int{}
	for i, c := range t.Columns {
		pos[c.Name] = i
	}
	ci, ok1 := pos["customer_id"]
	pi, ok2 := pos[col]
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("publication %s has no customer_id or %s column", publish.Prefix(dataset, task, m.AsOf), col)
	}
	out := map[string]map[string]any{}
	err = publish.Rows(ctx, st, m, "", func(r []any) error {
		c, _ := r[ci].(string)
		p, _ := r[pi].(float64)
		if c == "" || math.IsNaN(p) || p < threshold {
			return nil
		}
		row := map[string]any{}
		for name, i := range pos {
			row[name] = r[i]
		}
		if keep != nil && !keep(row) {
			return nil
		}
		v := map[string]any{col: p}
		if it, ok := row["item"]; ok {
			v["item"] = it
		}
		out[c] = v
		return nil
	})
	return out, err
}

// facts are what the rules read from the dataset's tables, per customer.
type facts struct {
	// orders: first and last sale line before as_of (UTC microseconds).
	orders map[string]orderFacts
	// points: loyalty balance before since and before as_of.
	points map[string][2]float64
	// carts: the last cart_add before as_of within the widest window.
	carts map[string]int64
	// consent: the latest consent row per customer and channel at or
	// before as_of: opted in or not.
	consent map[[2]string]consentFact
	notes   []string
}

type orderFacts struct{ first, last int64 }

type consentFact struct {
	at int64
	in bool
}

// optedOut reports whether the dataset's consent table's latest record
// for the channel (or all) is an opt-out.
func (f *facts) optedOut(customer, channel string) bool {
	a, okA := f.consent[[2]string{customer, channel}]
	b, okB := f.consent[[2]string{customer, privacy.All}]
	switch {
	case okA && okB:
		if b.at > a.at {
			return !b.in
		}
		return !a.in
	case okA:
		return !a.in
	case okB:
		return !b.in
	}
	return false
}

// gatherFacts scans the tables the rules need, up to as_of.
func gatherFacts(ctx context.Context, st datasets.Store, dataset string, rules *Rules, since, asOf time.Time) (*facts, error) {
	f := &facts{orders: map[string]orderFacts{}, points: map[string][2]float64{}, carts: map[string]int64{}, consent: map[[2]string]consentFact{}}
	var needOrders, needLoyalty bool
	var cartWindow time.Duration
	for _, ru := range rules.Rules {
		switch ru.Type {
		case RuleDaysWithoutOrder, RuleAnniversary:
			needOrders = true
		case RuleAbandonedCart:
			needOrders = true
			cartWindow = max(cartWindow, time.Duration(ru.Within))
		case RuleLoyaltyLevel:
			needLoyalty = true
		}
	}
	to := asOf.UnixMicro()
	manifest := func(table string) (*datasets.Manifest, error) {
		m, err := datasets.ReadManifest(ctx, st, dataset, table)
		if err != nil {
			return nil, fmt.Errorf("triggers: dataset %s table %s: %w", dataset, table, err)
		}
		return m, nil
	}
	if needOrders {
		m, err := manifest("orders")
		if err != nil {
			return nil, err
		}
		syms := datasets.NewSymbols()
		type ln struct {
			t  int64
			lt int32
		}
		cs := datasets.ColumnScan{Columns: []datasets.ColumnRequest{{Name: "line_type", As: datasets.AsSymbol}}, Symbols: syms, From: math.MinInt64, To: to}
		err = datasets.ScanColumns(ctx, st, datasets.Orders, m, cs, func(b *datasets.Block, i int) ln {
			lt := int32(-1)
			if c := b.Cols[0].Symbol; c != nil {
				lt = c[i]
			}
			return ln{b.Time[i], lt}
		}, func(key []byte, rows []ln) error {
			sale := syms.Lookup(datasets.LineSale)
			o, seen := f.orders[string(key)]
			for _, r := range rows {
				if r.lt != sale {
					continue
				}
				if !seen || r.t < o.first {
					o.first = r.t
				}
				if !seen || r.t > o.last {
					o.last = r.t
				}
				seen = true
			}
			if seen {
				f.orders[string(key)] = o
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("triggers: orders: %w", err)
		}
	}
	if needLoyalty {
		m, err := manifest("loyalty")
		if err != nil {
			return nil, err
		}
		type pt struct {
			t int64
			p float64
		}
		cut := since.UnixMicro()
		cs := datasets.ColumnScan{Columns: []datasets.ColumnRequest{{Name: "points", As: datasets.AsFloat64}}, From: math.MinInt64, To: to}
		err = datasets.ScanColumns(ctx, st, datasets.Loyalty, m, cs, func(b *datasets.Block, i int) pt {
			return pt{b.Time[i], b.Cols[0].Float64[i]}
		}, func(key []byte, rows []pt) error {
			p := f.points[string(key)]
			for _, r := range rows {
				if r.t < cut {
					p[0] += r.p
				}
				p[1] += r.p
			}
			f.points[string(key)] = p
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("triggers: loyalty: %w", err)
		}
	}
	if cartWindow > 0 {
		m, err := manifest("events")
		if err != nil {
			return nil, err
		}
		syms := datasets.NewSymbols()
		type ev struct {
			t  int64
			et int32
		}
		cs := datasets.ColumnScan{Columns: []datasets.ColumnRequest{{Name: "event_type", As: datasets.AsSymbol}}, Symbols: syms,
			From: asOf.Add(-cartWindow).UnixMicro(), To: to}
		err = datasets.ScanColumns(ctx, st, datasets.Events, m, cs, func(b *datasets.Block, i int) ev {
			return ev{b.Time[i], b.Cols[0].Symbol[i]}
		}, func(key []byte, rows []ev) error {
			cart := syms.Lookup("cart_add")
			for _, r := range rows {
				if r.et == cart && r.t > f.carts[string(key)] {
					f.carts[string(key)] = r.t
				}
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("triggers: events: %w", err)
		}
	}
	if err := readConsent(ctx, st, dataset, to, f); err != nil {
		return nil, err
	}
	return f, nil
}

// readConsent reads the dataset's consent table (when it has one) up to
// as_of into f.consent.
func readConsent(ctx context.Context, st datasets.Store, dataset string, to int64, f *facts) error {
	m, err := datasets.ReadManifest(ctx, st, dataset, datasets.ConsentTable.Name)
	if errors.Is(err, fs.ErrNotExist) {
		f.notes = append(f.notes, "the dataset has no consent table: only opt-outs recorded through prevoir hold rules back")
		return nil
	}
	if err != nil {
		return fmt.Errorf("triggers: consent: %w", err)
	}
	for _, p := range m.Parts {
		rows, err := datasets.ReadPart(ctx, st, datasets.ConsentTable, p.Key)
		if err != nil {
			return fmt.Errorf("triggers: consent: %w", err)
		}
		for _, r := range rows {
			if r.Timestamp >= to {
				continue
			}
			k := [2]string{r.CustomerID, r.Channel}
			if cur, ok := f.consent[k]; !ok || r.Timestamp >= cur.at {
				f.consent[k] = consentFact{at: r.Timestamp, in: r.OptedIn}
			}
		}
	}
	return nil
}
