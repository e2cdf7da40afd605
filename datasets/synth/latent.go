package synth

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/prevoir/prevoir/datasets"
)

// Latent truth objects, under datasets/<name>/_latent/ (docs/GENERATOR.md).
const (
	LatentDir       = "_latent"
	LatentTruth     = "truth.json"       // the world: parameters, calendar, promotions, cross-sell pairs
	LatentCustomers = "customers.csv.gz" // one row per customer
	LatentProducts  = "products.csv"     // popularity per warehouse
	LatentPrices    = "prices.csv"       // list price changes
)

// LatentKey returns the store key of a latent object of dataset name.
func LatentKey(name, object string) string {
	return "datasets/" + name + "/" + LatentDir + "/" + object
}

// Truth is the world a history was generated from: what no feature builder
// may read, and what checks score against.
type Truth struct {
	Model      string             `json:"model"`
	RunID      string             `json:"run_id"`
	Customers  int                `json:"customers"`
	Products   int                `json:"products"`
	Seed       uint64             `json:"seed"`
	Start      string             `json:"start"`
	End        string             `json:"end"`
	Parameters map[string]any     `json:"parameters"`
	Categories []TruthCategory    `json:"categories"`
	Warehouses []TruthWarehouse   `json:"warehouses"`
	CrossSell  []CrossSell        `json:"cross_sell"`
	Weekly     map[string]float64 `json:"weekly_factor"`
	WeeklyPeak string             `json:"weekly_peak"`
	Days       []TruthDay         `json:"days"`
	Promotions []TruthPromotion   `json:"promotions"`
}

// TruthCategory is a leaf category and its generating parameters.
type TruthCategory struct {
	Name        string  `json:"name"`
	Department  string  `json:"department"`
	Share       float64 `json:"share"`
	MedianPrice float64 `json:"median_price"`
	ReturnRate  float64 `json:"return_rate"`
	Products    int     `json:"products"`
}

// TruthWarehouse is a warehouse and the share of customers whose home it is.
type TruthWarehouse struct {
	Name  string  `json:"name"`
	Share float64 `json:"home_share"`
}

// TruthDay is the seasonal multiplier of purchase rates on one day:
// Factor = weekly factor x Annual.
type TruthDay struct {
	Date   string  `json:"date"`
	Annual float64 `json:"annual"`
	Factor float64 `json:"factor"`
}

// TruthPromotion is a promotion with its true effect: during [Start, End)
// the product's choice weight within its category at the warehouse (all
// when empty) is multiplied by Uplift, and its price reduced by Discount.
type TruthPromotion struct {
	ID          string  `json:"promo_id"`
	ProductID   string  `json:"product_id"`
	Category    string  `json:"category"`
	Warehouse   string  `json:"warehouse,omitempty"`
	Start       string  `json:"start"`
	End         string  `json:"end"`
	AnnouncedAt string  `json:"announced_at"`
	Discount    float64 `json:"discount"`
	Uplift      float64 `json:"uplift"`
}

func (w *world) truth() *Truth {
	o := w.o
	t := &Truth{
		Model: ModelVersion, RunID: o.RunID(), Customers: o.Customers, Products: o.Products, Seed: o.Seed,
		Start: w.start.Format(time.DateOnly), End: o.End.Format(time.DateOnly),
		Parameters: map[string]any{
			"rate_gamma_shape":                 rateShape,
			"rate_mean_per_day":                rateMean,
			"dropout_beta_a":                   dropA,
			"dropout_beta_b":                   dropB,
			"affinity_dirichlet_concentration": affinityConc,
			"home_warehouse_share":             homeShare,
			"zipf_exponent":                    zipfS,
			"warehouse_popularity_log_sd":      warehouseNoise,
			"repeat_beta_a":                    repeatA,
			"repeat_beta_b":                    repeatB,
			"basket_extra_lines_gamma":         []float64{2, w.basketTheta},
		},
		CrossSell: w.cross,
		Weekly:    map[string]float64{},
	}
	for i, c := range categories {
		t.Categories = append(t.Categories, TruthCategory{Name: c.name, Department: c.department,
			Share: round6(w.affAlpha[i] / affinityConc), MedianPrice: c.price, ReturnRate: c.returnRate, Products: len(w.catProds[i])})
	}
	prev := 0.0
	for i, n := range w.whName {
		t.Warehouses = append(t.Warehouses, TruthWarehouse{Name: n, Share: round6((w.whWeights[i] - prev) / w.whWeights[len(w.whWeights)-1])})
		prev = w.whWeights[i]
	}
	peak := 0
	for d := range 7 {
		t.Weekly[time.Weekday(d).String()] = w.weekly[d]
		if w.weekly[d] > w.weekly[peak] {
			peak = d
		}
	}
	t.WeeklyPeak = time.Weekday(peak).String()
	for d := range w.days {
		t.Days = append(t.Days, TruthDay{Date: w.start.AddDate(0, 0, d).Format(time.DateOnly), Annual: w.annual[d], Factor: round6(w.dayFactor[d])})
	}
	for _, p := range w.promos {
		tp := TruthPromotion{ID: p.id, ProductID: w.prodID[p.product], Category: categories[w.prodCat[p.product]].name,
			Start: w.dayString(p.start), End: w.dayString(p.end), AnnouncedAt: w.dayString(p.announced),
			Discount: p.discount, Uplift: round6(p.uplift)}
		if p.warehouse >= 0 {
			tp.Warehouse = w.whName[p.warehouse]
		}
		t.Promotions = append(t.Promotions, tp)
	}
	return t
}

