package synth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prevoir/prevoir/datasets"
)

// Currency of generated datasets.
const Currency = "EUR"

// ErrExists is returned (wrapped) by Generate when the dataset already
// holds tables written by another run.
var ErrExists = errors.New("dataset exists")

// StoreOptions says how Generate treats an existing dataset.
type StoreOptions struct {
	// Replace makes a generation replace every table of an existing
	// dataset (the earlier manifests are kept for lineage).
	Replace bool
	// Now is recorded as the manifests' creation time (default time.Now).
	Now time.Time
}

// Result is what Generate did.
type Result struct {
	Summary
	// Reused is true when the dataset already held this very generation
	// (same run id): nothing was written.
	Reused bool `json:"reused"`
	// Tables lists the manifests committed.
	Tables []string `json:"tables"`
	// Suppressed counts the rows of customers forgotten in the store
	// before that were not stored (table rows and latent truth lines;
	// docs/PRIVACY.md). Summary counts what was simulated.
	Suppressed int64 `json:"suppressed"`
}

// generated tables, in commit order (orders last: a dataset whose orders
// manifest exists is complete).
var generatedTables = []string{"products", "promotions", "customers", "events", "loyalty", "consent", "orders"}

// Generate writes the history described by o into st as dataset o.Name:
// the canonical tables through datasets.Writer (parts named by o.RunID(),
// sorted by customer and time, month partitions), then the latent truth
// under datasets/<name>/_latent/. Generating the same options again finds
// the same run id and reuses what is there.
func Generate(ctx context.Context, st datasets.Store, o Options, so StoreOptions) (Result, error) {
	o = o.withDefaults()
	if err := datasets.ValidDatasetName(o.Name); err != nil {
		return Result{}, err
	}
	if err := o.validate(); err != nil {
		return Result{}, err
	}
	runID := o.RunID()
	bases := map[string]*datasets.Manifest{}
	existing, err := datasets.ListTables(ctx, st, o.Name)
	if err != nil {
		return Result{}, err
	}
	same := len(existing) > 0
	for _, t := range existing {
		m, err := datasets.ReadManifest(ctx, st, o.Name, t)
		if err != nil {
			return Result{}, err
		}
		bases[t] = m
		origin, err := generationOf(ctx, st, m)
		if err != nil {
			return Result{}, err
		}
		if origin == nil || (origin.Origin != runID && origin.Run != runID) {
			same = false
		}
	}
	if same && len(existing) == len(generatedTables) {
		if _, err := st.Stat(ctx, LatentKey(o.Name, LatentTruth)); err == nil {
			res := Result{Summary: newSummary(newWorld(o)), Reused: true}
			res.Lines = bases["orders"].Rows
			for _, t := range existing {
				datasets.SyncCurrent(ctx, st, bases[t]) // a kill after the commit may have left a copy behind
				res.Tables = append(res.Tables, datasets.ManifestKey(o.Name, t))
			}
			return res, nil
		}
	}
	if len(existing) > 0 && !so.Replace {
		return Result{}, &datasets.FieldError{Field: "Dataset", Value: o.Name, Err: ErrExists,
			Msg: fmt.Sprintf("%v in %s (tables: %s); replace it, or choose another name", ErrExists, st.URL(), strings.Join(existing, ", "))}
	}

	for _, t := range existing {
		if !slices.Contains(generatedTables, t) {
			// Replacing the generated tables would leave this one from
			// another origin beside them.
			return Result{}, &datasets.FieldError{Field: "Dataset", Value: o.Name, Msg: fmt.Sprintf("table %s of this dataset is not generated; remove the dataset or generate under another name", t)}
		}
	}
	// The parts are named by this run (the generation's id and a unique
	// suffix): parts of a killed run are never reused nor deleted here,
	// `prevoir store gc` collects them.
	rid := runID + "-" + datasets.NewRunID()
	w := newWorld(o)
	s, err := newStoreSink(ctx, st, w, rid)
	if err != nil {
		return Result{}, err
	}
	if err := s.static(ctx); err != nil {
		s.abort(ctx)
		return Result{}, err
	}
	if err := run(ctx, w, engineOpts{web: true, aux: true}, o.Workers, s); err != nil {
		s.abort(ctx)
		return Result{}, err
	}
	if err := s.finish(ctx); err != nil {
		s.abort(ctx)
		return Result{}, err
	}
	res := Result{Summary: s.sum, Suppressed: s.suppressed()}
	now := so.Now
	if now.IsZero() {
		now = time.Now()
	}
	// Every table is flushed, then all become visible together with one
	// commit of the dataset: a kill before it leaves no table visible.
	var vs []datasets.TableVersion
	for _, t := range generatedTables {
		c := datasets.CommitOptions{Base: bases[t], Replace: true, Operation: "generate",
			TZ: "UTC", Currency: Currency, Columns: generatedColumns[t], Now: now, Origin: runID}
		if t == "orders" {
			c.LineTypes = &datasets.LineTypeRules{FeeCodes: []string{}, AdjustmentCodes: []string{}}
		}
		m, err := s.prepare(ctx, t, c)
		if err != nil {
			s.abort(ctx)
			return Result{}, fmt.Errorf("generate %s: %w", o.Name, err)
		}
		vs = append(vs, datasets.TableVersion{Base: bases[t], Next: m})
	}
	committed, err := datasets.CommitTables(ctx, st, o.Name, rid, vs, now)
	s.settle(ctx, committed)
	if err != nil {
		return res, fmt.Errorf("generate %s: %w", o.Name, err)
	}
	for _, t := range generatedTables {
		res.Tables = append(res.Tables, datasets.ManifestKey(o.Name, t))
	}
	return res, nil
}

