package features

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/datasets/privacy"
	"github.com/prevoir/prevoir/datasets/table"
)

// Tasks.
const (
	// TaskChurn builds one row per customer: will they buy again within
	// the horizon?
	TaskChurn = "churn"
)

// Default spans.
var (
	DefaultHorizon  = datasets.Span{Days: 90}
	DefaultLookback = datasets.Span{Days: 365}
)

// AsOfEntities is the as_of folder of a table whose rows carry their own
// cutoffs (--entities).
const AsOfEntities = "entities"

// ErrCensored is returned (wrapped) when a label window passes the end of
// the data: a censored label is a wrong label.
var ErrCensored = errors.New("label window passes the end of the data")

// ErrShardsMissing is returned (wrapped) by Commit when a shard has not
// written its parts.
var ErrShardsMissing = errors.New("shards missing")

// EntityRow is one row of an entity table: a customer, the instant to
// compute its features as of, and optionally a label brought along.
type EntityRow struct {
	CustomerID string
	AsOf       string // a DATE (00:00 in the dataset's zone) or an RFC 3339 instant
	Label      string // empty when the table has no label column
}

// Options describe a feature table to build. Zero fields take defaults.
type Options struct {
	// Dataset is the dataset to read (required; see datasets.ResolveDataset).
	Dataset string
	// Task is the task (default TaskChurn).
	Task string
	// AsOf is the cutoff: a DATE (2011-09-01, 00:00 in the dataset's zone)
	// or an RFC 3339 instant. Required unless Entities is set.
	AsOf string
	// Horizon is the label window's length (default 90d); Lookback how
	// much history the features read (default 365d).
	Horizon  datasets.Span
	Lookback datasets.Span
	// Labels adds the label column; refused (ErrCensored) when as_of +
	// horizon passes the dataset's last timestamp.
	Labels bool
	// FeatureSet selects the columns: SetChurn (default) or SetRFMAnchor.
	FeatureSet string
	// Entities, when not nil, gives the rows to build, each as of its own
	// instant (as_of folder "entities").
	Entities []EntityRow
	// Shard and Shards split the customers by FNV-1a 64 of the id's UTF-8
	// bytes mod Shards; a shard build writes its parts and a receipt,
	// Commit writes the manifest. Shards 0 or 1 builds everything and
	// commits at once.
	Shard, Shards int
	// Force rebuilds a table that exists with the same spec and inputs;
	// by default it is reused.
	Force bool
	// Now is the build time recorded (default time.Now).
	Now func() time.Time

	// Propensity task (features/propensity.go). Level is LevelProduct or
	// LevelCategory (default: category when the dataset has a products
	// table and its orders a category column, else product). AssocK and
	// PopularK are the candidates per customer from co-bought
	// associations and from popularity (0: DefaultAssocK,
	// DefaultPopularK; -1: none).
	Level            string
	AssocK, PopularK int
	// Task clv (features/clv.go): CLVHoldout, when positive, adds the
	// label holdout_purchases, the purchase days in [as_of, as_of +
	// CLVHoldout). Labels with Horizon set it for task clv.
	CLVHoldout datasets.Span
	// Demand task (TaskDemand): Period is PeriodWeek (default) or
	// PeriodDay; TopProducts, when > 0, keeps the N products with most
	// units sold before as_of (ties by product id), in every warehouse
	// where they sold; Measure is MeasureUnits (default) or MeasureValue.
	// Shards split the products (FNV-1a 64 of product_id mod Shards).
	Period      string
	TopProducts int
	Measure     string
}

// Result is what Build did.
type Result struct {
	Dataset string `json:"dataset"`
	Task    string `json:"task"`
	AsOf    string `json:"as_of"`
	Spec    string `json:"spec"`
	// Prefix is the table's folder.
	Prefix string `json:"prefix"`
	// Reused is true when an identical committed table was found.
	Reused bool `json:"reused"`
	// Committed is true when the manifest was written (unsharded builds).
	Committed bool  `json:"committed"`
	Shard     int   `json:"shard"`
	Shards    int   `json:"shards"`
	Rows      int64 `json:"rows"`
	// Manifest is the committed table (nil for a shard build).
	Manifest *Manifest `json:"-"`
}

