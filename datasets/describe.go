package datasets

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/parquet-go/parquet-go"
)

// Description holds facts derived from a dataset's rows only: no paths,
// import times, run ids or manifest versions, so the same rows give the
// same Description (and the same JSON bytes) however they were imported.
type Description struct {
	// Lines is the number of order lines; Customers the distinct non-empty
	// customer_id; Orders the distinct orders (order_id per customer, or
	// customer and timestamp where order_id is empty).
	Lines      int64 `json:"lines"`
	Customers  int64 `json:"customers"`
	Orders     int64 `json:"orders"`
	Products   int64 `json:"products"`
	Warehouses int64 `json:"warehouses"`
	// LineTypes counts lines per line type (every type present, even 0).
	LineTypes map[string]int64 `json:"line_types"`
	// Value is the money per line type: amount, or quantity x unit_price,
	// summed exactly in millionths and rounded to them.
	Value map[string]float64 `json:"value"`
	// Quantity is the sum of quantity per line type.
	Quantity map[string]float64 `json:"quantity"`
	// First and Last are the earliest and latest line times (UTC, RFC 3339).
	First string `json:"first,omitempty"`
	Last  string `json:"last,omitempty"`
	// ReturnsShare is return lines over sale and return lines;
	// AnonymousShare lines without a customer over all lines.
	ReturnsShare   float64 `json:"returns_share"`
	AnonymousShare float64 `json:"anonymous_share"`
	// TopProducts are the 10 products with the most sale lines.
	TopProducts []ProductCount `json:"top_products"`
	// Tables counts the rows of every table present.
	Tables map[string]int64 `json:"tables"`
}

// ProductCount is a product's sale lines and units.
type ProductCount struct {
	ProductID string  `json:"product_id"`
	Lines     int64   `json:"lines"`
	Quantity  float64 `json:"quantity"`
}

// Describe reads every order part of a dataset and summarises the rows.
// Memory grows with customers, products and orders, not with lines.
func Describe(ctx context.Context, st Store, dataset string) (*Description, error) {
	tables, err := ListTables(ctx, st, dataset)
	if err != nil {
		return nil, err
	}
	if len(tables) == 0 {
		return nil, fmt.Errorf("describe %s: %w", dataset, ErrNoDataset)
	}
	d := &Description{
		LineTypes: map[string]int64{}, Value: map[string]float64{}, Quantity: map[string]float64{},
		Tables: map[string]int64{}, TopProducts: []ProductCount{},
	}
	for _, lt := range LineTypes {
		d.LineTypes[lt] = 0
	}
	for _, t := range tables {
		m, err := ReadManifest(ctx, st, dataset, t)
		if err != nil {
			return nil, err
		}
		d.Tables[t] = m.Rows
	}
	m, err := ReadManifest(ctx, st, dataset, "orders")
	if errors.Is(err, fs.ErrNotExist) {
		return d, nil
	}
	if err != nil {
		return nil, err
	}
	customers := map[string]struct{}{}
	products := map[string]*ProductCount{}
	warehouses := map[string]struct{}{}
	orders := map[[2]string]struct{}{}
	value := map[string]int64{}
	qty := map[string]int64{}
	first, last := int64(math.MaxInt64), int64(math.MinInt64)
	var anon int64
	buf := make([]Order, 4096)
	for _, p := range m.Parts {
		r, err := OpenPart(ctx, st, Orders, p.Key)
		if err != nil {
			return nil, err
		}
		for {
			n, err := r.Read(buf)
			for i := range buf[:n] {
				o := &buf[i]
				d.Lines++
				d.LineTypes[o.LineType]++
				if o.CustomerID == "" {
					anon++
				} else if _, ok := customers[o.CustomerID]; !ok {
					customers[o.CustomerID] = struct{}{}
				}
				if o.Warehouse != "" {
					if _, ok := warehouses[o.Warehouse]; !ok {
						warehouses[o.Warehouse] = struct{}{}
					}
				}
				ok := o.OrderID
				if ok == "" {
					ok = "\x00" + FromMicros(o.Timestamp).Format(time.RFC3339Nano)
				}
				k := [2]string{o.CustomerID, ok}
				if _, seen := orders[k]; !seen {
					orders[k] = struct{}{}
				}
				if o.ProductID != "" {
					pc := products[o.ProductID]
					if pc == nil {
						pc = &ProductCount{ProductID: o.ProductID}
						products[o.ProductID] = pc
					}
					if o.LineType == LineSale {
						pc.Lines++
						pc.Quantity += o.Quantity
					}
				}
				if v, has := o.Value(); has {
					value[o.LineType] += micro(v)
				}
				qty[o.LineType] += micro(o.Quantity)
				first, last = min(first, o.Timestamp), max(last, o.Timestamp)
			}
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				r.Close()
				return nil, err
			}
		}
		r.Close()
	}
	d.Customers = int64(len(customers))
	d.Products = int64(len(products))
	d.Warehouses = int64(len(warehouses))
	d.Orders = int64(len(orders))
	for _, lt := range LineTypes {
		d.Value[lt] = float64(value[lt]) / 1e6
		d.Quantity[lt] = float64(qty[lt]) / 1e6
	}
	if d.Lines > 0 {
		d.First = FromMicros(first).Format(time.RFC3339Nano)
		d.Last = FromMicros(last).Format(time.RFC3339Nano)
		d.AnonymousShare = round6(float64(anon) / float64(d.Lines))
	}
	if sr := d.LineTypes[LineSale] + d.LineTypes[LineReturn]; sr > 0 {
		d.ReturnsShare = round6(float64(d.LineTypes[LineReturn]) / float64(sr))
	}
	all := make([]*ProductCount, 0, len(products))
	for _, pc := range products {
		if pc.Lines > 0 {
			all = append(all, pc)
		}
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].Lines != all[j].Lines {
			return all[i].Lines > all[j].Lines
		}
		return all[i].ProductID < all[j].ProductID
	})
	for _, pc := range all[:min(10, len(all))] {
		// Per-product sums depend on part order: round them to millionths.
		d.TopProducts = append(d.TopProducts, ProductCount{ProductID: pc.ProductID, Lines: pc.Lines, Quantity: round6(pc.Quantity)})
	}
	return d, nil
}