// generatedColumns lists, per table, the columns the generator fills.
var generatedColumns = map[string][]string{
	"orders":     {"customer_id", "order_id", "timestamp", "product_id", "quantity", "unit_price", "warehouse", "channel", "category", "promo", "line_type"},
	"customers":  {"customer_id", "signup_at", "warehouse", "channel", "segment", "birth_year"},
	"products":   {"product_id", "name", "category", "category_path", "brand", "price", "pack_size"},
	"events":     {"customer_id", "session_id", "timestamp", "event_type", "product_id", "category", "query", "channel"},
	"promotions": {"promo_id", "product_id", "category", "warehouse", "start", "end", "announced_at", "discount"},
	"loyalty":    {"customer_id", "timestamp", "points", "reason", "order_id"},
	"consent":    {"customer_id", "channel", "opted_in", "timestamp"},
}

// feeder hands rows to one table's writer on its own goroutine, so the
// tables' writers buffer and spill in parallel.
type feeder[T any] struct {
	ch     chan []T
	done   chan error
	closed bool
}

func newFeeder[T any](ctx context.Context, w *datasets.Writer[T]) *feeder[T] {
	ch, done := make(chan []T, 4), make(chan error, 1)
	go func() {
		var err error
		for rows := range ch {
			if err == nil {
				err = w.Write(ctx, rows)
			}
		}
		done <- err
	}()
	return &feeder[T]{ch: ch, done: done}
}

func (f *feeder[T]) send(rows []T) { f.ch <- rows }

// close waits for every row to be handed over and returns the first error.
func (f *feeder[T]) close() error {
	if f.closed {
		return nil
	}
	f.closed = true
	close(f.ch)
	return <-f.done
}

// storeSink converts batches to canonical rows (in parallel, in encode)
// and hands them to one datasets.Writer per table (in order, in write).
type storeSink struct {
	w         *world
	st        datasets.Store
	orders    *datasets.Writer[datasets.Order]
	customers *datasets.Writer[datasets.Customer]
	events    *datasets.Writer[datasets.Event]
	loyalty   *datasets.Writer[datasets.LoyaltyEntry]
	consent   *datasets.Writer[datasets.Consent]
	products  *datasets.Writer[datasets.Product]
	promos    *datasets.Writer[datasets.Promotion]

	fOrders    *feeder[datasets.Order]
	fCustomers *feeder[datasets.Customer]
	fEvents    *feeder[datasets.Event]
	fLoyalty   *feeder[datasets.LoyaltyEntry]
	fConsent   *feeder[datasets.Consent]

	latent           *datasets.CustomerCSV // _latent/customers.csv.gz, forgotten customers dropped
	latentSuppressed int64
	sum              Summary
}

// rows is a batch's canonical rows.
type rows struct {
	orders    []datasets.Order
	customers []datasets.Customer
	events    []datasets.Event
	loyalty   []datasets.LoyaltyEntry
	consent   []datasets.Consent
}

