package main

import (
	"bufio"
	"cmp"
	"flag"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/prevoir/prevoir/datasets/synth"
)

// The order-line model of `kit orders` (docs/BENCHMARKS.md, "Input data"):
// two years of lines for the import and feature benchmarks, heterogeneous
// customers (Gamma purchase rates, Gamma-Exponential dropout), Zipf product
// popularity, baskets of one line or more. Every draw comes from one PCG
// stream seeded by -seed, so the same flags give the same file.
const (
	ordersDays      = 731 // 2023-01-01 .. 2025-01-01
	ordersProducts  = 20_000
	ordersZipf      = 1.07
	linesPerOrder   = 2.6
	homeWarehouseP  = 0.85
	promoShare      = 0.10
	promoFactor     = 0.8
	quantityP       = 0.6
	meanDropoutDays = 300.0
)

var (
	ordersStart = time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)
	categories  = []string{"grocery", "beverages", "dairy", "bakery", "produce", "frozen", "snacks",
		"household", "personal_care", "baby", "pet", "health", "beauty", "electronics", "home_office",
		"toys", "sports", "garden", "kitchen", "apparel", "footwear", "books", "music", "automotive"}
	// typical price per category, in euros
	categoryPrice = []float64{3.5, 2.8, 2.2, 2.5, 2.0, 4.5, 2.9, 6.0, 5.5, 12.0, 9.0, 8.0,
		14.0, 79.0, 25.0, 22.0, 35.0, 18.0, 15.0, 29.0, 49.0, 12.0, 11.0, 27.0}
	warehouses      = []string{"W1", "W2", "W3", "W4", "W5", "W6", "W7", "W8"}
	warehouseWeight = []float64{0.22, 0.18, 0.15, 0.12, 0.11, 0.09, 0.08, 0.05}
)

func ordersCmd(args []string) error {
	fs := flag.NewFlagSet("orders", flag.ContinueOnError)
	customers := fs.Int("customers", 50_000, "customers")
	lines := fs.Int("lines", 1_000_000, "order lines (exactly this many)")
	seed := fs.Uint64("seed", 42, "seed")
	out := fs.String("out", "", "CSV file to write")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || *customers < 1 || *lines < 1 {
		return fmt.Errorf("orders: need -out, -customers >= 1 and -lines >= 1")
	}
	start := time.Now()
	tmp := *out + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	n, err := writeOrders(w, *customers, *lines, *seed)
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, *out)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	fmt.Fprintf(os.Stderr, "kit orders: %d lines for %d customers in %s -> %s\n", n, *customers, time.Since(start).Round(time.Millisecond), *out)
	return nil
}

// order is one basket: its customer, time and warehouse, and its lines.
type order struct {
	secs  int64 // since ordersStart
	cust  int32
	wh    int8
	lines int32
}

