package synth

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"
)

// Defaults for Options fields left at their zero value.
const (
	DefaultDays       = 730
	DefaultProducts   = 5000
	DefaultWarehouses = 8
	// DefaultBasketLines is the mean number of lines of an order:
	// 1 + Gamma(2, 0.8) extra lines on average (docs/GENERATOR.md).
	DefaultBasketLines = 2.6
)

// DefaultEnd is the end of a generated history when none is given: a fixed
// date, never "today", so the same options always give the same data.
var DefaultEnd = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// Options describe a synthetic history. Every field that changes the
// generated rows takes part in RunID; Workers does not (it never changes
// the rows).
type Options struct {
	// Name is the dataset name in the store (datasets/<Name>/...).
	Name string
	// Customers is the number of customers; each has at least one order.
	Customers int
	// End is the exclusive end of the history: an instant at 00:00 UTC.
	// Zero means DefaultEnd.
	End time.Time
	// Days is the history's length in days, ending at End. Zero means
	// DefaultDays.
	Days int
	// Seed selects the random world and every customer's streams. Zero is
	// a valid seed.
	Seed uint64
	// Products is the catalogue size. Zero means DefaultProducts.
	Products int
	// Warehouses is the number of warehouses (1..26). Zero means
	// DefaultWarehouses.
	Warehouses int
	// BasketLines is the mean number of lines of an order, the customers'
	// mean basket size b_i ~ Gamma(2, (BasketLines - 1) / 2) plus the one
	// line every order has. Zero means DefaultBasketLines. Larger baskets
	// (a wholesale or grocery retailer) give more lines per customer.
	BasketLines float64
	// Workers is the number of generating goroutines; zero means
	// GOMAXPROCS. It never changes the output.
	Workers int
}

// withDefaults returns o with zero fields replaced by their defaults.
func (o Options) withDefaults() Options {
	if o.End.IsZero() {
		o.End = DefaultEnd
	}
	o.End = o.End.UTC()
	if o.Days == 0 {
		o.Days = DefaultDays
	}
	if o.Products == 0 {
		o.Products = DefaultProducts
	}
	if o.Warehouses == 0 {
		o.Warehouses = DefaultWarehouses
	}
	if o.BasketLines == 0 {
		o.BasketLines = DefaultBasketLines
	}
	return o
}

// validate checks options after defaults.
func (o Options) validate() error {
	switch {
	case o.Customers < 1:
		return fmt.Errorf("customers %d: want at least 1", o.Customers)
	case o.Customers > 100_000_000:
		return fmt.Errorf("customers %d: at most 100,000,000", o.Customers)
	case o.Days < 7 || o.Days > 3660:
		return fmt.Errorf("days %d: want 7..3660", o.Days)
	case o.Products < len(categories)*4 || o.Products > 10_000_000:
		return fmt.Errorf("products %d: want %d..10,000,000", o.Products, len(categories)*4)
	case o.Warehouses < 1 || o.Warehouses > 26:
		return fmt.Errorf("warehouses %d: want 1..26", o.Warehouses)
	case !(o.BasketLines >= 1.5 && o.BasketLines <= 50):
		return fmt.Errorf("basket lines %g: want 1.5..50", o.BasketLines)
	case !o.End.Equal(o.End.Truncate(24 * time.Hour)):
		return fmt.Errorf("end %s: want a date (00:00 UTC)", o.End.Format(time.RFC3339))
	case o.End.Year() < 1900 || o.End.Year() > 9000:
		return fmt.Errorf("end %s: year out of range", o.End.Format(time.DateOnly))
	}
	return nil
}

// Start is the inclusive start of the history: End minus Days days.
func (o Options) Start() time.Time {
	o = o.withDefaults()
	return o.End.AddDate(0, 0, -o.Days)
}

// ModelVersion names the generating model; it changes whenever the same
// options would give different rows, and is part of RunID.
const ModelVersion = "synth-1"

// RunID is derived from the options that change the rows (never from the
// clock or a random source): the same options give the same run id, hence
// the same part names.
func (o Options) RunID() string {
	o = o.withDefaults()
	id := fmt.Appendf(nil, "%s|name=%s|customers=%d|end=%s|days=%d|seed=%d|products=%d|warehouses=%d",
		ModelVersion, o.Name, o.Customers, o.End.Format(time.RFC3339), o.Days, o.Seed, o.Products, o.Warehouses)
	if o.BasketLines != DefaultBasketLines {
		// Only then: the default's run ids stay what they were.
		id = fmt.Appendf(id, "|basket_lines=%g", o.BasketLines)
	}
	h := sha256.Sum256(id)
	return "g" + hex.EncodeToString(h[:])[:11]
}

// MemoryLimit is the soft memory limit (runtime/debug.SetMemoryLimit) the
// generate command sets when GOMEMLIMIT is not set. Generation keeps about
// 1 GiB live at most (the table writers' spill buffers, whatever the number
// of customers); without a limit the garbage collector lets the heap grow
// to twice that.
const MemoryLimit = 1536 << 20

// basketTheta is the scale of the customers' Gamma(2, theta) mean extra
// lines per order.
func (o Options) basketTheta() float64 {
	if o.BasketLines == DefaultBasketLines {
		return 0.8 // exactly the default's constant, so its bytes never change
	}
	return (o.BasketLines - 1) / 2
}
