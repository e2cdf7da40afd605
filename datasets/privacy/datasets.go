package privacy

import (
	"bufio"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/prevoir/prevoir/datasets"
)

// DatasetsRewriter returns the rewriter of the "datasets" layer: it removes
// the customers' rows from every customer-keyed table (orders, customers,
// events, loyalty, consent) and every customer file (datasets.CustomerFiles:
// the generator's latent truth) of every dataset in st. Per table, each part
// holding one of them is rewritten without their rows (or dropped if
// nothing is left), the table's next manifest is committed in one write,
// the replaced parts are deleted, and kept manifests listing them mark them
// "redacted_by_forget". at is recorded as the manifest's time.
func DatasetsRewriter(st datasets.Store, at time.Time) Rewriter {
	return RewriterFunc{Name: "datasets",
		Func: func(ctx context.Context, ids IDs) ([]Rewrite, error) {
			return forgetDatasets(ctx, st, ids, at)
		},
		FindFunc: func(ctx context.Context, ids IDs) ([]string, error) {
			return findDatasets(ctx, st, ids)
		}}
}

// customerTable is what forget and show do with one customer-keyed table.
type customerTable struct {
	forget func(ctx context.Context, st datasets.Store, ds string, ids IDs, at time.Time) (*Rewrite, error)
	rows   func(ctx context.Context, st datasets.Store, ds string, ids IDs, fn func(key string, row map[string]any) error) error
}

func customerTableOf[T any](t *datasets.Table[T]) customerTable {
	return customerTable{
		forget: func(ctx context.Context, st datasets.Store, ds string, ids IDs, at time.Time) (*Rewrite, error) {
			return forgetTable(ctx, st, ds, t, ids, at)
		},
		rows: func(ctx context.Context, st datasets.Store, ds string, ids IDs, fn func(key string, row map[string]any) error) error {
			return subjectRows(ctx, st, ds, t, ids, fn)
		},
	}
}

// customerTables are the canonical tables keyed by customer, by name: the
// one list forget and show walk (the others are keyed by product).
var customerTables = map[string]customerTable{
	datasets.Orders.Name:       customerTableOf(datasets.Orders),
	datasets.Customers.Name:    customerTableOf(datasets.Customers),
	datasets.Events.Name:       customerTableOf(datasets.Events),
	datasets.Loyalty.Name:      customerTableOf(datasets.Loyalty),
	datasets.ConsentTable.Name: customerTableOf(datasets.ConsentTable),
}

// findDatasets returns the parts of customer-keyed tables and the
// customer files holding a row of ids.
func findDatasets(ctx context.Context, st datasets.Store, ids IDs) ([]string, error) {
	var keys []string
	err := eachSubjectRow(ctx, st, ids, func(ds, table, key string, _ map[string]any) error {
		if len(keys) == 0 || keys[len(keys)-1] != key {
			keys = append(keys, key)
		}
		return nil
	})
	return keys, err
}

func forgetDatasets(ctx context.Context, st datasets.Store, ids IDs, at time.Time) ([]Rewrite, error) {
	names, err := datasets.ListDatasets(ctx, st)
	if err != nil {
		return nil, err
	}
	var out []Rewrite
	for _, ds := range names {
		tables, err := datasets.ListTables(ctx, st, ds)
		if err != nil {
			return out, err
		}
		for _, t := range tables {
			ct, ok := customerTables[t]
			if !ok {
				continue // products, promotions, stock: keyed by product
			}
			rw, err := ct.forget(ctx, st, ds, ids, at)
			if rw != nil {
				out = append(out, *rw)
			}
			if err != nil {
				return out, fmt.Errorf("%s/%s: %w", ds, t, err)
			}
		}
		files, err := datasets.CustomerFiles(ctx, st, ds)
		if err != nil {
			return out, err
		}
		for _, key := range files {
			rw, err := forgetCustomerFile(ctx, st, key, ids)
			if err != nil {
				return out, err
			}
			if rw != nil {
				out = append(out, *rw)
			}
		}
	}
	return out, nil
}

// forgetCustomerFile rewrites the customer file at key without the lines
// of ids (one Put replacing the object), if it holds any.
func forgetCustomerFile(ctx context.Context, st datasets.Store, key string, ids IDs) (*Rewrite, error) {
	var n int64
	count := func(id string, _ []byte) error {
		if ids.Has(id) {
			n++
		}
		return nil
	}
	if err := datasets.ReadCustomerFile(ctx, st, key, count); err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, nil
	}
	pr, pw := io.Pipe()
	go func() {
		zw, _ := gzip.NewWriterLevel(pw, gzip.BestSpeed)
		bw := bufio.NewWriterSize(zw, 1<<20)
		err := datasets.ReadCustomerFile(ctx, st, key, func(id string, line []byte) error {
			if ids.Has(id) {
				return nil
			}
			bw.Write(line)
			return bw.WriteByte('\n')
		})
		if err == nil {
			err = bw.Flush()
		}
		if err == nil {
			err = zw.Close()
		}
		pw.CloseWithError(err)
	}()
	if _, err := st.Put(ctx, key, pr, -1, datasets.PutOptions{ContentType: "application/gzip"}); err != nil {
		pr.CloseWithError(err)
		return nil, fmt.Errorf("rewrite %s: %w", key, err)
	}
	return &Rewrite{Layer: "datasets", Object: key, Written: []string{key}, Rows: n}, nil
}

