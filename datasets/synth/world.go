package synth

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// category is one leaf of the catalogue's hierarchy.
type category struct {
	name, department string
	share            float64 // base share of purchases (before affinities)
	price            float64 // median list price
	qtyP             float64 // geometric success probability for extra units
	returnRate       float64 // probability a line is returned
}

// categories is the fixed catalogue hierarchy: department > category.
var categories = []category{
	{"grocery", "food", 0.12, 3.5, 0.45, 0.005},
	{"beverages", "food", 0.08, 2.8, 0.40, 0.005},
	{"dairy", "food", 0.07, 2.2, 0.50, 0.005},
	{"bakery", "food", 0.05, 2.5, 0.55, 0.005},
	{"produce", "food", 0.07, 2.0, 0.45, 0.01},
	{"frozen", "food", 0.04, 4.5, 0.55, 0.005},
	{"snacks", "food", 0.06, 2.9, 0.45, 0.005},
	{"baby_food", "baby", 0.02, 1.8, 0.40, 0.01},
	{"diapers", "baby", 0.02, 14, 0.60, 0.02},
	{"baby_care", "baby", 0.015, 8, 0.65, 0.03},
	{"household", "home", 0.06, 6, 0.55, 0.02},
	{"kitchen", "home", 0.03, 15, 0.85, 0.05},
	{"garden", "home", 0.025, 18, 0.80, 0.05},
	{"coffee_machines", "home", 0.006, 89, 0.97, 0.08},
	{"coffee_capsules", "home", 0.02, 6, 0.40, 0.01},
	{"personal_care", "personal", 0.05, 5.5, 0.60, 0.02},
	{"health", "personal", 0.03, 8, 0.70, 0.02},
	{"beauty", "personal", 0.03, 14, 0.75, 0.06},
	{"pet_supplies", "pets", 0.012, 15, 0.85, 0.05},
	{"pet_food", "pets", 0.025, 9, 0.50, 0.01},
	{"electronics", "electronics", 0.02, 79, 0.95, 0.08},
	{"printers", "electronics", 0.004, 120, 0.98, 0.07},
	{"printer_ink", "electronics", 0.012, 25, 0.70, 0.02},
	{"toys", "leisure", 0.025, 22, 0.80, 0.05},
	{"sports", "leisure", 0.02, 35, 0.85, 0.08},
	{"books", "leisure", 0.025, 12, 0.85, 0.03},
	{"apparel", "fashion", 0.035, 29, 0.75, 0.18},
	{"footwear", "fashion", 0.02, 49, 0.92, 0.22},
}

// categoryQueries holds each category's search text (a search event's
// query): its name with spaces, in the order of categories.
var categoryQueries = func() []string {
	q := make([]string, len(categories))
	for i, c := range categories {
		q[i] = strings.ReplaceAll(c.name, "_", " ")
	}
	return q
}()

func categoryIndex(name string) int {
	for i, c := range categories {
		if c.name == name {
			return i
		}
	}
	panic("synth: unknown category " + name)
}

// CrossSell is a planted cross-sell pair: a customer's first purchase in
// Source triggers, with probability Probability, a purchase in Target
// about DelayDays later, and a lasting affinity for Target.
type CrossSell struct {
	Source      string  `json:"source"`
	Target      string  `json:"target"`
	Probability float64 `json:"probability"`
	DelayDays   float64 `json:"mean_delay_days"`
	// AffinityBoost is added to the customer's affinity weight for Target
	// (affinities sum to 1 before the boost) once triggered.
	AffinityBoost float64 `json:"affinity_boost"`
}

var crossSells = []CrossSell{
	{"baby_food", "diapers", 0.6, 21, 0.15},
	{"printers", "printer_ink", 0.6, 40, 0.10},
	{"coffee_machines", "coffee_capsules", 0.7, 10, 0.20},
	{"pet_supplies", "pet_food", 0.6, 7, 0.15},
}

// Process parameters (documented in docs/GENERATOR.md).
const (
	rateShape      = 0.9      // purchase rate ~ Gamma(rateShape, rateMean/rateShape) per day
	rateMean       = 1.0 / 35 // mean orders per day while alive
	dropA, dropB   = 1.2, 2.8 // dropout probability after each order ~ Beta(dropA, dropB)
	affinityConc   = 8.0      // Dirichlet concentration of category affinities
	homeShare      = 0.85     // share of orders from the home warehouse
	zipfS          = 1.1      // within-category Zipf exponent of product popularity
	warehouseNoise = 0.9      // sd of the log per-warehouse popularity noise
	repeatA        = 1.5      // per-customer repeat-purchase probability ~ Beta(repeatA, repeatB)
	repeatB        = 3.0
	maxOrders      = 9999 // per customer; order ids have four sequence digits
)