func newStoreSink(ctx context.Context, st datasets.Store, w *world, run string) (*storeSink, error) {
	s := &storeSink{w: w, st: st, sum: newSummary(w)}
	// The generator emits each customer's whole history at once, so a
	// spill spans every month and is cut into one part per month: bigger
	// spills than an import's (whose lines come in time order) keep those
	// parts from being tiny. At 200,000 customers, 32Ki-row spills made
	// 5,648 parts in 10.2 s; 128Ki, 1,469 parts in 6.5 s (424 MiB peak);
	// 256Ki, 749 parts in 6.1 s but 596 MiB.
	opts := datasets.WriterOptions{Dataset: w.o.Name, Run: run, SpillRows: 1 << 17}
	var err error
	s.orders, err = datasets.NewWriter(st, datasets.Orders, opts)
	if err == nil {
		s.customers, err = datasets.NewWriter(st, datasets.Customers, opts)
	}
	if err == nil {
		s.events, err = datasets.NewWriter(st, datasets.Events, opts)
	}
	if err == nil {
		s.loyalty, err = datasets.NewWriter(st, datasets.Loyalty, opts)
	}
	if err == nil {
		s.consent, err = datasets.NewWriter(st, datasets.ConsentTable, opts)
	}
	if err == nil {
		s.products, err = datasets.NewWriter(st, datasets.Products, opts)
	}
	if err == nil {
		s.promos, err = datasets.NewWriter(st, datasets.Promotions, opts)
	}
	if err != nil {
		return nil, err
	}
	s.fOrders = newFeeder(ctx, s.orders)
	s.fCustomers = newFeeder(ctx, s.customers)
	s.fEvents = newFeeder(ctx, s.events)
	s.fLoyalty = newFeeder(ctx, s.loyalty)
	s.fConsent = newFeeder(ctx, s.consent)
	// The latent customers stream into the store as they are simulated,
	// as a customer file of the dataset (forgotten customers dropped).
	s.latent, err = datasets.NewCustomerCSV(ctx, st, LatentKey(w.o.Name, LatentCustomers), w.latentHeader())
	if err != nil {
		return nil, err
	}
	return s, nil
}

// closeFeeders waits for the feeders and returns their first error.
func (s *storeSink) closeFeeders() error {
	return errors.Join(s.fOrders.close(), s.fCustomers.close(), s.fEvents.close(), s.fLoyalty.close(), s.fConsent.close())
}

func (s *storeSink) abort(ctx context.Context) {
	s.closeFeeders()
	if s.latent != nil {
		s.latent.Abort(errors.New("generation aborted"))
		s.latent = nil
	}
	s.orders.Abort(ctx)
	s.customers.Abort(ctx)
	s.events.Abort(ctx)
	s.loyalty.Abort(ctx)
	s.consent.Abort(ctx)
	s.products.Abort(ctx)
	s.promos.Abort(ctx)
}

// prepare flushes one table's writer and returns its next version.
func (s *storeSink) prepare(ctx context.Context, table string, c datasets.CommitOptions) (*datasets.Manifest, error) {
	switch table {
	case "orders":
		return s.orders.Prepare(ctx, c)
	case "customers":
		return s.customers.Prepare(ctx, c)
	case "events":
		return s.events.Prepare(ctx, c)
	case "loyalty":
		return s.loyalty.Prepare(ctx, c)
	case "consent":
		return s.consent.Prepare(ctx, c)
	case "products":
		return s.products.Prepare(ctx, c)
	case "promotions":
		return s.promos.Prepare(ctx, c)
	}
	return nil, fmt.Errorf("unknown table %s", table)
}

// settle keeps every writer's parts when the commit may be visible, and
// deletes them otherwise.
func (s *storeSink) settle(ctx context.Context, committed bool) {
	s.orders.Settle(ctx, committed)
	s.customers.Settle(ctx, committed)
	s.events.Settle(ctx, committed)
	s.loyalty.Settle(ctx, committed)
	s.consent.Settle(ctx, committed)
	s.products.Settle(ctx, committed)
	s.promos.Settle(ctx, committed)
}

