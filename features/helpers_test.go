package features

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/datasets/local"
)

func newStore(t *testing.T) datasets.Store {
	t.Helper()
	st, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// history is a small dataset written through datasets.Writer.
type history struct {
	orders  []datasets.Order
	events  []datasets.Event
	loyalty []datasets.LoyaltyEntry
}

func (h *history) clone() *history {
	return &history{orders: slices.Clone(h.orders), events: slices.Clone(h.events), loyalty: slices.Clone(h.loyalty)}
}

func writeTable[T any](t *testing.T, st datasets.Store, tab *datasets.Table[T], name string, rows []T, spill int) {
	t.Helper()
	if len(rows) == 0 {
		return
	}
	ctx := context.Background()
	w, err := datasets.NewWriter(st, tab, datasets.WriterOptions{Dataset: name, SpillRows: spill, RowGroupRows: 16})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ctx, rows); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(ctx, datasets.CommitOptions{Operation: "test", TZ: "UTC"}); err != nil {
		t.Fatal(err)
	}
}

// write stores h as dataset name; spill sets the rows per spill (small
// values give many parts per month, exercising the merge).
func (h *history) write(t *testing.T, st datasets.Store, name string, spill int) {
	t.Helper()
	writeTable(t, st, datasets.Orders, name, h.orders, spill)
	writeTable(t, st, datasets.Events, name, h.events, spill)
	writeTable(t, st, datasets.Loyalty, name, h.loyalty, spill)
}

var (
	histStart = time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)
	histEnd   = time.Date(2024, 7, 1, 0, 0, 0, 0, time.UTC)
)

func ptr(x float64) *float64 { return &x }

// randomHistory makes customers with orders of several lines, returns,
// fees, anonymous lines, web events and loyalty entries.
func randomHistory(seed uint64, customers int) *history {
	r := rand.New(rand.NewPCG(seed, 7))
	h := &history{}
	span := histEnd.Sub(histStart)
	cats := []string{"toys", "food", "garden", "books", "", "tools"}
	at := func() time.Time { return histStart.Add(time.Duration(r.Int64N(int64(span)))).Truncate(time.Second) }
	for c := 0; c < customers; c++ {
		id := fmt.Sprintf("C%04d", c)
		for o := 0; o < r.IntN(12); o++ {
			ts := at()
			oid := fmt.Sprintf("%s-%d", id, o)
			for l := 0; l < 1+r.IntN(4); l++ {
				ord := datasets.Order{CustomerID: id, OrderID: oid, Timestamp: ts.UnixMicro(), ProductID: fmt.Sprintf("P%d", r.IntN(30)),
					Quantity: float64(1 + r.IntN(3)), UnitPrice: ptr(float64(r.IntN(5000)) / 100), Category: cats[r.IntN(len(cats))], LineType: datasets.LineSale}
				if r.IntN(10) == 0 {
					ord.OrderID = "" // lines without an order id
				}
				h.orders = append(h.orders, ord)
			}
			if r.IntN(5) == 0 {
				h.orders = append(h.orders, datasets.Order{CustomerID: id, OrderID: "C" + oid, Timestamp: ts.Add(72 * time.Hour).UnixMicro(), ProductID: "P1",
					Quantity: -1, UnitPrice: ptr(3), LineType: datasets.LineReturn})
			}
			if r.IntN(4) == 0 {
				h.orders = append(h.orders, datasets.Order{CustomerID: id, OrderID: oid, Timestamp: ts.UnixMicro(), ProductID: "POST",
					Quantity: 1, UnitPrice: ptr(5), LineType: datasets.LineFee})
			}
		}
		for e := 0; e < r.IntN(20); e++ {
			typ := []string{"view", "cart_add", "search"}[r.IntN(3)]
			h.events = append(h.events, datasets.Event{CustomerID: id, Timestamp: at().UnixMicro(), EventType: typ, ProductID: "P2"})
		}
		for e := 0; e < r.IntN(4); e++ {
			h.loyalty = append(h.loyalty, datasets.LoyaltyEntry{CustomerID: id, Timestamp: at().UnixMicro(), Points: float64(r.IntN(200) - 50)})
		}
	}
	for a := 0; a < 50; a++ {
		h.orders = append(h.orders, datasets.Order{Timestamp: at().UnixMicro(), ProductID: "P3", Quantity: 1, UnitPrice: ptr(2), LineType: datasets.LineSale})
	}
	return h
}

// tableRows reads a table as canonical strings, one per row: every value
// with its exact bits.
func tableRows(t *testing.T, st datasets.Store, m *Manifest) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := Rows(context.Background(), st, m, func(row []any) error {
		var b strings.Builder
		key := ""
		for i, v := range row {
			c := m.Schema[i]
			if c.Role == "id" {
				key += fmt.Sprint(v) + "|"
				continue
			}
			switch x := v.(type) {
			case float64:
				fmt.Fprintf(&b, "%s=%x ", c.Name, math.Float64bits(x))
			default:
				fmt.Fprintf(&b, "%s=%v ", c.Name, x)
			}
		}
		if _, dup := out[key]; dup {
			t.Fatalf("row %s twice", key)
		}
		out[key] = b.String()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// withoutLabel drops the label from canonical rows.
func withoutLabel(rows map[string]string, label string) map[string]string {
	out := map[string]string{}
	for k, v := range rows {
		if i := strings.Index(v, label+"="); i >= 0 {
			v = v[:i]
		}
		out[k] = v
	}
	return out
}

func mustBuild(t *testing.T, st datasets.Store, o Options) *Result {
	t.Helper()
	r, err := Build(context.Background(), st, o)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