func (w *world) dayString(d int) string { return w.start.AddDate(0, 0, d).Format(time.DateOnly) }

func round6(x float64) float64 { return math.Round(x*1e6) / 1e6 }

// latentHeader is the header of customers.csv.gz.
func (w *world) latentHeader() string {
	h := []string{"customer_id", "acquired_at", "rate_per_day", "dropout_probability", "dropout_at",
		"home_warehouse", "orders", "preferred_channel", "loyalty_member",
		"email_opted_in", "email_opted_out_at", "sms_opted_in", "sms_opted_out_at"}
	for _, x := range w.cross {
		h = append(h, "cross_"+x.Source+"_at", "cross_"+x.Target+"_order_at")
	}
	for _, c := range categories {
		h = append(h, "affinity_"+c.name)
	}
	return strings.Join(h, ",") + "\n"
}

// appendLatent appends the latent CSV rows of b's customers.
func (w *world) appendLatent(buf []byte, b *batch) []byte {
	nc := w.nc
	optTime := func(buf []byte, ts int64) []byte {
		if ts < 0 {
			return buf
		}
		return w.appendTime(buf, ts)
	}
	for i := range b.custs {
		c := &b.custs[i]
		buf = w.appendCustomerID(buf, int(c.idx))
		buf = append(buf, ',')
		buf = w.appendTime(buf, c.acq)
		buf = append(buf, ',')
		buf = strconv.AppendFloat(buf, c.rate, 'g', 6, 64)
		buf = append(buf, ',')
		buf = strconv.AppendFloat(buf, c.dropP, 'g', 6, 64)
		buf = append(buf, ',')
		buf = optTime(buf, c.dropout)
		buf = append(buf, ',')
		buf = append(buf, w.whName[c.home]...)
		buf = append(buf, ',')
		buf = strconv.AppendInt(buf, int64(c.orders), 10)
		buf = append(buf, ',')
		buf = append(buf, channelNames[c.channel]...)
		buf = append(buf, ',')
		buf = strconv.AppendBool(buf, c.loyalty)
		for ch := range 2 {
			buf = append(buf, ',')
			buf = strconv.AppendBool(buf, c.optIn[ch])
			buf = append(buf, ',')
			buf = optTime(buf, c.optOut[ch])
		}
		for k := range w.cross {
			buf = append(buf, ',')
			buf = optTime(buf, c.triggered[k])
			buf = append(buf, ',')
			buf = optTime(buf, c.crossOrder[k])
		}
		for _, a := range b.affs[i*nc : (i+1)*nc] {
			buf = append(buf, ',')
			buf = strconv.AppendFloat(buf, math.Round(a*1e4)/1e4, 'f', -1, 64)
		}
		buf = append(buf, '\n')
	}
	return buf
}

// LatentCustomer is one row of customers.csv.gz.
type LatentCustomer struct {
	CustomerID string
	AcquiredAt time.Time
	// RatePerDay is the purchase rate while alive, at seasonal factor 1.
	RatePerDay float64
	// DropoutProbability is the chance of dropping out after each order.
	DropoutProbability float64
	// DropoutAt is the time of the order after which the customer dropped
	// out; zero when the customer was still alive at the end.
	DropoutAt     time.Time
	HomeWarehouse string
	Orders        int
	// OptedIn is the consent state per channel ("email", "sms") at the end;
	// OptedOutAt the opt-out in force at the end (zero if none, or never opted in).
	OptedIn    map[string]bool
	OptedOutAt map[string]time.Time
	// CrossSellAt is, per pair "source>target", the time of the source
	// purchase that triggered it (zero: not triggered); CrossOrderAt the
	// triggered target purchase (zero: none, e.g. dropped out first).
	CrossSellAt  map[string]time.Time
	CrossOrderAt map[string]time.Time
	// Affinity is the share of purchases per category before cross-sell
	// boosts (sums to 1, rounded to 4 decimals).
	Affinity map[string]float64
}