// ShardOf returns the shard of a customer id among n: FNV-1a 64 of the
// id's UTF-8 bytes, mod n. In SQL terms: fnv1a64(customer_id) % n with
// the 64-bit offset basis 14695981039346656037 and prime 1099511628211,
// computed on unsigned 64-bit integers.
func ShardOf(customerID string, n int) int {
	if n <= 1 {
		return 0
	}
	return int(datasets.FNV64([]byte(customerID)) % uint64(n))
}

// datasetInputs are the dataset tables a build reads.
type datasetInputs struct {
	orders, events, loyalty *datasets.Manifest
	inputs                  []Input
	// products says whether the dataset has a products table (not read).
	products bool
}

func readInputs(ctx context.Context, st datasets.Store, dataset string) (*datasetInputs, error) {
	in := &datasetInputs{}
	// The versions the dataset's commit point names, as kept (the same
	// bytes as their _manifest.json copies).
	d, err := datasets.ReadDatasetManifest(ctx, st, dataset)
	if err != nil {
		return nil, fmt.Errorf("dataset %s: %w", dataset, err)
	}
	_, in.products = d.Tables["products"]
	for _, tab := range []string{"orders", "events", "loyalty"} {
		ref, ok := d.Tables[tab]
		if !ok {
			if tab == "orders" {
				return nil, fmt.Errorf("dataset %s has no orders table: %w", dataset, fs.ErrNotExist)
			}
			continue
		}
		b, err := datasets.ReadAll(ctx, st, ref.Manifest)
		if err != nil {
			return nil, fmt.Errorf("dataset %s/%s: %w", dataset, tab, err)
		}
		var m datasets.Manifest
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("dataset %s/%s manifest: %w", dataset, tab, err)
		}
		if m.FormatVersion > datasets.FormatVersion {
			return nil, fmt.Errorf("dataset %s/%s manifest: %w", dataset, tab, datasets.ErrFormatVersion)
		}
		sum := sha256.Sum256(b)
		in.inputs = append(in.inputs, Input{Table: tab, Seq: m.Seq, SHA256: hex.EncodeToString(sum[:]), Rows: m.Rows})
		switch tab {
		case "orders":
			in.orders = &m
		case "events":
			in.events = &m
		case "loyalty":
			in.loyalty = &m
		}
	}
	return in, nil
}

// plan is a resolved build.
type plan struct {
	opts     Options
	task     task
	in       *datasetInputs
	loc      *time.Location
	asOfName string
	asOfTime *time.Time
	params   Params
	spec     string
	prefix   string
	defs     []featureDef
	cols     []Column
	label    string
	meaning  string
	cutoffs  []*cutoff
	// entity mode: targets, sorted by (customer, as_of), pre-created
	entities     []entityTarget
	entityLabels bool // the entities bring their labels
	// candidates are the propensity task's candidate counts, set by its
	// compute.
	candidates *Candidates
}

type entityTarget struct {
	cust  string
	cut   *cutoff
	label *int64
}

