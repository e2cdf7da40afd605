package datasets

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"
)

// FormatVersion is the version of the stored layout and schema that this
// code writes. Readers refuse a manifest with a newer version.
const FormatVersion = 1

// Line types: the derived classification of an order line (docs/DATA.md).
const (
	// LineSale is a merchandise line with a positive quantity and price.
	LineSale = "sale"
	// LineReturn is a negative quantity or a cancelled line.
	LineReturn = "return"
	// LineFee is a non-merchandise charge: postage, bank charges, vouchers.
	LineFee = "fee"
	// LineAdjustment is a bookkeeping line: manual corrections, discounts,
	// samples, bad debt, and lines with no money (stock adjustments).
	LineAdjustment = "adjustment"
)

// LineTypes lists the line types in documentation order.
var LineTypes = []string{LineSale, LineReturn, LineFee, LineAdjustment}

// Column describes one column of a canonical table, as recorded in
// manifests and documented in docs/DATA.md.
type Column struct {
	// Name is the column's name in Parquet and in --map.
	Name string `json:"name"`
	// Type is the logical type: string, timestamp, double, int64 or boolean.
	Type string `json:"type"`
	// Nullable reports whether the column may hold nulls. A string column
	// stores the empty string as null.
	Nullable bool `json:"nullable"`
	// Description says what the column holds, in one line.
	Description string `json:"description"`
}

// Column kinds drive parsing at import.
type kind uint8

const (
	kString   kind = iota // verbatim text
	kID                   // identifier: verbatim except integral floats
	kTime                 // instant, stored as microseconds since the epoch, UTC
	kOptTime              // nullable instant
	kFloat                // float64
	kOptFloat             // nullable float64
	kOptInt               // nullable int64
	kBool                 // boolean
)

func (k kind) typeName() string {
	switch k {
	case kTime, kOptTime:
		return "timestamp"
	case kFloat, kOptFloat:
		return "double"
	case kOptInt:
		return "int64"
	case kBool:
		return "boolean"
	}
	return "string"
}

// field binds a canonical column to a field of the row type T.
type field[T any] struct {
	name, desc string
	kind       kind
	nullable   bool
	str        func(*T) *string
	i64        func(*T) *int64
	pi64       func(*T) **int64
	f64        func(*T) *float64
	pf64       func(*T) **float64
	b          func(*T) *bool
}

// Table describes one canonical table whose rows have Go type T: its
// columns, how it is partitioned and sorted, and how import fills it.
// The tables are the package variables Orders, Customers, Products, Events,
// Stock, Promotions, Loyalty and Consent.
type Table[T any] struct {
	// Name is the table's name in the store layout and in --table.
	Name string
	// TimeColumn names the column whose UTC month partitions the table,
	// or is empty for an unpartitioned table (customers, products).
	TimeColumn string
	// KeyColumn names the column parts are sorted by first (customer_id or
	// product_id); ties are sorted by TimeColumn, then input order.
	KeyColumn string
	// Required lists groups of columns: import needs at least one column
	// of every group mapped.
	Required [][]string

	fields []field[T]
	key    func(*T) string
	time   func(*T) int64
	// finish completes a parsed row (defaults, derived columns).
	finish func(r *T, mapped []bool, rules *lineRules) error
}

// Key returns the row's primary sort key.
func (t *Table[T]) Key(r *T) string { return t.key(r) }

// Time returns the row's partitioning instant in microseconds since the
// epoch, or 0 for an unpartitioned table.
func (t *Table[T]) Time(r *T) int64 {
	if t.time == nil {
		return 0
	}
	return t.time(r)
}

// Partitioned reports whether the table is split into month partitions.
func (t *Table[T]) Partitioned() bool { return t.time != nil }

// Columns returns the table's schema in storage order.
func (t *Table[T]) Columns() []Column {
	cols := make([]Column, len(t.fields))
	for i, f := range t.fields {
		cols[i] = Column{Name: f.name, Type: f.kind.typeName(), Nullable: f.nullable, Description: f.desc}
	}
	return cols
}

func (t *Table[T]) fieldIndex(name string) int {
	for i, f := range t.fields {
		if f.name == name {
			return i
		}
	}
	return -1
}

func (t *Table[T]) columnNames() []string {
	names := make([]string, len(t.fields))
	for i, f := range t.fields {
		names[i] = f.name
	}
	return names
}

// Micros converts an instant to the stored representation.
func Micros(t time.Time) int64 { return t.UnixMicro() }