// static writes the catalogue, the promotions and the world's truth files.
func (s *storeSink) static(ctx context.Context) error {
	w := s.w
	end := w.days - 1
	ps := make([]datasets.Product, len(w.prodID))
	r := newStream()
	r.seed(w.o.Seed, 1, streamWorld)
	for p := range ps {
		c := categories[w.prodCat[p]]
		price := float64(w.priceAt(int32(p), end)) / 100
		pack := float64(w.packSize[p])
		ps[p] = datasets.Product{ProductID: w.prodID[p], Name: fmt.Sprintf("%s %s", strings.ReplaceAll(c.name, "_", " "), w.prodID[p]),
			Category: c.name, CategoryPath: c.department + "/" + c.name, Brand: fmt.Sprintf("B%03d", r.IntN(200)),
			Price: &price, PackSize: &pack}
	}
	if err := s.products.Write(ctx, ps); err != nil {
		return err
	}
	prs := make([]datasets.Promotion, len(w.promos))
	for i, p := range w.promos {
		start := w.micros(int64(p.start) * day)
		endT := w.micros(int64(p.end) * day)
		ann := w.micros(int64(p.announced) * day)
		disc := p.discount
		prs[i] = datasets.Promotion{PromoID: p.id, ProductID: w.prodID[p.product], Category: categories[w.prodCat[p.product]].name,
			Start: start, End: &endT, AnnouncedAt: &ann, Discount: &disc}
		if p.warehouse >= 0 {
			prs[i].Warehouse = w.whName[p.warehouse]
		}
	}
	if err := s.promos.Write(ctx, prs); err != nil {
		return err
	}
	tb, err := json.MarshalIndent(w.truth(), "", " ")
	if err != nil {
		return err
	}
	if _, err := datasets.PutBytes(ctx, s.st, LatentKey(w.o.Name, LatentTruth), append(tb, '\n'), datasets.PutOptions{ContentType: "application/json"}); err != nil {
		return err
	}
	if _, err := datasets.PutBytes(ctx, s.st, LatentKey(w.o.Name, LatentProducts), w.latentProducts(), datasets.PutOptions{ContentType: "text/csv"}); err != nil {
		return err
	}
	_, err = datasets.PutBytes(ctx, s.st, LatentKey(w.o.Name, LatentPrices), w.latentPrices(), datasets.PutOptions{ContentType: "text/csv"})
	return err
}

func (s *storeSink) finish(ctx context.Context) error {
	if err := s.closeFeeders(); err != nil {
		return err
	}
	err := s.latent.Close()
	s.latentSuppressed = s.latent.Suppressed()
	s.latent = nil
	return err
}

// suppressed counts the rows of forgotten customers the writers dropped.
func (s *storeSink) suppressed() int64 {
	return s.latentSuppressed + s.orders.Suppressed() + s.customers.Suppressed() + s.events.Suppressed() +
		s.loyalty.Suppressed() + s.consent.Suppressed()
}

// micros converts seconds since the history start to stored microseconds.
func (w *world) micros(ts int64) int64 { return (w.startUnix + ts) * 1_000_000 }

func (s *storeSink) encode(b *batch) error {
	w := s.w
	r := &rows{}
	b.rows = r
	// Fresh slices each batch: the writers keep the rows (and the prices
	// they point to) until they spill.
	prices := make([]float64, len(b.lines))
	r.orders = make([]datasets.Order, len(b.lines))
	cur, cid := int32(-1), ""
	var oseq int32 = -1
	var oid string
	ids := make([]string, b.n)
	for i := range b.custs {
		ids[i] = w.customerID(int(b.custs[i].idx))
	}
	idOf := func(c int32) string { return ids[int(c)-b.first] }
	for i := range b.lines {
		l := &b.lines[i]
		if l.cust != cur {
			cur, cid, oseq = l.cust, idOf(l.cust), -1
		}
		if l.seq != oseq {
			oseq, oid = l.seq, w.orderID(int(l.cust), l.seq)
		}
		prices[i] = float64(l.cents) / 100
		lt := datasets.LineSale
		if l.qty < 0 {
			lt = datasets.LineReturn
		}
		o := datasets.Order{CustomerID: cid, OrderID: oid, Timestamp: w.micros(l.ts), ProductID: w.prodID[l.product],
			Quantity: float64(l.qty), UnitPrice: &prices[i], Warehouse: w.whName[l.wh], Channel: channelNames[l.ch],
			Category: categories[w.prodCat[l.product]].name, LineType: lt}
		if l.promo >= 0 {
			o.Promo = w.promos[l.promo].id
		}
		r.orders[i] = o
	}
	r.events = make([]datasets.Event, len(b.events))
	cur = -1
	var sess int32 = -1
	var sid string
	for i := range b.events {
		e := &b.events[i]
		if e.cust != cur {
			cur, cid, sess = e.cust, idOf(e.cust), -1
		}
		if e.session != sess {
			sess, sid = e.session, cid+"-"+strconv.Itoa(int(e.session))
		}
		ev := datasets.Event{CustomerID: cid, SessionID: sid, Timestamp: w.micros(e.ts), EventType: eventNames[e.kind],
			Category: categories[e.cat].name, Channel: channelNames[e.ch]}
		if e.product >= 0 {
			ev.ProductID = w.prodID[e.product]
		} else {
			ev.Query = categoryQueries[e.cat]
		}
		r.events[i] = ev
	}
	r.loyalty = make([]datasets.LoyaltyEntry, len(b.ledger))
	for i := range b.ledger {
		l := &b.ledger[i]
		e := datasets.LoyaltyEntry{CustomerID: idOf(l.cust), Timestamp: w.micros(l.ts), Points: float64(l.points), Reason: ledgerReasons[l.reason]}
		if l.seq > 0 {
			e.OrderID = w.orderID(int(l.cust), l.seq)
		}
		r.loyalty[i] = e
	}
	r.consent = make([]datasets.Consent, len(b.consent))
	for i := range b.consent {
		c := &b.consent[i]
		r.consent[i] = datasets.Consent{CustomerID: idOf(c.cust), Channel: consentChannels[c.channel], OptedIn: c.in, Timestamp: w.micros(c.ts)}
	}
	r.customers = make([]datasets.Customer, len(b.custs))
	signups := make([]int64, len(b.custs))
	years := make([]int64, len(b.custs))
	for i := range b.custs {
		c := &b.custs[i]
		signups[i] = w.micros(c.signup)
		years[i] = int64(c.birthYear)
		seg := "standard"
		if c.loyalty {
			seg = "loyalty"
		}
		r.customers[i] = datasets.Customer{CustomerID: ids[i], SignupAt: &signups[i], Warehouse: w.whName[c.home],
			Channel: channelNames[c.channel], Segment: seg, BirthYear: &years[i]}
	}
	b.enc[1] = w.appendLatent(b.enc[1][:0], b)
	var err error
	b.latent, err = s.latent.Encode(b.enc[2], b.enc[1])
	return err
}