// forgetTable rewrites one table without the customers' rows. It retries
// when another writer commits the table meanwhile.
func forgetTable[T any](ctx context.Context, st datasets.Store, ds string, t *datasets.Table[T], ids IDs, at time.Time) (*Rewrite, error) {
	for try := 0; ; try++ {
		rw, err := forgetTableOnce(ctx, st, ds, t, ids, at)
		if errors.Is(err, datasets.ErrConflict) && try < 5 {
			continue
		}
		return rw, err
	}
}

func forgetTableOnce[T any](ctx context.Context, st datasets.Store, ds string, t *datasets.Table[T], ids IDs, at time.Time) (*Rewrite, error) {
	m, err := datasets.ReadManifest(ctx, st, ds, t.Name)
	if err != nil {
		return nil, err
	}
	var w *datasets.Writer[T]
	drop := map[string]bool{}
	var removed int64
	for _, p := range m.Parts {
		may, err := mayHold(ctx, st, p.Key, t.KeyColumn, ids)
		if err != nil {
			return nil, err
		}
		if !may {
			continue
		}
		rows, err := datasets.ReadPart(ctx, st, t, p.Key)
		if err != nil {
			return nil, err
		}
		kept := rows[:0]
		for i := range rows {
			if !ids.Has(t.Key(&rows[i])) {
				kept = append(kept, rows[i])
			}
		}
		if len(kept) == len(rows) {
			continue
		}
		removed += int64(len(rows) - len(kept))
		drop[p.Key] = true
		if len(kept) == 0 {
			continue
		}
		if w == nil {
			w, err = datasets.NewWriter(st, t, datasets.WriterOptions{Dataset: ds, Run: "forget-" + datasets.NewRunID()})
			if err != nil {
				return nil, err
			}
		}
		// One new part per rewritten part: flush after each.
		if err := w.Write(ctx, kept); err != nil {
			w.Abort(ctx)
			return nil, err
		}
		if err := w.Flush(ctx); err != nil {
			w.Abort(ctx)
			return nil, err
		}
	}
	if len(drop) == 0 {
		return nil, nil
	}
	if w == nil {
		// Every affected part is dropped whole: commit with an empty writer.
		w, err = datasets.NewWriter(st, t, datasets.WriterOptions{Dataset: ds, Run: "forget-" + datasets.NewRunID()})
		if err != nil {
			return nil, err
		}
	}
	nm, err := w.Commit(ctx, datasets.CommitOptions{Base: m, Drop: drop, Operation: "forget",
		TZ: m.TZ, Currency: m.Currency, Columns: m.Columns, LineTypes: m.LineTypes, Now: at})
	if err != nil {
		return nil, err
	}
	rw := &Rewrite{Layer: "datasets", Object: datasets.ManifestKey(ds, t.Name), Rows: removed}
	for _, p := range w.Parts() {
		rw.Written = append(rw.Written, p.Key)
	}
	rw.Written = append(rw.Written, datasets.ManifestKey(ds, t.Name), datasets.HistoryKey(ds, t.Name, nm.Seq))
	for k := range drop {
		if err := st.Delete(ctx, k); err != nil {
			return rw, err
		}
		rw.Deleted = append(rw.Deleted, k)
	}
	sortStrings(rw.Deleted)
	marked, err := datasets.MarkRedacted(ctx, st, ds, t.Name, drop)
	rw.Written = append(rw.Written, marked...)
	return rw, err
}

// mayHold reports whether the part at key may hold a row whose column
// col is one of ids, from the column's statistics per row group (false
// only when every row group's bounds exclude every id).
func mayHold(ctx context.Context, st datasets.Store, key, col string, ids IDs) (bool, error) {
	o, err := st.Open(ctx, key)
	if err != nil {
		return false, err
	}
	defer o.Close()
	may := false
	err = datasets.Guard("open part "+key, func() error {
		f, err := parquet.OpenFile(o, o.Size(), parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
		if err != nil {
			return fmt.Errorf("open part %s: %w", key, err)
		}
		leaf, ok := f.Schema().Lookup(col)
		if !ok {
			return nil
		}
		for _, rg := range f.RowGroups() {
			cc := rg.ColumnChunks()[leaf.ColumnIndex]
			fc, ok := cc.(*parquet.FileColumnChunk)
			if !ok {
				may = true
				return nil
			}
			lo, hi, ok := fc.Bounds()
			if !ok {
				may = true
				return nil
			}
			l, h := string(lo.ByteArray()), string(hi.ByteArray())
			for id := range ids {
				if id >= l && id <= h {
					may = true
					return nil
				}
			}
		}
		return nil
	})
	return may, err
}