// FromMicros converts a stored instant to a UTC time.Time.
func FromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// Order is one row of the orders table: one order line.
type Order struct {
	CustomerID string   `parquet:"customer_id,optional"`
	OrderID    string   `parquet:"order_id,optional"`
	Timestamp  int64    `parquet:"timestamp,timestamp(microsecond)"`
	ProductID  string   `parquet:"product_id,optional"`
	Quantity   float64  `parquet:"quantity,split"`
	UnitPrice  *float64 `parquet:"unit_price,optional"`
	Amount     *float64 `parquet:"amount,optional"`
	Warehouse  string   `parquet:"warehouse,optional,dict"`
	Channel    string   `parquet:"channel,optional,dict"`
	Category   string   `parquet:"category,optional,dict"`
	Promo      string   `parquet:"promo,optional,dict"`
	LineType   string   `parquet:"line_type,dict"`
}

// Value returns the line's money value: amount when recorded, else
// quantity x unit_price, else 0 (and false).
func (o *Order) Value() (float64, bool) {
	switch {
	case o.Amount != nil:
		return *o.Amount, true
	case o.UnitPrice != nil:
		return o.Quantity * *o.UnitPrice, true
	}
	return 0, false
}

// Customer is one row of the customers table: a customer's attributes.
type Customer struct {
	CustomerID string `parquet:"customer_id"`
	SignupAt   *int64 `parquet:"signup_at,optional,timestamp(microsecond)"`
	Warehouse  string `parquet:"warehouse,optional,dict"`
	Channel    string `parquet:"channel,optional,dict"`
	Segment    string `parquet:"segment,optional,dict"`
	Region     string `parquet:"region,optional,dict"`
	BirthYear  *int64 `parquet:"birth_year,optional"`
}

// Product is one row of the products table: the catalogue.
type Product struct {
	ProductID    string   `parquet:"product_id"`
	Name         string   `parquet:"name,optional"`
	Category     string   `parquet:"category,optional,dict"`
	CategoryPath string   `parquet:"category_path,optional,dict"`
	Brand        string   `parquet:"brand,optional,dict"`
	Price        *float64 `parquet:"price,optional"`
	PackSize     *float64 `parquet:"pack_size,optional"`
}

// Event is one row of the events table: a web or app interaction.
type Event struct {
	CustomerID string `parquet:"customer_id,optional"`
	SessionID  string `parquet:"session_id,optional"`
	Timestamp  int64  `parquet:"timestamp,timestamp(microsecond)"`
	EventType  string `parquet:"event_type,dict"`
	ProductID  string `parquet:"product_id,optional"`
	Category   string `parquet:"category,optional,dict"`
	Query      string `parquet:"query,optional"`
	Channel    string `parquet:"channel,optional,dict"`
}

// StockLevel is one row of the stock table: units on hand at an instant.
type StockLevel struct {
	ProductID string  `parquet:"product_id"`
	Warehouse string  `parquet:"warehouse,optional,dict"`
	AsOf      int64   `parquet:"as_of,timestamp(microsecond)"`
	OnHand    float64 `parquet:"on_hand"`
}

// Promotion is one row of the promotions table: a planned price action.
type Promotion struct {
	PromoID     string   `parquet:"promo_id,optional"`
	ProductID   string   `parquet:"product_id,optional"`
	Category    string   `parquet:"category,optional,dict"`
	Warehouse   string   `parquet:"warehouse,optional,dict"`
	Start       int64    `parquet:"start,timestamp(microsecond)"`
	End         *int64   `parquet:"end,optional,timestamp(microsecond)"`
	AnnouncedAt *int64   `parquet:"announced_at,optional,timestamp(microsecond)"`
	Discount    *float64 `parquet:"discount,optional"`
}

// LoyaltyEntry is one row of the loyalty table: a change of points.
type LoyaltyEntry struct {
	CustomerID string  `parquet:"customer_id"`
	Timestamp  int64   `parquet:"timestamp,timestamp(microsecond)"`
	Points     float64 `parquet:"points"`
	Reason     string  `parquet:"reason,optional,dict"`
	OrderID    string  `parquet:"order_id,optional"`
}

// Consent is one row of the consent table: an opt-in or opt-out.
type Consent struct {
	CustomerID string `parquet:"customer_id"`
	Channel    string `parquet:"channel,dict"`
	OptedIn    bool   `parquet:"opted_in"`
	Timestamp  int64  `parquet:"timestamp,timestamp(microsecond)"`
}

