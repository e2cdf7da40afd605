package features

import (
	"context"
	"slices"

	"github.com/prevoir/prevoir/datasets"
)

// line is one fact of a customer's history, whatever table it came from:
// an order line, a web event or a loyalty ledger entry.
type line struct {
	ts   int64   // UTC microseconds
	ord  uint64  // order key: FNV-1a 64 of order_id, or of the timestamp when none
	val  float64 // money value (orders) or points (loyalty)
	qty  float64 // quantity (orders)
	prod uint64  // FNV-1a 64 of product_id, 0 when none or not read
	cat  int32   // category symbol, -1 when none
	kind int32   // line_type (orders) or event_type (events) symbol
	ok   bool    // val is known (a line with a money column)
}

// source says which table a scan reads and which of its columns.
type source int

const (
	srcOrders source = iota
	srcEvents
	srcLoyalty
)

// need lists the optional order columns a feature set reads.
type need struct {
	products bool
	// productSyms reads product_id as a symbol (line.prod = symbol + 1),
	// for tasks that name products in their rows.
	productSyms bool
}

// cmpLine orders rows by time, then by content.
func cmpLine(a, b line) int {
	switch {
	case a.ts != b.ts:
		return cmpInt(a.ts, b.ts)
	case a.ord != b.ord:
		return cmpU64(a.ord, b.ord)
	case a.kind != b.kind:
		return cmpInt(int64(a.kind), int64(b.kind))
	case a.prod != b.prod:
		return cmpU64(a.prod, b.prod)
	case a.ok != b.ok:
		if a.ok {
			return 1
		}
		return -1
	case a.val != b.val:
		if a.val < b.val {
			return -1
		}
		return 1
	case a.qty != b.qty:
		if a.qty < b.qty {
			return -1
		}
		return 1
	}
	// Category ids depend on decoding order; rows equal in everything
	// else add the same numbers, so their order changes no result.
	return cmpInt(int64(a.cat), int64(b.cat))
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// columns returns the columns a source reads, in the order its line
// conversion expects them.
func (src source) columns(nd need) []datasets.ColumnRequest {
	switch src {
	case srcEvents:
		if nd.productSyms {
			// The item of an event, for tasks per customer x item.
			return []datasets.ColumnRequest{{Name: "event_type", As: datasets.AsSymbol},
				{Name: "product_id", As: datasets.AsSymbol}, {Name: "category", As: datasets.AsSymbol}}
		}
		return []datasets.ColumnRequest{{Name: "event_type", As: datasets.AsSymbol}}
	case srcLoyalty:
		return []datasets.ColumnRequest{{Name: "points", As: datasets.AsFloat64}}
	}
	cols := []datasets.ColumnRequest{
		ordOrderID:   {Name: "order_id", As: datasets.AsHash},
		ordQuantity:  {Name: "quantity", As: datasets.AsFloat64},
		ordUnitPrice: {Name: "unit_price", As: datasets.AsFloat64},
		ordAmount:    {Name: "amount", As: datasets.AsFloat64},
		ordCategory:  {Name: "category", As: datasets.AsSymbol},
		ordLineType:  {Name: "line_type", As: datasets.AsSymbol},
	}
	switch {
	case nd.productSyms:
		cols = append(cols, datasets.ColumnRequest{Name: "product_id", As: datasets.AsSymbol})
	case nd.products:
		cols = append(cols, datasets.ColumnRequest{Name: "product_id", As: datasets.AsHash})
	}
	return cols
}

// The positions of the order columns in a block.
const (
	ordOrderID = iota
	ordQuantity
	ordUnitPrice
	ordAmount
	ordCategory
	ordLineType
	ordProductID
)

// orderLine converts row i of a block of order columns.
func orderLine(b *datasets.Block, i int) line {
	c := b.Cols
	l := line{ts: b.Time[i], cat: -1, kind: -1}
	if h := c[ordOrderID].Hash; h != nil {
		l.ord = h[i]
	}
	if l.ord == 0 {
		// No order id: a customer's lines with one timestamp form one order.
		l.ord = uint64(l.ts)*0x9E3779B97F4A7C15 | 1
	}
	if q := c[ordQuantity].Float64; q != nil {
		l.qty = q[i]
	}
	switch am, pr := &c[ordAmount], &c[ordUnitPrice]; {
	case am.Float64 != nil && am.Valid[i]:
		l.val, l.ok = am.Float64[i], true
	case pr.Float64 != nil && pr.Valid[i]:
		l.val, l.ok = l.qty*pr.Float64[i], true
	}
	if s := c[ordCategory].Symbol; s != nil {
		l.cat = s[i]
	}
	if s := c[ordLineType].Symbol; s != nil {
		l.kind = s[i]
	}
	if len(c) > ordProductID {
		if h := c[ordProductID].Hash; h != nil {
			l.prod = h[i]
		} else if s := c[ordProductID].Symbol; s != nil && s[i] >= 0 {
			l.prod = uint64(s[i]) + 1
		}
	}
	return l
}

// eventLine converts row i of a block of event columns.
func eventLine(b *datasets.Block, i int) line {
	l := line{ts: b.Time[i], cat: -1, kind: -1}
	l.ord = uint64(l.ts)*0x9E3779B97F4A7C15 | 1
	if s := b.Cols[0].Symbol; s != nil {
		l.kind = s[i]
	}
	if len(b.Cols) == 3 {
		if s := b.Cols[1].Symbol; s != nil && s[i] >= 0 {
			l.prod = uint64(s[i]) + 1
		}
		if s := b.Cols[2].Symbol; s != nil {
			l.cat = s[i]
		}
	}
	return l
}

// loyaltyLine converts row i of a block of loyalty columns.
func loyaltyLine(b *datasets.Block, i int) line {
	l := line{ts: b.Time[i], cat: -1, kind: -1}
	l.ord = uint64(l.ts)*0x9E3779B97F4A7C15 | 1
	if p := b.Cols[0].Float64; p != nil {
		l.val, l.ok = p[i], true
	}
	return l
}

// scanner reads one table of a dataset for a build, through
// datasets.ScanColumns: only the columns its source needs, each
// customer's rows of a month together.
type scanner struct {
	st     datasets.Store
	src    source
	need   need
	syms   *datasets.Symbols
	lo, hi int64 // only rows with lo <= ts < hi are passed on
	keep   func(cust []byte) bool
}

// scan calls fn once per customer and month with the customer's rows of
// that month in [lo, hi), sorted by cmpLine. Months come in order, so fn
// sees each customer's history in time order. cust and lines are reused
// after fn returns.
func (s *scanner) scan(ctx context.Context, m *datasets.Manifest, fn func(cust []byte, lines []line) error) error {
	cs := datasets.ColumnScan{Columns: s.src.columns(s.need), Symbols: s.syms, From: s.lo, To: s.hi, Keep: s.keep}
	sorted := func(cust []byte, lines []line) error {
		// A total order on the rows' content, so that features never
		// depend on how the rows were split into parts (imports, spills).
		if !slices.IsSortedFunc(lines, cmpLine) {
			slices.SortFunc(lines, cmpLine)
		}
		return fn(cust, lines)
	}
	switch s.src {
	case srcEvents:
		return datasets.ScanColumns(ctx, s.st, datasets.Events, m, cs, eventLine, sorted)
	case srcLoyalty:
		return datasets.ScanColumns(ctx, s.st, datasets.Loyalty, m, cs, loyaltyLine, sorted)
	}
	return datasets.ScanColumns(ctx, s.st, datasets.Orders, m, cs, orderLine, sorted)
}
