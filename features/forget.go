package features

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/datasets/privacy"
)

// Forgetter is the privacy.Rewriter of feature tables: it removes the
// rows of forgotten customers from every committed feature table (parts
// rewritten first, then the manifest), and drops uncommitted shard parts
// that hold them.
type Forgetter struct {
	Store datasets.Store
}

// Layer returns "features".
func (f Forgetter) Layer() string { return "features" }

// tables calls fn with the key and manifest of every feature table and
// uncommitted shard receipt.
func (f Forgetter) tables(ctx context.Context, fn func(key string, m *Manifest) error) error {
	objs, err := f.Store.List(ctx, "features/")
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	for _, o := range objs {
		segs := strings.Split(o.Key, "/")
		isManifest := len(segs) == 6 && segs[5] == "_manifest.json"
		isReceipt := len(segs) == 8 && segs[5] == "_shards"
		if !isManifest && !isReceipt {
			continue
		}
		m, err := readManifestKey(ctx, f.Store, o.Key)
		if err != nil {
			return err
		}
		if err := fn(o.Key, m); err != nil {
			return err
		}
	}
	return nil
}

// Find returns the parts of feature tables holding a row of one of ids.
func (f Forgetter) Find(ctx context.Context, ids privacy.IDs) ([]string, error) {
	var keys []string
	err := f.tables(ctx, func(_ string, m *Manifest) error {
		idCol := customerColumn(m)
		if idCol < 0 {
			return nil
		}
		for _, p := range m.Parts {
			found := false
			err := readPartRows(ctx, f.Store, m.Schema, p.Key, func(row []any) error {
				if id, _ := row[idCol].(string); !found && ids.Has(id) {
					found = true
					keys = append(keys, p.Key)
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	return keys, err
}

func customerColumn(m *Manifest) int {
	for i, c := range m.Schema {
		if c.Name == "customer_id" {
			return i
		}
	}
	return -1
}

// Forget rewrites every feature table holding one of ids. A table without
// any of them is left as it is, so running it again changes nothing.
func (f Forgetter) Forget(ctx context.Context, ids privacy.IDs) ([]privacy.Rewrite, error) {
	var out []privacy.Rewrite
	err := f.tables(ctx, func(key string, m *Manifest) error {
		rw, err := forgetTable(ctx, f.Store, key, m, ids)
		if rw != nil {
			out = append(out, *rw)
		}
		return err
	})
	return out, err
}

func forgetTable(ctx context.Context, st datasets.Store, key string, m *Manifest, ids privacy.IDs) (*privacy.Rewrite, error) {
	idCol := customerColumn(m)
	if idCol < 0 {
		return nil, nil
	}
	rw := &privacy.Rewrite{Layer: "features", Object: key}
	run := datasets.NewRunID()
	newParts := make([]PartInfo, 0, len(m.Parts))
	var written, old []string
	for n, p := range m.Parts {
		var rows []outRow
		removed := int64(0)
		var pos, neg int64
		err := readPartRows(ctx, st, m.Schema, p.Key, func(row []any) error {
			id, _ := row[idCol].(string)
			if ids.Has(id) {
				removed++
				for i, c := range m.Schema {
					if c.Role == "label" {
						if v, _ := row[i].(int64); v == 1 {
							pos++
						} else {
							neg++
						}
					}
				}
				return nil
			}
			rows = append(rows, rowFromAny(m.Schema, row))
			return nil
		})
		if err != nil {
			return nil, err
		}
		if removed == 0 {
			newParts = append(newParts, p)
			continue
		}
		b, err := encodePart(m.Schema, rows)
		if err != nil {
			return nil, err
		}
		nk := fmt.Sprintf("%spart-%s-forget-%05d.parquet", strings.TrimSuffix(key, keyTail(key)), run, n)
		pi, err := putPart(ctx, st, nk, b, int64(len(rows)), p.Shard)
		if err != nil {
			deleteKeys(ctx, st, written)
			return nil, err
		}
		written = append(written, nk)
		old = append(old, p.Key)
		newParts = append(newParts, pi)
		rw.Rows += removed
		m.Rows -= removed
		if m.Balance != nil {
			m.Balance.Positives -= pos
			m.Balance.Negatives -= neg
			if t := m.Balance.Positives + m.Balance.Negatives; t > 0 {
				m.Balance.Rate = float64(m.Balance.Positives) / float64(t)
			} else {
				m.Balance.Rate = 0
			}
		}
	}
	if rw.Rows == 0 {
		return nil, nil
	}
	m.Parts = newParts
	if _, err := datasets.PutBytes(ctx, st, key, encodeJSON(m), datasets.PutOptions{ContentType: "application/json"}); err != nil {
		deleteKeys(ctx, st, written)
		return nil, err
	}
	deleteKeys(ctx, st, old)
	rw.Written, rw.Deleted = written, old
	return rw, nil
}

// keyTail is the part of a manifest or receipt key after the table folder.
func keyTail(key string) string {
	if i := strings.Index(key, "/_shards/"); i >= 0 {
		return key[i+1:]
	}
	return "_manifest.json"
}

// rowFromAny converts a read row back to an outRow for re-encoding.
func rowFromAny(cols []Column, row []any) outRow {
	var r outRow
	first := true
	for i, c := range cols {
		switch {
		case c.Role == "id" && c.Type == "string":
			v, _ := row[i].(string)
			if first {
				r.cust, first = v, false
			} else {
				r.keys = append(r.keys, v)
			}
		case c.Role == "id" && c.Type == "int64":
			v, _ := row[i].(int64)
			r.ints = append(r.ints, v)
		case c.Role == "id" && c.Type == "timestamp":
			if t, ok := row[i].(interface{ UnixMicro() int64 }); ok {
				r.asOf = t.UnixMicro()
			}
		default:
			x, ok := toFloat(row[i])
			r.vals = append(r.vals, x)
			r.valid = append(r.valid, ok)
		}
	}
	return r
}