func sField[T any](name, desc string, k kind, nullable bool, p func(*T) *string) field[T] {
	return field[T]{name: name, desc: desc, kind: k, nullable: nullable, str: p}
}

// Orders is the orders table: one row per order line.
var Orders = &Table[Order]{
	Name:       "orders",
	TimeColumn: "timestamp",
	KeyColumn:  "customer_id",
	Required:   [][]string{{"timestamp"}, {"quantity", "unit_price", "amount"}},
	fields: []field[Order]{
		sField("customer_id", "customer identifier, verbatim; null for anonymous lines", kID, true, func(o *Order) *string { return &o.CustomerID }),
		sField("order_id", "order (invoice) identifier; when null, a customer's lines with one timestamp form one order", kID, true, func(o *Order) *string { return &o.OrderID }),
		{name: "timestamp", desc: "when the line was ordered (UTC instant)", kind: kTime, i64: func(o *Order) *int64 { return &o.Timestamp }},
		sField("product_id", "product (SKU) identifier, verbatim", kID, true, func(o *Order) *string { return &o.ProductID }),
		{name: "quantity", desc: "units (or weight, or money for value series); negative for returns; 1 when not mapped", kind: kFloat, f64: func(o *Order) *float64 { return &o.Quantity }},
		{name: "unit_price", desc: "price of one unit in the dataset's currency", kind: kOptFloat, nullable: true, pf64: func(o *Order) **float64 { return &o.UnitPrice }},
		{name: "amount", desc: "money value of the whole line, when the source records it instead of (or besides) a unit price", kind: kOptFloat, nullable: true, pf64: func(o *Order) **float64 { return &o.Amount }},
		sField("warehouse", "location that served the line: warehouse, store or country", kID, true, func(o *Order) *string { return &o.Warehouse }),
		sField("channel", "sales channel (web, app, store, ...)", kString, true, func(o *Order) *string { return &o.Channel }),
		sField("category", "product category at the time of the line", kString, true, func(o *Order) *string { return &o.Category }),
		sField("promo", "promotion the line was sold under", kString, true, func(o *Order) *string { return &o.Promo }),
		sField("line_type", "derived: sale, return, fee or adjustment", kString, false, func(o *Order) *string { return &o.LineType }),
	},
	key:    func(o *Order) string { return o.CustomerID },
	time:   func(o *Order) int64 { return o.Timestamp },
	finish: finishOrder,
}

// Customers is the customers table: attributes per customer.
var Customers = &Table[Customer]{
	Name:      "customers",
	KeyColumn: "customer_id",
	Required:  [][]string{{"customer_id"}},
	fields: []field[Customer]{
		sField("customer_id", "customer identifier, verbatim", kID, false, func(c *Customer) *string { return &c.CustomerID }),
		{name: "signup_at", desc: "when the customer signed up (UTC instant)", kind: kOptTime, nullable: true, pi64: func(c *Customer) **int64 { return &c.SignupAt }},
		sField("warehouse", "home location: warehouse, store or country", kID, true, func(c *Customer) *string { return &c.Warehouse }),
		sField("channel", "acquisition channel", kString, true, func(c *Customer) *string { return &c.Channel }),
		sField("segment", "customer segment", kString, true, func(c *Customer) *string { return &c.Segment }),
		sField("region", "region or country", kString, true, func(c *Customer) *string { return &c.Region }),
		{name: "birth_year", desc: "year of birth", kind: kOptInt, nullable: true, pi64: func(c *Customer) **int64 { return &c.BirthYear }},
	},
	key: func(c *Customer) string { return c.CustomerID },
}

// Products is the products table: the catalogue.
var Products = &Table[Product]{
	Name:      "products",
	KeyColumn: "product_id",
	Required:  [][]string{{"product_id"}},
	fields: []field[Product]{
		sField("product_id", "product (SKU) identifier, verbatim", kID, false, func(p *Product) *string { return &p.ProductID }),
		sField("name", "product name", kString, true, func(p *Product) *string { return &p.Name }),
		sField("category", "leaf category", kString, true, func(p *Product) *string { return &p.Category }),
		sField("category_path", "category hierarchy from the root, levels separated by '/' (food/baby/purees)", kString, true, func(p *Product) *string { return &p.CategoryPath }),
		sField("brand", "brand", kString, true, func(p *Product) *string { return &p.Brand }),
		{name: "price", desc: "list price of one unit", kind: kOptFloat, nullable: true, pf64: func(p *Product) **float64 { return &p.Price }},
		{name: "pack_size", desc: "units per pack", kind: kOptFloat, nullable: true, pf64: func(p *Product) **float64 { return &p.PackSize }},
	},
	key: func(p *Product) string { return p.ProductID },
}