// promotion is a planned price promotion on one product in one warehouse
// (or all when warehouse < 0).
type promotion struct {
	id         string
	product    int32
	warehouse  int // -1: every warehouse
	start, end int // days since history start, [start, end)
	announced  int // day of announcement (may be before the history)
	discount   float64
	uplift     float64 // multiplier on the product's choice weight
}

// world is everything shared by all customers: catalogue, warehouses,
// calendar, promotions. Built deterministically from the seed.
type world struct {
	o           Options
	basketTheta float64 // o.basketTheta()
	start       time.Time
	startUnix   int64
	days        int

	nc, nw int // categories, warehouses

	// products
	prodCat   []int32
	prodID    []string
	basePrice []int64 // cents at history start
	packSize  []int32
	catProds  [][]int32 // products of each category, by popularity rank
	// choice[w*nc+c] draws a product index into catProds[c] for warehouse w.
	choice []alias
	// weight[w][p]: the product's normalised weight within its category at w.
	weight [][]float64

	// price changes: CSR over products of (day, cents from that day on)
	priceOff   []int32
	priceDay   []int32
	priceCents []int64

	whName    []string
	whWeights []float64 // cumulative

	// seasonality
	dayFactor  []float64 // weekly x annual multiplier of purchase rates
	weekly     [7]float64
	annual     []float64
	maxFactor  float64
	hourCum    []float64 // cumulative intraday profile, 24 entries
	dayStrings [][]byte  // "YYYY-MM-DDT"

	promos []promotion
	// active promotions: CSR indexed by (day*nw+w)*nc+c -> promo indices
	actOff []int32
	actIdx []int32

	crossSrc []int // category -> cross-sell index (-1 none)
	cross    []CrossSell
	crossTgt []int

	catShareCum []float64
	affAlpha    []float64

	custWidth int // digits of a customer id
}

func newWorld(o Options) *world {
	w := &world{o: o, basketTheta: o.basketTheta(), days: o.Days, nc: len(categories), nw: o.Warehouses}
	w.start = o.End.AddDate(0, 0, -o.Days)
	w.startUnix = w.start.Unix()
	w.custWidth = max(6, len(fmt.Sprint(o.Customers)))
	r := newStream()
	r.seed(o.Seed, 0, streamWorld)

	// The steps below draw from r in this order; reordering them changes
	// every generated dataset.
	w.initWarehouses()
	shares := w.initCategories()
	w.initProducts(r, shares)
	w.initPopularity(r)
	w.initPriceChanges(r)
	w.initCalendar()
	w.initPromotions(r)
	w.indexPromotions()
	w.initCrossSells()
	return w
}

// initWarehouses names the warehouses and sets their cumulative weights.
func (w *world) initWarehouses() {
	ww := make([]float64, w.nw)
	base := []float64{0.22, 0.18, 0.15, 0.12, 0.11, 0.09, 0.08, 0.05}
	for i := range ww {
		if w.nw == len(base) {
			ww[i] = base[i]
		} else {
			ww[i] = 1 / (float64(i) + 2)
		}
		if w.nw <= 9 {
			w.whName = append(w.whName, fmt.Sprintf("W%d", i+1))
		} else {
			w.whName = append(w.whName, fmt.Sprintf("W%02d", i+1))
		}
	}
	w.whWeights = cumulative(ww)
}

// initCategories sets the categories' affinity Dirichlet parameters and
// cumulative base shares, and returns the normalised shares.
func (w *world) initCategories() []float64 {
	var tot float64
	for _, c := range categories {
		tot += c.share
	}
	shares := make([]float64, w.nc)
	w.affAlpha = make([]float64, w.nc)
	for i, c := range categories {
		shares[i] = c.share / tot
		w.affAlpha[i] = affinityConc * shares[i]
	}
	w.catShareCum = cumulative(shares)
	return shares
}

// categorySizes splits np products over the categories in proportion to
// the square root of their shares, at least 4 per category.
func categorySizes(np int, shares []float64) []int {
	nc := len(shares)
	sq := make([]float64, nc)
	var sqt float64
	for i := range sq {
		sq[i] = math.Sqrt(shares[i])
		sqt += sq[i]
	}
	sizes := make([]int, nc)
	left := np
	for i := range sizes {
		sizes[i] = max(4, int(float64(np)*sq[i]/sqt))
		left -= sizes[i]
	}
	for i := 0; left != 0; i = (i + 1) % nc {
		if left > 0 {
			sizes[i]++
			left--
		} else if sizes[i] > 4 {
			sizes[i]--
			left++
		}
	}
	return sizes
}