// Dropped reports whether the customer had dropped out before t.
func (c *LatentCustomer) Dropped(t time.Time) bool {
	return !c.DropoutAt.IsZero() && c.DropoutAt.Before(t)
}

// ReadTruth reads the world truth of a generated dataset.
func ReadTruth(ctx context.Context, st datasets.Store, name string) (*Truth, error) {
	b, err := datasets.ReadAll(ctx, st, LatentKey(name, LatentTruth))
	if err != nil {
		return nil, fmt.Errorf("read truth of %s: %w", name, err)
	}
	var t Truth
	if err := json.Unmarshal(b, &t); err != nil {
		return nil, fmt.Errorf("read truth of %s: %w", name, err)
	}
	return &t, nil
}

// ReadLatentCustomers calls fn for each customer of the latent truth of
// dataset name, in customer order.
func ReadLatentCustomers(ctx context.Context, st datasets.Store, name string, fn func(*LatentCustomer) error) error {
	key := LatentKey(name, LatentCustomers)
	o, err := st.Open(ctx, key)
	if err != nil {
		return fmt.Errorf("read latent customers of %s: %w", name, err)
	}
	defer o.Close()
	zr, err := gzip.NewReader(bufio.NewReaderSize(o, 1<<20))
	if err != nil {
		return fmt.Errorf("read %s: %w", key, err)
	}
	cr := csv.NewReader(zr)
	cr.ReuseRecord = true
	hdr, err := cr.Read()
	if err != nil {
		return fmt.Errorf("read %s: %w", key, err)
	}
	hdr = append([]string(nil), hdr...)
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", key, err)
		}
		c, err := parseLatent(hdr, rec)
		if err != nil {
			line, _ := cr.FieldPos(0)
			return fmt.Errorf("read %s:%d: %w", key, line, err)
		}
		if err := fn(c); err != nil {
			return err
		}
	}
}

func parseLatent(hdr, rec []string) (*LatentCustomer, error) {
	c := &LatentCustomer{OptedIn: map[string]bool{}, OptedOutAt: map[string]time.Time{},
		CrossSellAt: map[string]time.Time{}, CrossOrderAt: map[string]time.Time{}, Affinity: map[string]float64{}}
	var err error
	tm := func(s string) time.Time {
		if s == "" || err != nil {
			return time.Time{}
		}
		var t time.Time
		t, err = time.Parse(time.RFC3339, s)
		return t
	}
	fl := func(s string) float64 {
		if err != nil {
			return 0
		}
		var f float64
		f, err = strconv.ParseFloat(s, 64)
		return f
	}
	for i, h := range hdr {
		v := rec[i]
		switch {
		case h == "customer_id":
			c.CustomerID = v
		case h == "acquired_at":
			c.AcquiredAt = tm(v)
		case h == "rate_per_day":
			c.RatePerDay = fl(v)
		case h == "dropout_probability":
			c.DropoutProbability = fl(v)
		case h == "dropout_at":
			c.DropoutAt = tm(v)
		case h == "home_warehouse":
			c.HomeWarehouse = v
		case h == "orders":
			c.Orders = int(fl(v))
		case h == "email_opted_in" || h == "sms_opted_in":
			c.OptedIn[strings.TrimSuffix(h, "_opted_in")] = v == "true"
		case strings.HasSuffix(h, "_opted_out_at"):
			if t := tm(v); !t.IsZero() {
				c.OptedOutAt[strings.TrimSuffix(h, "_opted_out_at")] = t
			}
		case strings.HasPrefix(h, "affinity_"):
			c.Affinity[strings.TrimPrefix(h, "affinity_")] = fl(v)
		}
	}
	for _, x := range crossSells {
		pair := x.Source + ">" + x.Target
		for i, h := range hdr {
			switch h {
			case "cross_" + x.Source + "_at":
				if t := tm(rec[i]); !t.IsZero() {
					c.CrossSellAt[pair] = t
				}
			case "cross_" + x.Target + "_order_at":
				if t := tm(rec[i]); !t.IsZero() {
					c.CrossOrderAt[pair] = t
				}
			}
		}
	}
	return c, err
}

// LatentFor returns the latent truth of one customer of dataset name, or
// nil if the dataset has no latent truth or no such customer.
func LatentFor(ctx context.Context, st datasets.Store, name, customerID string) (*LatentCustomer, error) {
	var found *LatentCustomer
	errFound := errors.New("found")
	err := ReadLatentCustomers(ctx, st, name, func(c *LatentCustomer) error {
		if c.CustomerID == customerID {
			found = c
			return errFound
		}
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil && !errors.Is(err, errFound) {
		return nil, err
	}
	return found, nil
}