func (s *storeSink) write(b *batch) error {
	s.sum.add(b)
	r := b.rows
	b.rows = nil
	s.fOrders.send(r.orders)
	s.fEvents.send(r.events)
	s.fLoyalty.send(r.loyalty)
	s.fConsent.send(r.consent)
	s.fCustomers.send(r.customers)
	return s.latent.Write(b.latent)
}

// latentProducts is products.csv: each product's category, popularity rank
// within it, and normalised choice weight within its category per warehouse.
func (w *world) latentProducts() []byte {
	var buf []byte
	buf = append(buf, "product_id,category,rank"...)
	for _, n := range w.whName {
		buf = append(buf, ",weight_"...)
		buf = append(buf, n...)
	}
	buf = append(buf, '\n')
	rank := make([]int, len(w.prodID))
	for _, ps := range w.catProds {
		for r, p := range ps {
			rank[p] = r + 1
		}
	}
	for p := range w.prodID {
		buf = append(buf, w.prodID[p]...)
		buf = append(buf, ',')
		buf = append(buf, categories[w.prodCat[p]].name...)
		buf = append(buf, ',')
		buf = strconv.AppendInt(buf, int64(rank[p]), 10)
		for wh := range w.nw {
			buf = append(buf, ',')
			buf = strconv.AppendFloat(buf, math.Round(w.weight[wh][p]*1e6)/1e6, 'f', -1, 64)
		}
		buf = append(buf, '\n')
	}
	return buf
}

// latentPrices is prices.csv: every product's list price from the start,
// and each change (from that day on).
func (w *world) latentPrices() []byte {
	buf := []byte("product_id,from,price\n")
	for p := range w.prodID {
		row := func(d int, cents int64) {
			buf = append(buf, w.prodID[p]...)
			buf = append(buf, ',')
			buf = append(buf, w.dayString(d)...)
			buf = append(buf, ',')
			buf = appendCents(buf, cents)
			buf = append(buf, '\n')
		}
		row(0, w.basePrice[p])
		for i := w.priceOff[p]; i < w.priceOff[p+1]; i++ {
			row(int(w.priceDay[i]), w.priceCents[i])
		}
	}
	return buf
}

// generationOf returns the manifest of the generation a table comes from:
// m itself, or, when customers were forgotten since, the generate
// manifest before those forgets. A table imported or otherwise rewritten
// comes from no generation: nil.
func generationOf(ctx context.Context, st datasets.Store, m *datasets.Manifest) (*datasets.Manifest, error) {
	for steps := 0; m != nil && steps < 10000; steps++ {
		switch {
		case m.Operation == "generate":
			return m, nil
		case m.Operation == "forget" && m.Previous != "":
			prev, err := datasets.ReadManifestKey(ctx, st, m.Previous)
			if err != nil {
				return nil, fmt.Errorf("generate: lineage of %s: %w", m.Previous, err)
			}
			m = prev
		default:
			return nil, nil
		}
	}
	return nil, nil
}