// drawOrders draws every customer's orders and returns them sorted by
// time (then customer); at most maxOrders are kept.
func drawOrders(r rng, customers, lines int) []order {
	T := float64(ordersDays)
	acq := make([]float64, customers)
	g := make([]float64, customers)
	dur := make([]float64, customers)
	home := make([]int8, customers)
	basket := make([]float64, customers)
	whCDF := cumsum(warehouseWeight)
	forced, exposure := 0.0, 0.0
	for i := range customers {
		// About 29% are customers on day 0; the others arrive with a first order.
		acq[i] = math.Max(0, -0.4*T+r.Float64()*1.4*T)
		g[i] = r.gamma(0.75, 1)
		mu := r.gamma(1.2, 1/(1.2*meanDropoutDays))
		life := r.ExpFloat64() / mu
		dur[i] = math.Min(acq[i]+life, T) - acq[i]
		home[i] = int8(r.categorical(whCDF))
		basket[i] = r.gamma(2, 1)
		if acq[i] > 0 {
			forced++
		}
		exposure += g[i] * dur[i]
	}
	// The rate scale that makes the expected number of lines -lines.
	k := (float64(lines)/linesPerOrder - forced) / exposure
	if k <= 0 {
		k = 1e-6
	}
	var orders []order
	add := func(c int, day float64) {
		tod := math.Mod(math.Floor(13.5*3600+4*3600*r.NormFloat64()), 86400)
		if tod < 0 {
			tod += 86400
		}
		wh := home[c]
		if r.Float64() >= homeWarehouseP {
			wh = int8(r.IntN(len(warehouses)))
		}
		orders = append(orders, order{secs: int64(math.Floor(day))*86400 + int64(tod), cust: int32(c), wh: wh})
	}
	for c := range customers {
		if acq[c] > 0 {
			add(c, acq[c])
		}
		// A Poisson process of rate k*g on [acq, acq+dur): exponential gaps.
		rate := k * g[c]
		for t := acq[c] + r.ExpFloat64()/rate; t < acq[c]+dur[c]; t += r.ExpFloat64() / rate {
			add(c, t)
		}
	}
	slices.SortFunc(orders, func(a, b order) int {
		if a.secs != b.secs {
			return cmp.Compare(a.secs, b.secs)
		}
		return cmp.Compare(a.cust, b.cust)
	})
	if len(orders) > lines {
		fmt.Fprintf(os.Stderr, "kit orders: %d orders for %d lines; keeping the first %d orders\n", len(orders), lines, lines)
		orders = orders[:lines]
	}
	// Every order has one line; the rest go to orders in proportion to
	// their customer's basket propensity (a multinomial draw).
	w := make([]float64, len(orders))
	for i, o := range orders {
		orders[i].lines = 1
		w[i] = basket[o.cust]
	}
	a := newAlias(w)
	for range lines - len(orders) {
		orders[a.draw(r)].lines++
	}
	return orders
}

// writeOrders writes the CSV and returns the number of lines.
func writeOrders(w *bufio.Writer, customers, lines int, seed uint64) (int, error) {
	r := newRNG(seed, 0x6f72646572)
	orders := drawOrders(r, customers, lines)

	// Products: Zipf popularity by rank, ranks shuffled onto ids; a
	// category each (category sizes from a Dirichlet draw) and a
	// log-normal price around the category's.
	pop := make([]float64, ordersProducts)
	for i := range pop {
		pop[i] = math.Pow(float64(i+1), -ordersZipf)
	}
	popCDF := cumsum(pop)
	rankToID := r.Perm(ordersProducts)
	catW := make([]float64, len(categories))
	for i := range catW {
		catW[i] = r.gamma(2, 1)
	}
	catCDF := cumsum(catW)
	prodCat := make([]int, ordersProducts)
	prodCents := make([]int64, ordersProducts)
	for p := range ordersProducts {
		prodCat[p] = r.categorical(catCDF)
		price := math.Exp(math.Log(categoryPrice[prodCat[p]]) + 0.45*r.NormFloat64())
		prodCents[p] = max(19, int64(math.Round(price*100)))
	}

	if _, err := w.WriteString(synth.CSVHeader); err != nil {
		return 0, err
	}
	var buf []byte
	n := 0
	for i, o := range orders {
		ts := ordersStart.Add(time.Duration(o.secs)*time.Second).AppendFormat(nil, "2006-01-02T15:04:05Z")
		for range o.lines {
			p := rankToID[r.categorical(popCDF)]
			cents := prodCents[p]
			if r.Float64() < promoShare {
				cents = int64(math.Round(float64(cents) * promoFactor))
			}
			buf = buf[:0]
			buf = strconv.AppendInt(buf, int64(o.cust)+1, 10)
			buf = append(buf, ',')
			buf = strconv.AppendInt(buf, int64(i)+1, 10)
			buf = append(buf, ',')
			buf = append(buf, ts...)
			buf = fmt.Appendf(buf, ",P%06d,%s,", p, categories[prodCat[p]])
			buf = strconv.AppendInt(buf, int64(r.geometric(quantityP)), 10)
			buf = fmt.Appendf(buf, ",%d.%02d,%s\n", cents/100, cents%100, warehouses[o.wh])
			if _, err := w.Write(buf); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}