// micro rounds x to millionths as an integer: sums of them are exact and
// independent of the order rows are read in.
func micro(x float64) int64 { return int64(math.Round(x * 1e6)) }

func round6(x float64) float64 { return math.Round(x*1e6) / 1e6 }

// Validation is what Validate found for one table.
type Validation struct {
	Table    string   `json:"table"`
	Parts    int      `json:"parts"`
	Rows     int64    `json:"rows"`
	Problems []string `json:"problems"`
	// Orphans are the table's objects no committed manifest lists: parts
	// and kept copies of killed or losing runs, and temporaries. They are
	// not problems (readers never see them); `prevoir store gc` removes them.
	Orphans []string `json:"orphans"`
}

// Validate re-reads every part of every table of a dataset: each must
// exist, match its manifest's size and SHA-256, open as Parquet with the
// manifest's row count, hold only its month's times, and be sorted by
// (key, time). It returns one Validation per table, and an error if any
// has a problem.
func Validate(ctx context.Context, st Store, dataset string) ([]Validation, error) {
	tables, err := ListTables(ctx, st, dataset)
	if err != nil {
		return nil, err
	}
	if len(tables) == 0 {
		return nil, fmt.Errorf("validate %s: %w", dataset, ErrNoDataset)
	}
	orphans, err := tableOrphans(ctx, st, dataset)
	if err != nil {
		return nil, fmt.Errorf("validate %s: %w", dataset, err)
	}
	var out []Validation
	bad := 0
	for _, t := range tables {
		m, err := ReadManifest(ctx, st, dataset, t)
		if err != nil {
			return nil, err
		}
		v := Validation{Table: t, Parts: len(m.Parts), Problems: []string{}, Orphans: orphans[t]}
		if v.Orphans == nil {
			v.Orphans = []string{}
		}
		for _, p := range m.Parts {
			rows, probs := validatePart(ctx, st, m, p)
			v.Rows += rows
			v.Problems = append(v.Problems, probs...)
		}
		if v.Rows != m.Rows {
			v.Problems = append(v.Problems, fmt.Sprintf("manifest says %d rows, parts hold %d", m.Rows, v.Rows))
		}
		bad += len(v.Problems)
		out = append(out, v)
	}
	if bad > 0 {
		return out, fmt.Errorf("validate %s: %d problems", dataset, bad)
	}
	return out, nil
}

// tableOrphans returns the orphans of a dataset (OrphansOf, and
// temporaries) by table.
func tableOrphans(ctx context.Context, st Store, dataset string) (map[string][]string, error) {
	prefix := "datasets/" + dataset + "/"
	objs, err := st.List(ctx, prefix)
	if err != nil {
		return nil, err
	}
	orphans, err := OrphansOf(ctx, st, dataset, objs, nil)
	if err != nil {
		return nil, err
	}
	if sc, ok := st.(Scavenger); ok {
		temps, err := sc.Temporaries(ctx, prefix)
		if err != nil {
			return nil, err
		}
		orphans = append(orphans, temps...)
	}
	out := map[string][]string{}
	for _, o := range orphans {
		segs := strings.Split(o.Key, "/")
		if len(segs) > 3 {
			out[segs[2]] = append(out[segs[2]], o.Key)
		}
	}
	return out, nil
}