// Events is the events table: web and app interactions.
var Events = &Table[Event]{
	Name:       "events",
	TimeColumn: "timestamp",
	KeyColumn:  "customer_id",
	Required:   [][]string{{"timestamp"}, {"event_type"}},
	fields: []field[Event]{
		sField("customer_id", "customer identifier; null for anonymous sessions", kID, true, func(e *Event) *string { return &e.CustomerID }),
		sField("session_id", "session identifier", kID, true, func(e *Event) *string { return &e.SessionID }),
		{name: "timestamp", desc: "when the event happened (UTC instant)", kind: kTime, i64: func(e *Event) *int64 { return &e.Timestamp }},
		sField("event_type", "view, cart_add, cart_remove, search, ...", kString, false, func(e *Event) *string { return &e.EventType }),
		sField("product_id", "product concerned", kID, true, func(e *Event) *string { return &e.ProductID }),
		sField("category", "category concerned", kString, true, func(e *Event) *string { return &e.Category }),
		sField("query", "search text", kString, true, func(e *Event) *string { return &e.Query }),
		sField("channel", "web or app", kString, true, func(e *Event) *string { return &e.Channel }),
	},
	key:  func(e *Event) string { return e.CustomerID },
	time: func(e *Event) int64 { return e.Timestamp },
}

// Stock is the stock table: units on hand per product and warehouse.
var Stock = &Table[StockLevel]{
	Name:       "stock",
	TimeColumn: "as_of",
	KeyColumn:  "product_id",
	Required:   [][]string{{"product_id"}, {"as_of"}, {"on_hand"}},
	fields: []field[StockLevel]{
		sField("product_id", "product identifier", kID, false, func(s *StockLevel) *string { return &s.ProductID }),
		sField("warehouse", "location", kID, true, func(s *StockLevel) *string { return &s.Warehouse }),
		{name: "as_of", desc: "instant of the count (UTC)", kind: kTime, i64: func(s *StockLevel) *int64 { return &s.AsOf }},
		{name: "on_hand", desc: "units on hand", kind: kFloat, f64: func(s *StockLevel) *float64 { return &s.OnHand }},
	},
	key:  func(s *StockLevel) string { return s.ProductID },
	time: func(s *StockLevel) int64 { return s.AsOf },
}

// Promotions is the promotions table: planned price actions.
var Promotions = &Table[Promotion]{
	Name:       "promotions",
	TimeColumn: "start",
	KeyColumn:  "product_id",
	Required:   [][]string{{"start"}},
	fields: []field[Promotion]{
		sField("promo_id", "promotion identifier", kID, true, func(p *Promotion) *string { return &p.PromoID }),
		sField("product_id", "product on promotion (null: the whole category or store)", kID, true, func(p *Promotion) *string { return &p.ProductID }),
		sField("category", "category on promotion", kString, true, func(p *Promotion) *string { return &p.Category }),
		sField("warehouse", "location (null: everywhere)", kID, true, func(p *Promotion) *string { return &p.Warehouse }),
		{name: "start", desc: "first instant of the promotion (inclusive)", kind: kTime, i64: func(p *Promotion) *int64 { return &p.Start }},
		{name: "end", desc: "end of the promotion (exclusive)", kind: kOptTime, nullable: true, pi64: func(p *Promotion) **int64 { return &p.End }},
		{name: "announced_at", desc: "when the promotion became known; features as of a cutoff see only promotions announced before it", kind: kOptTime, nullable: true, pi64: func(p *Promotion) **int64 { return &p.AnnouncedAt }},
		{name: "discount", desc: "price reduction as a fraction (0.2 = 20% off)", kind: kOptFloat, nullable: true, pf64: func(p *Promotion) **float64 { return &p.Discount }},
	},
	key:  func(p *Promotion) string { return p.ProductID },
	time: func(p *Promotion) int64 { return p.Start },
}