// initProducts sizes the categories, assigns product ids by a seeded
// permutation (so ids say nothing of rank) and draws each product's base
// price and pack size.
func (w *world) initProducts(r *stream, shares []float64) {
	np := w.o.Products
	sizes := categorySizes(np, shares)
	perm := make([]int32, np)
	for i := range perm {
		perm[i] = int32(i)
	}
	for i := np - 1; i > 0; i-- {
		j := r.IntN(i + 1)
		perm[i], perm[j] = perm[j], perm[i]
	}
	w.prodCat = make([]int32, np)
	w.prodID = make([]string, np)
	w.basePrice = make([]int64, np)
	w.packSize = make([]int32, np)
	w.catProds = make([][]int32, w.nc)
	k := 0
	width := max(6, len(fmt.Sprint(np)))
	for c := range sizes {
		for rank := 0; rank < sizes[c]; rank++ {
			p := perm[k]
			k++
			w.catProds[c] = append(w.catProds[c], p)
			w.prodCat[p] = int32(c)
			price := categories[c].price * math.Exp(0.45*r.NormFloat64())
			w.basePrice[p] = max(19, int64(math.Round(price*100)))
			w.packSize[p] = []int32{1, 1, 1, 2, 4, 6, 12}[r.IntN(7)]
		}
	}
	for p := range np {
		w.prodID[p] = fmt.Sprintf("P%0*d", width, p)
	}
}

// initPopularity sets the popularity per warehouse: Zipf by rank within
// category, times a per-(product, warehouse) log-normal factor, so
// bestsellers differ by warehouse.
func (w *world) initPopularity(r *stream) {
	np := w.o.Products
	w.weight = make([][]float64, w.nw)
	w.choice = make([]alias, w.nw*w.nc)
	for wh := range w.nw {
		w.weight[wh] = make([]float64, np)
		for c, ps := range w.catProds {
			ws := make([]float64, len(ps))
			var t float64
			for rank := range ps {
				ws[rank] = math.Pow(float64(rank+1), -zipfS) * math.Exp(warehouseNoise*r.NormFloat64())
				t += ws[rank]
			}
			for rank, p := range ps {
				w.weight[wh][p] = ws[rank] / t
			}
			w.choice[wh*w.nc+c] = newAlias(ws)
		}
	}
}

// initPriceChanges draws the price changes: Poisson(1.2) per product over
// the history, each a log-normal step (mostly increases).
func (w *world) initPriceChanges(r *stream) {
	np := w.o.Products
	w.priceOff = make([]int32, np+1)
	for p := range np {
		w.priceOff[p] = int32(len(w.priceDay))
		n := r.poisson(1.2 * float64(w.days) / 730)
		ds := make([]int, n)
		for i := range ds {
			ds[i] = 1 + r.IntN(w.days-1)
		}
		slices.Sort(ds)
		cents := w.basePrice[p]
		for _, d := range ds {
			cents = max(19, int64(math.Round(float64(cents)*math.Exp(0.03+0.08*r.NormFloat64()))))
			w.priceDay = append(w.priceDay, int32(d))
			w.priceCents = append(w.priceCents, cents)
		}
	}
	w.priceOff[np] = int32(len(w.priceDay))
}

// initCalendar sets the seasonality: a weekly profile with a Sunday peak,
// an annual profile (January lull, summer dip, Black Friday week, December
// run-up) and the intraday profile.
func (w *world) initCalendar() {
	w.weekly = [7]float64{1.45, 0.85, 0.8, 0.85, 0.95, 1.05, 1.15} // Sunday..Saturday
	w.annual = make([]float64, w.days)
	w.dayFactor = make([]float64, w.days)
	w.dayStrings = make([][]byte, w.days)
	for d := range w.days {
		t := w.start.AddDate(0, 0, d)
		w.annual[d] = annualFactor(t)
		w.dayFactor[d] = w.weekly[t.Weekday()] * w.annual[d]
		w.maxFactor = max(w.maxFactor, w.dayFactor[d])
		w.dayStrings[d] = []byte(t.Format("2006-01-02T"))
	}
	hours := []float64{0.3, 0.2, 0.1, 0.1, 0.1, 0.2, 0.5, 1.0, 1.6, 2.0, 2.3, 2.6,
		3.0, 2.8, 2.4, 2.2, 2.3, 2.6, 3.0, 3.6, 4.0, 3.4, 2.0, 0.8}
	w.hourCum = cumulative(hours)
}