func validatePart(ctx context.Context, st Store, m *Manifest, p Part) (int64, []string) {
	var probs []string
	b, err := ReadAll(ctx, st, p.Key)
	if err != nil {
		return 0, []string{fmt.Sprintf("%s: %v", p.Key, err)}
	}
	sum := sha256.Sum256(b)
	if got := hex.EncodeToString(sum[:]); got != p.SHA256 {
		probs = append(probs, fmt.Sprintf("%s: SHA-256 %s, manifest says %s", p.Key, got, p.SHA256))
	}
	if int64(len(b)) != p.Bytes {
		probs = append(probs, fmt.Sprintf("%s: %d bytes, manifest says %d", p.Key, len(b), p.Bytes))
	}
	var f *parquet.File
	if err := Guard("open part", func() (err error) {
		f, err = parquet.OpenFile(bytes.NewReader(b), int64(len(b)))
		return err
	}); err != nil {
		return 0, append(probs, fmt.Sprintf("%s: not readable as Parquet: %v", p.Key, err))
	}
	rows := f.NumRows()
	if rows != p.Rows {
		probs = append(probs, fmt.Sprintf("%s: %d rows, manifest says %d", p.Key, rows, p.Rows))
	}
	// Order and months, through the table's own reader.
	var orderProb error
	if d, err := LookupTable(m.Table); err == nil {
		orderProb = d.checkPart(ctx, st, p)
	}
	if orderProb != nil {
		probs = append(probs, fmt.Sprintf("%s: %v", p.Key, orderProb))
	}
	return rows, probs
}

func checkOrder[T any](ctx context.Context, st Store, t *Table[T], p Part) error {
	r, err := OpenPart(ctx, st, t, p.Key)
	if err != nil {
		return err
	}
	defer r.Close()
	buf := make([]T, 4096)
	var prevKey string
	var prevTime int64
	row := int64(0)
	for {
		n, err := r.Read(buf)
		for i := range buf[:n] {
			x := &buf[i]
			k, ts := t.key(x), t.Time(x)
			if row > 0 && (k < prevKey || (k == prevKey && ts < prevTime)) {
				return fmt.Errorf("row %d is out of (%s, %s) order", row+1, t.KeyColumn, t.TimeColumn)
			}
			if p.Month != "" {
				if mo := FromMicros(ts).Format("2006-01"); mo != p.Month {
					return fmt.Errorf("row %d has time %s outside month %s", row+1, FromMicros(ts).Format(time.RFC3339), p.Month)
				}
			}
			prevKey, prevTime = k, ts
			row++
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// TableSummary is one table of a dataset as its manifest records it.
type TableSummary struct {
	Table    string     `json:"table"`
	Rows     int64      `json:"rows"`
	Parts    int        `json:"parts"`
	Bytes    int64      `json:"bytes"`
	Sources  int        `json:"sources"`
	Seq      int        `json:"seq"`
	TZ       string     `json:"tz"`
	Currency string     `json:"currency"`
	Range    *TimeRange `json:"time_range,omitempty"`
	Updated  time.Time  `json:"updated"`
}

// DatasetSummary is one dataset: its tables.
type DatasetSummary struct {
	Name   string         `json:"name"`
	Tables []TableSummary `json:"tables"`
}

// Summaries lists every dataset in the store with its tables, from the
// manifests alone.
func Summaries(ctx context.Context, st Store) ([]DatasetSummary, error) {
	names, err := ListDatasets(ctx, st)
	if err != nil {
		return nil, err
	}
	out := []DatasetSummary{}
	for _, n := range names {
		ds := DatasetSummary{Name: n, Tables: []TableSummary{}}
		tables, err := ListTables(ctx, st, n)
		if err != nil {
			return nil, err
		}
		for _, t := range tables {
			m, err := ReadManifest(ctx, st, n, t)
			if err != nil {
				return nil, err
			}
			ts := TableSummary{Table: t, Rows: m.Rows, Parts: len(m.Parts), Sources: len(m.Sources), Seq: m.Seq, TZ: m.TZ, Currency: m.Currency, Range: m.TimeRange, Updated: m.CreatedAt}
			for _, p := range m.Parts {
				ts.Bytes += p.Bytes
			}
			ds.Tables = append(ds.Tables, ts)
		}
		out = append(out, ds)
	}
	return out, nil
}

// MonthOf returns the partition month (YYYY-MM, UTC) of a stored instant.
func MonthOf(us int64) string {
	y, m, _ := civilFromDays(floorDiv(us, 86_400_000_000))
	return fmt.Sprintf("%04d-%02d", y, m)
}