// Loyalty is the loyalty table: a ledger of point changes (never a balance).
var Loyalty = &Table[LoyaltyEntry]{
	Name:       "loyalty",
	TimeColumn: "timestamp",
	KeyColumn:  "customer_id",
	Required:   [][]string{{"customer_id"}, {"timestamp"}, {"points"}},
	fields: []field[LoyaltyEntry]{
		sField("customer_id", "customer identifier", kID, false, func(l *LoyaltyEntry) *string { return &l.CustomerID }),
		{name: "timestamp", desc: "when the points changed (UTC instant)", kind: kTime, i64: func(l *LoyaltyEntry) *int64 { return &l.Timestamp }},
		{name: "points", desc: "change of points: positive earned, negative spent or expired", kind: kFloat, f64: func(l *LoyaltyEntry) *float64 { return &l.Points }},
		sField("reason", "earn, redeem, expire, adjust, ...", kString, true, func(l *LoyaltyEntry) *string { return &l.Reason }),
		sField("order_id", "order that earned or spent the points", kID, true, func(l *LoyaltyEntry) *string { return &l.OrderID }),
	},
	key:  func(l *LoyaltyEntry) string { return l.CustomerID },
	time: func(l *LoyaltyEntry) int64 { return l.Timestamp },
}

// ConsentTable is the consent table: opt-ins and opt-outs per channel.
var ConsentTable = &Table[Consent]{
	Name:       "consent",
	TimeColumn: "timestamp",
	KeyColumn:  "customer_id",
	Required:   [][]string{{"customer_id"}, {"channel"}, {"opted_in"}, {"timestamp"}},
	fields: []field[Consent]{
		sField("customer_id", "customer identifier", kID, false, func(c *Consent) *string { return &c.CustomerID }),
		sField("channel", "email, sms, push, ... (all: every channel)", kString, false, func(c *Consent) *string { return &c.Channel }),
		{name: "opted_in", desc: "true for an opt-in, false for an opt-out", kind: kBool, b: func(c *Consent) *bool { return &c.OptedIn }},
		{name: "timestamp", desc: "when the customer gave or withdrew consent (UTC instant)", kind: kTime, i64: func(c *Consent) *int64 { return &c.Timestamp }},
	},
	key:  func(c *Consent) string { return c.CustomerID },
	time: func(c *Consent) int64 { return c.Timestamp },
}

// TableDesc is a canonical table seen without its row type: what code
// that picks a table by its name (import's Table option, describe,
// validate) needs. It is the one place that maps a table name to its
// typed Table: Tables returns the descriptors, LookupTable finds one.
type TableDesc struct {
	// Name, TimeColumn and KeyColumn are the table's (see Table).
	Name, TimeColumn, KeyColumn string

	columns func() []Column
	// importFn imports sources into the table (Import).
	importFn func(ctx context.Context, st Store, sources []SourceFile, opts ImportOptions) (*ImportResult, error)
	// checkPart checks a part's sort order and months (Validate).
	checkPart func(ctx context.Context, st Store, p Part) error
}

// Columns returns the table's schema in storage order.
func (d *TableDesc) Columns() []Column { return d.columns() }

// describeTable makes the descriptor of a typed table.
func describeTable[T any](t *Table[T]) *TableDesc {
	return &TableDesc{
		Name: t.Name, TimeColumn: t.TimeColumn, KeyColumn: t.KeyColumn,
		columns: t.Columns,
		importFn: func(ctx context.Context, st Store, sources []SourceFile, opts ImportOptions) (*ImportResult, error) {
			return importTable(ctx, st, t, sources, opts)
		},
		checkPart: func(ctx context.Context, st Store, p Part) error { return checkOrder(ctx, st, t, p) },
	}
}

// Tables returns the descriptors of the canonical tables, in
// documentation order (TableNames).
func Tables() []*TableDesc {
	return []*TableDesc{
		describeTable(Orders), describeTable(Customers), describeTable(Products), describeTable(Events),
		describeTable(Stock), describeTable(Promotions), describeTable(Loyalty), describeTable(ConsentTable),
	}
}

// TableNames lists the canonical tables' names in documentation order,
// the order of Tables.
var TableNames = []string{"orders", "customers", "products", "events", "stock", "promotions", "loyalty", "consent"}

// LookupTable returns the descriptor of the named table.
func LookupTable(name string) (*TableDesc, error) {
	for _, d := range Tables() {
		if d.Name == name {
			return d, nil
		}
	}
	return nil, fmt.Errorf("unknown table %q (tables: %s)", name, strings.Join(TableNames, ", "))
}

// TableSchema returns the columns of the named table.
func TableSchema(name string) ([]Column, error) {
	d, err := LookupTable(name)
	if err != nil {
		return nil, err
	}
	return d.Columns(), nil
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