// initPromotions draws the promotions: about three a week, on products
// drawn from the top fifth of their category; announced 3 to 21 days ahead.
func (w *world) initPromotions(r *stream) {
	npromo := max(1, 3*w.days/7)
	for i := range npromo {
		c := r.IntN(w.nc)
		ps := w.catProds[c]
		p := ps[r.IntN(max(1, len(ps)/5))]
		wh := -1
		if r.Float64() < 0.7 {
			wh = r.IntN(w.nw)
		}
		dur := []int{7, 7, 10, 14}[r.IntN(4)]
		start := r.IntN(w.days)
		disc := 0.1 + 0.05*float64(r.IntN(5))
		pr := promotion{
			id:        fmt.Sprintf("PR%05d", i+1),
			product:   p,
			warehouse: wh,
			start:     start,
			end:       min(w.days, start+dur),
			announced: start - 3 - r.IntN(19),
			discount:  disc,
			uplift:    1 + 8*disc*math.Exp(0.2*r.NormFloat64()),
		}
		w.promos = append(w.promos, pr)
	}
}

// indexPromotions builds the active-promotion index (actOff, actIdx): a CSR
// keyed by (day*nw+warehouse)*nc+category listing the promotions running.
func (w *world) indexPromotions() {
	n := w.days * w.nw * w.nc
	counts := make([]int32, n+1)
	each := func(f func(slot int, pi int)) {
		for pi, pr := range w.promos {
			c := int(w.prodCat[pr.product])
			for d := pr.start; d < pr.end; d++ {
				for wh := range w.nw {
					if pr.warehouse >= 0 && pr.warehouse != wh {
						continue
					}
					f((d*w.nw+wh)*w.nc+c, pi)
				}
			}
		}
	}
	each(func(slot, _ int) { counts[slot+1]++ })
	for i := 1; i <= n; i++ {
		counts[i] += counts[i-1]
	}
	w.actOff = counts
	w.actIdx = make([]int32, counts[n])
	fill := slices.Clone(counts[:n])
	each(func(slot, pi int) { w.actIdx[fill[slot]] = int32(pi); fill[slot]++ })
}

// initCrossSells indexes the cross-sell pairs by source category.
func (w *world) initCrossSells() {
	w.cross = crossSells
	w.crossSrc = make([]int, w.nc)
	for i := range w.crossSrc {
		w.crossSrc[i] = -1
	}
	for i, x := range w.cross {
		w.crossSrc[categoryIndex(x.Source)] = i
		w.crossTgt = append(w.crossTgt, categoryIndex(x.Target))
	}
}

// annualFactor is the annual seasonal multiplier for the day t.
func annualFactor(t time.Time) float64 {
	f := 1.0
	switch t.Month() {
	case time.January:
		f = 0.85
	case time.February:
		f = 0.9
	case time.July, time.August:
		f = 0.92
	case time.December:
		if t.Day() <= 23 {
			f = 1.3
		} else {
			f = 0.9
		}
	}
	// Black Friday (the fourth Friday of November) to Cyber Monday.
	if t.Month() == time.November || (t.Month() == time.December && t.Day() <= 3) {
		nov1 := time.Date(t.Year(), time.November, 1, 0, 0, 0, 0, time.UTC)
		bf := nov1.AddDate(0, 0, (int(time.Friday)-int(nov1.Weekday())+7)%7+21)
		if !t.Before(bf) && t.Before(bf.AddDate(0, 0, 4)) {
			f = 1.8
		}
	}
	return f
}

func cumulative(w []float64) []float64 {
	c := make([]float64, len(w))
	var t float64
	for i, x := range w {
		t += x
		c[i] = t
	}
	return c
}

// priceAt returns the list price of product p on day d, in cents.
func (w *world) priceAt(p int32, d int) int64 {
	cents := w.basePrice[p]
	for i := w.priceOff[p]; i < w.priceOff[p+1]; i++ {
		if int(w.priceDay[i]) > d {
			break
		}
		cents = w.priceCents[i]
	}
	return cents
}

// active returns the promotions running on day d at warehouse wh in category c.
func (w *world) active(d, wh, c int) []int32 {
	slot := (d*w.nw+wh)*w.nc + c
	return w.actIdx[w.actOff[slot]:w.actOff[slot+1]]
}

// promoFor returns the index of a promotion running for product p on day d
// at warehouse wh, or -1.
func (w *world) promoFor(p int32, d, wh int) int {
	for _, pi := range w.active(d, wh, int(w.prodCat[p])) {
		if w.promos[pi].product == p {
			return int(pi)
		}
	}
	return -1
}