func (o *Options) defaults() error {
	if o.Task == "" {
		o.Task = TaskChurn
	}
	t, err := taskOf(o.Task)
	if err != nil {
		return err
	}
	if err := t.defaults(o); err != nil {
		return err
	}
	if o.Entities != nil && o.Task != TaskChurn {
		return &datasets.FieldError{Field: "Entities", Value: o.Task, Msg: "entity tables are for the churn task only"}
	}
	if o.Lookback.Days == 0 {
		o.Lookback = DefaultLookback
	}
	if o.Shards <= 1 {
		o.Shards, o.Shard = 1, 0
	}
	if o.Shard < 0 || o.Shard >= o.Shards {
		return fmt.Errorf("shard %d/%d: want 0 <= i < n", o.Shard, o.Shards)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return nil
}

func newPlan(ctx context.Context, st datasets.Store, o Options) (*plan, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	in, err := readInputs(ctx, st, o.Dataset)
	if err != nil {
		return nil, err
	}
	loc, err := in.orders.Zone()
	if err != nil {
		return nil, err
	}
	t, _ := taskOf(o.Task) // checked by defaults
	p := &plan{opts: o, task: t, in: in, loc: loc}
	p.params = Params{Task: o.Task, Lookback: o.Lookback.String(), Labels: o.Labels}
	if o.Labels {
		p.params.Horizon = o.Horizon.String()
	}
	entityLabels := false
	if o.Entities != nil {
		if len(o.Entities) == 0 {
			return nil, errors.New("the entity table has no rows")
		}
		p.asOfName = AsOfEntities
		h := sha256.New()
		byInstant := map[int64]*cutoff{}
		for i, e := range o.Entities {
			id := datasets.NormalizeID(e.CustomerID)
			if id == "" {
				return nil, fmt.Errorf("entities row %d: empty customer_id", i+1)
			}
			t, err := datasets.ParseDate(e.AsOf, loc)
			if err != nil {
				return nil, fmt.Errorf("entities row %d: as_of: %w", i+1, err)
			}
			c := byInstant[t.UnixMicro()]
			if c == nil {
				c = newCutoff(t, loc, o.Lookback, o.Horizon)
				byInstant[t.UnixMicro()] = c
				p.cutoffs = append(p.cutoffs, c)
			}
			et := entityTarget{cust: id, cut: c}
			if e.Label != "" {
				v, err := strconv.ParseFloat(e.Label, 64)
				if err != nil || (v != 0 && v != 1) {
					return nil, fmt.Errorf("entities row %d: label %q: want 0 or 1", i+1, e.Label)
				}
				iv := int64(v)
				et.label = &iv
				entityLabels = true
			}
			fmt.Fprintf(h, "%s\x00%d\x00%s\n", id, t.UnixMicro(), e.Label)
			p.entities = append(p.entities, et)
		}
		if entityLabels && o.Labels {
			return nil, &datasets.FieldError{Field: "Labels", Value: "true", Msg: "entities bring their own labels: leave Labels out"}
		}
		p.params.Entities = hex.EncodeToString(h.Sum(nil))[:16]
		slices.SortStableFunc(p.entities, func(a, b entityTarget) int {
			if c := strings.Compare(a.cust, b.cust); c != 0 {
				return c
			}
			return cmpInt(a.cut.asOf, b.cut.asOf)
		})
	} else {
		if o.AsOf == "" {
			return nil, errors.New("as_of is required (a date such as 2011-09-01)")
		}
		t, err := datasets.ParseDate(o.AsOf, loc)
		if err != nil {
			return nil, err
		}
		p.asOfName = asOfName(t, loc)
		p.asOfTime = &t
		p.cutoffs = []*cutoff{newCutoff(t, loc, o.Lookback, o.Horizon)}
	}
	if o.Labels {
		if err := checkCensoring(in.orders, p.cutoffs, loc, o.Horizon); err != nil {
			return nil, err
		}
	}
	p.entityLabels = entityLabels
	if err := t.setup(p); err != nil {
		return nil, err
	}
	p.spec = p.params.Spec()
	p.prefix = Prefix(o.Dataset, o.Task, p.asOfName, p.spec)
	return p, nil
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// asOfName is the folder name of a cutoff: its date when it is 00:00 in
// the dataset's zone, else the UTC instant.
func asOfName(t time.Time, loc *time.Location) string {
	l := t.In(loc)
	if l.Hour() == 0 && l.Minute() == 0 && l.Second() == 0 && l.Nanosecond() == 0 {
		return l.Format("2006-01-02")
	}
	return t.UTC().Format("20060102T150405Z")
}

// checkCensoring refuses labels whose window ends after the last
// timestamp of the orders.
func checkCensoring(orders *datasets.Manifest, cuts []*cutoff, loc *time.Location, horizon datasets.Span) error {
	if orders.TimeRange == nil {
		return fmt.Errorf("labels: the orders table is empty: %w", ErrCensored)
	}
	last := orders.TimeRange.Max
	var bad []string
	for _, c := range cuts {
		if c.labelEnd > last.UnixMicro() {
			a := time.UnixMicro(c.asOf).In(loc)
			e := time.UnixMicro(c.labelEnd).In(loc)
			bad = append(bad, fmt.Sprintf("as of %s the label window [%s, %s) ends after the data's last timestamp %s",
				a.Format("2006-01-02"), a.Format("2006-01-02"), e.Format("2006-01-02"), last.In(loc).Format(time.RFC3339)))
		}
	}
	if len(bad) == 0 {
		return nil
	}
	if len(bad) > 5 {
		bad = append(bad[:5], fmt.Sprintf("and %d more", len(bad)-5))
	}
	return fmt.Errorf("labels with horizon %s: %w: %s", horizon, ErrCensored, strings.Join(bad, "; "))
}

// Build builds one feature table (or one shard of it) and, unsharded,
// commits it: parts first, then the manifest. An identical committed table
// (same spec, same dataset manifests) is reused unless Force.
func Build(ctx context.Context, st datasets.Store, o Options) (*Result, error) {
	p, err := newPlan(ctx, st, o)
	if err != nil {
		return nil, fmt.Errorf("features build: %w", err)
	}
	o = p.opts
	res := &Result{Dataset: o.Dataset, Task: o.Task, AsOf: p.asOfName, Spec: p.spec, Prefix: p.prefix, Shard: o.Shard, Shards: o.Shards}
	// The ETag of the manifest this build replaces ("" when none): the
	// commit swaps it, so a build that read an older table never
	// overwrites a newer one (the commit protocol).
	cur, etag, err := readCurrent(ctx, st, p.prefix+"_manifest.json")
	if err != nil {
		return nil, fmt.Errorf("features build: %w", err)
	}
	if !o.Force && o.Shards == 1 && cur != nil && sameInputs(cur.Inputs, p.in.inputs) {
		res.Reused, res.Committed, res.Rows, res.Manifest = true, true, cur.Rows, cur
		return res, nil
	}
	sup, err := privacy.Load(ctx, st)
	if err != nil {
		return nil, fmt.Errorf("features build: suppressions: %w", err)
	}
	run := datasets.NewRunID()
	pw := &partWriter{ctx: ctx, st: st, p: p, run: run}
	bal, err := p.compute(ctx, st, sup, pw.add)
	if err == nil {
		err = pw.close()
	}
	if err != nil {
		pw.abort()
		return nil, fmt.Errorf("features build %s: %w", p.prefix, err)
	}
	m := p.manifest(run, o.Now())
	m.Balance = bal
	m.Rows = pw.rows
	parts := pw.parts
	m.Parts = parts
	res.Rows = m.Rows
	if o.Shards > 1 {
		m.Shards = o.Shards
		key := receiptKey(p.prefix, o.Shard, o.Shards)
		if _, err := datasets.PutBytes(ctx, st, key, encodeJSON(m), datasets.PutOptions{ContentType: "application/json"}); err != nil {
			deleteKeys(ctx, st, partKeys(parts))
			return nil, fmt.Errorf("features build %s: %w", p.prefix, err)
		}
		return res, nil
	}
	won, mine, err := commitManifest(ctx, st, m, etag)
	if !mine {
		deleteKeys(ctx, st, partKeys(parts)) // this run's own orphans
	}
	if err != nil {
		return nil, fmt.Errorf("features build %s: %w", p.prefix, err)
	}
	if won != m {
		// Another build of the same table from the same dataset versions
		// committed first: its table is this one's.
		res.Reused, res.Rows = true, won.Rows
	}
	res.Committed, res.Manifest = true, won
	return res, nil
}

func (p *plan) manifest(run string, now time.Time) *Manifest {
	fs := (&Manifest{Schema: p.cols}).FeatureSchema()
	return &Manifest{
		FormatVersion: FormatVersion, Dataset: p.opts.Dataset, Task: p.opts.Task,
		AsOf: p.asOfName, AsOfTime: p.asOfTime, TZ: p.loc.String(), Spec: p.spec, Params: p.params,
		Schema: p.cols, Fingerprint: fs.Fingerprint(), Label: p.label, LabelMeaning: p.meaning,
		Shards: 1, Parts: []PartInfo{}, Inputs: p.in.inputs, Run: run, CreatedAt: now.UTC().Truncate(time.Second),
		Candidates: p.candidates,
	}
}

// compute streams the dataset and hands its rows, sorted by their id
// columns, to emit.
func (p *plan) compute(ctx context.Context, st datasets.Store, sup *privacy.Suppressions, emit func([]outRow) error) (*Balance, error) {
	return p.task.compute(ctx, p.newComputation(st, sup), emit)
}

// computation is the state of one compute: where it reads, the line kinds
// it counts, the shard and privacy filters, and the targets it fills (a
// customer's targets are targets[index[cust][0]:index[cust][1]]).
type computation struct {
	p                                 *plan
	st                                datasets.Store
	syms                              *datasets.Symbols
	saleSym, retSym, viewSym, cartSym int32
	keep                              func([]byte) bool // nil: every customer (one shard)
	forgotten                         func(string) bool
	entityMode                        bool // targets given by entities, not found in the orders
	targets                           slab
	index                             map[string][2]int32
}

// newComputation prepares a compute of p over st: it interns the line
// kinds, and sets the shard filter and the suppressions' filter.
func (p *plan) newComputation(st datasets.Store, sup *privacy.Suppressions) *computation {
	o := p.opts
	c := &computation{p: p, st: st, syms: datasets.NewSymbols(), index: map[string][2]int32{}, entityMode: p.entities != nil}
	c.saleSym, c.retSym = c.syms.ID([]byte(datasets.LineSale)), c.syms.ID([]byte(datasets.LineReturn))
	c.viewSym, c.cartSym = c.syms.ID([]byte("view")), c.syms.ID([]byte("cart_add"))
	if o.Shards > 1 {
		c.keep = func(b []byte) bool { return int(datasets.FNV64(b)%uint64(o.Shards)) == o.Shard }
	}
	c.forgotten = sup.Filter()
	return c
}

// addEntityTargets adds the targets the entities give, skipping other
// shards' customers and forgotten ones.
func (c *computation) addEntityTargets() {
	if !c.entityMode {
		return
	}
	for i, e := range c.p.entities {
		if c.keep != nil && !c.keep([]byte(e.cust)) || c.forgotten(e.cust) {
			continue
		}
		r, ok := c.index[e.cust]
		if !ok {
			r = [2]int32{int32(c.targets.n), int32(c.targets.n)}
		}
		c.targets.add(churnTarget{cust: e.cust, cutoff: e.cut, label: c.p.entities[i].label})
		r[1] = int32(c.targets.n)
		c.index[e.cust] = r
	}
}

// scanOrders streams the order lines over every cutoff's lookback (and
// label window) into the targets; without entities, a customer with a
// line in the first cutoff's lookback becomes a target.
func (c *computation) scanOrders(ctx context.Context) error {
	p := c.p
	products := false
	for _, d := range p.defs {
		if d.Name == "distinct_products" {
			products = true
		}
	}
	lo, hi := int64(math.MaxInt64), int64(math.MinInt64)
	for _, cu := range p.cutoffs {
		lo = min(lo, cu.lb)
		if p.opts.Labels {
			hi = max(hi, cu.labelEnd)
		} else {
			hi = max(hi, cu.asOf)
		}
	}
	cut := p.cutoffs[0]
	sc := &scanner{st: c.st, src: srcOrders, need: need{products: products}, syms: c.syms, lo: lo, hi: hi, keep: c.keep}
	skip := [2]int32{-1, -1}
	return sc.scan(ctx, p.in.orders, func(cust []byte, lines []line) error {
		r, ok := c.index[string(cust)]
		if !ok {
			if c.entityMode {
				return nil
			}
			if lines[len(lines)-1].ts < cut.lb || lines[0].ts >= cut.asOf {
				return nil // nothing in the lookback yet
			}
			id := string(cust)
			if c.forgotten(id) {
				c.index[id] = skip
				return nil
			}
			r = [2]int32{int32(c.targets.n), int32(c.targets.n + 1)}
			c.targets.add(churnTarget{cust: id, cutoff: cut})
			c.index[id] = r
		}
		for i := r[0]; i < r[1]; i++ {
			c.targets.at(i).addOrderLines(lines, c.saleSym, c.retSym, products)
		}
		return nil
	})
}

// scanActivity streams the events and the loyalty ledger, when the
// features use them, into the targets already found.
func (c *computation) scanActivity(ctx context.Context) error {
	p := c.p
	maxAsOf := int64(math.MinInt64)
	for _, cu := range p.cutoffs {
		maxAsOf = max(maxAsOf, cu.asOf)
	}
	update := func(m *datasets.Manifest, src source, lo int64, fn func(t *churnTarget, lines []line)) error {
		if m == nil {
			return nil
		}
		sc := &scanner{st: c.st, src: src, syms: c.syms, lo: lo, hi: maxAsOf, keep: c.keep}
		return sc.scan(ctx, m, func(cust []byte, lines []line) error {
			r, ok := c.index[string(cust)]
			if !ok {
				return nil
			}
			for i := r[0]; i < r[1]; i++ {
				fn(c.targets.at(i), lines)
			}
			return nil
		})
	}
	if p.params.Events {
		minW30 := int64(math.MaxInt64)
		for _, cu := range p.cutoffs {
			minW30 = min(minW30, cu.w30)
		}
		if err := update(p.in.events, srcEvents, minW30, func(t *churnTarget, lines []line) { t.addEvents(lines, c.viewSym, c.cartSym) }); err != nil {
			return err
		}
	}
	if p.params.Loyalty {
		if err := update(p.in.loyalty, srcLoyalty, math.MinInt64, func(t *churnTarget, lines []line) { t.addLoyalty(lines) }); err != nil {
			return err
		}
	}
	return nil
}

// rows evaluates the features (and the label) of each target with orders
// (every target, with entities), sorted by customer then as_of, and the
// label balance (nil without a label).
func (c *computation) rows() ([]outRow, *Balance) {
	p, targets := c.p, &c.targets
	order := make([]int32, 0, targets.n)
	for i := int32(0); i < int32(targets.n); i++ {
		if c.entityMode || targets.at(i).nOrd > 0 {
			order = append(order, int32(i))
		}
	}
	if !c.entityMode {
		slices.SortFunc(order, func(a, b int32) int { return strings.Compare(targets.at(a).cust, targets.at(b).cust) })
	}
	var bal *Balance
	if p.label != "" {
		bal = &Balance{}
	}
	nf := len(p.defs)
	withLabel := p.label != ""
	width := nf
	if withLabel {
		width++
	}
	vals := make([]float64, len(order)*width)
	valid := make([]bool, len(order)*width)
	rows := make([]outRow, len(order))
	for i, ti := range order {
		t := targets.at(ti)
		r := outRow{cust: t.cust, asOf: t.asOf, vals: vals[i*width : (i+1)*width : (i+1)*width], valid: valid[i*width : (i+1)*width : (i+1)*width]}
		for j, d := range p.defs {
			r.vals[j], r.valid[j] = d.val(t)
			if r.valid[j] && (math.IsNaN(r.vals[j]) || math.IsInf(r.vals[j], 0)) {
				r.valid[j] = false
			}
		}
		if withLabel {
			y := p.label01(t)
			r.vals[nf], r.valid[nf] = float64(y), true
			if y == 1 {
				bal.Positives++
			} else {
				bal.Negatives++
			}
		}
		rows[i] = r
		t.prods = nil
	}
	if bal != nil && bal.Positives+bal.Negatives > 0 {
		bal.Rate = float64(bal.Positives) / float64(bal.Positives+bal.Negatives)
	}
	return rows, bal
}

// label01 is t's label: the entity's own, else whether the customer
// bought in the label window (SetRFMAnchor) or did not (churn).
func (p *plan) label01(t *churnTarget) int64 {
	switch {
	case t.label != nil:
		return *t.label
	case p.opts.FeatureSet == SetRFMAnchor:
		return b2i(t.future)
	default:
		return b2i(!t.future)
	}
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// ReadEntities reads an entity table (CSV or Parquet through
// datasets/table): columns customer_id and as_of, and optionally label.
func ReadEntities(r *table.Reader) ([]EntityRow, error) {
	hdr := r.Header()
	ci, ai, li := -1, -1, -1
	for i, h := range hdr {
		switch h {
		case "customer_id":
			ci = i
		case "as_of":
			ai = i
		case "label":
			li = i
		}
	}
	if ci < 0 || ai < 0 {
		return nil, fmt.Errorf("%s: entity table needs columns customer_id and as_of (has %s)", r.Name(), strings.Join(hdr, ", "))
	}
	var out []EntityRow
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		e := EntityRow{CustomerID: rec[ci], AsOf: rec[ai]}
		if li >= 0 {
			e.Label = rec[li]
		}
		out = append(out, e)
	}
}

// slab holds the targets in fixed chunks: growing it never copies (or
// doubles the memory of) the targets already there.
type slab struct {
	chunks [][]churnTarget
	n      int
}

const slabShift = 12

func (s *slab) add(t churnTarget) {
	if s.n&(1<<slabShift-1) == 0 {
		s.chunks = append(s.chunks, make([]churnTarget, 0, 1<<slabShift))
	}
	c := &s.chunks[len(s.chunks)-1]
	*c = append(*c, t)
	s.n++
}

func (s *slab) at(i int32) *churnTarget {
	return &s.chunks[i>>slabShift][i&(1<<slabShift-1)]
}
