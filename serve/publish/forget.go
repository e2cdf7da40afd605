package publish

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"time"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/datasets/privacy"
)

// ForgetGrace spares the unlisted parts younger than this from Forget: they
// may be a running publication's, whose manifest is about to list them
// (and which dropped forgotten customers when it loaded the suppressions).
const ForgetGrace = time.Hour

// Forgetter is the privacy.Rewriter of publications: it removes the rows
// of forgotten customers from every committed publication (the tables
// with a customer column): new parts, then the manifest by
// compare-and-swap, then the old parts are deleted. Parts no manifest
// lists (replaced publications awaiting `store gc`) that hold one of the
// customers are deleted when older than ForgetGrace.
type Forgetter struct {
	Store datasets.Store
	// Now is the current time (default time.Now).
	Now func() time.Time
}

// Layer returns "scores".
func (f Forgetter) Layer() string { return "scores" }

// Forget rewrites every publication holding one of ids. A publication
// without any is left as it is, so running it again changes nothing.
func (f Forgetter) Forget(ctx context.Context, ids privacy.IDs) ([]privacy.Rewrite, error) {
	st := f.Store
	objs, err := st.List(ctx, Root)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	var out []privacy.Rewrite
	// The customer column of each table folder, from its manifest.
	customer := map[string]string{}
	for _, o := range objs {
		if path.Base(o.Key) != "_manifest.json" {
			continue
		}
		if b, err := datasets.ReadAll(ctx, st, o.Key); err == nil {
			if m, err := decodeManifest(b, o.Key); err == nil {
				for _, t := range m.Tables {
					customer[path.Dir(o.Key)+"/"+t.Name] = t.Customer
				}
			}
		}
		rw, err := forgetPublication(ctx, st, o.Key, ids)
		if err != nil {
			return out, fmt.Errorf("forget %s: %w", o.Key, err)
		}
		if rw != nil {
			out = append(out, *rw)
		}
	}
	// Unlisted parts: listed by no manifest now that the rewrites are in.
	now := time.Now()
	if f.Now != nil {
		now = f.Now()
	}
	if objs, err = st.List(ctx, Root); err != nil {
		return out, err
	}
	unlisted, err := orphans(ctx, st, objs, nil)
	if err != nil {
		return out, err
	}
	rw := privacy.Rewrite{Layer: "scores", Object: "unlisted parts"}
	for _, o := range unlisted {
		if now.Sub(o.ModTime) < ForgetGrace {
			continue
		}
		col, ok := customer[path.Dir(o.Key)]
		if !ok {
			col = "customer_id" // the publication is gone: the usual name
		}
		if col == "" {
			continue
		}
		n, err := countHeld(ctx, st, o, col, ids)
		if err != nil {
			return out, err
		}
		if n > 0 {
			if err := st.Delete(ctx, o.Key); err != nil {
				return out, err
			}
			rw.Deleted = append(rw.Deleted, o.Key)
			rw.Rows += n
		}
	}
	if len(rw.Deleted) > 0 {
		out = append(out, rw)
	}
	return out, nil
}

// countHeld counts the rows of an unlisted part holding one of ids in its
// column col; its format comes from its name.
func countHeld(ctx context.Context, st datasets.Store, o datasets.ObjectInfo, col string, ids privacy.IDs) (int64, error) {
	b, err := datasets.ReadAll(ctx, st, o.Key)
	if err != nil {
		return 0, err
	}
	var n int64
	cols := []Column{{Name: col, Type: TypeString}}
	count := func(r []any) error {
		if id, _ := r[0].(string); ids.Has(id) {
			n++
		}
		return nil
	}
	if strings.HasSuffix(o.Key, "."+FormatCSV) {
		err = decodeCSV(b, cols, count)
	} else {
		err = datasets.Guard("parquet "+o.Key, func() error { return decodeParquet(b, cols, count) })
	}
	if err != nil && !errors.Is(err, errNoColumn) {
		return 0, fmt.Errorf("read %s: %w", o.Key, err)
	}
	return n, nil
}

// forgetPublication rewrites one publication without the rows of ids,
// retrying when another run commits the manifest in between.
func forgetPublication(ctx context.Context, st datasets.Store, key string, ids privacy.IDs) (*privacy.Rewrite, error) {
	for attempt := 0; attempt < 10; attempt++ {
		b, etag, err := datasets.ReadVersioned(ctx, st, key)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		m, err := decodeManifest(b, key)
		if err != nil {
			return nil, err
		}
		rw := &privacy.Rewrite{Layer: "scores", Object: key}
		run := datasets.NewRunID()
		var old []string
		for ti := range m.Tables {
			t := &m.Tables[ti]
			c := -1
			if t.Customer != "" {
				c = colIndex(t.Columns, t.Customer)
			}
			if c < 0 {
				continue
			}
			for pi, p := range t.Parts {
				var keep [][]any
				removed := int64(0)
				err := readPart(ctx, st, m.Format, t.Columns, p, func(r []any) error {
					if id, _ := r[c].(string); ids.Has(id) {
						removed++
						return nil
					}
					keep = append(keep, append([]any(nil), r...))
					return nil
				})
				if err != nil {
					deleteAll(ctx, st, rw.Written)
					return nil, err
				}
				if removed == 0 {
					continue
				}
				nk := fmt.Sprintf("%s%s/part-%s-forget-%05d.%s", Prefix(m.Dataset, m.Task, m.AsOf), t.Name, run, pi, m.Format)
				np, err := putPart(ctx, st, nk, m.Format, t.Columns, keep)
				if err != nil {
					deleteAll(ctx, st, rw.Written)
					return nil, err
				}
				rw.Written = append(rw.Written, nk)
				old = append(old, p.Key)
				t.Parts[pi] = np
				t.Rows -= removed
				if ti == 0 {
					m.Suppressed += removed
				}
				rw.Rows += removed
			}
		}
		if rw.Rows == 0 {
			return nil, nil
		}
		m.Rows = m.Tables[0].Rows
		nb := encodeManifest(m)
		if _, err := datasets.SwapObject(ctx, st, key, nb, etag); err != nil {
			if cur, rerr := datasets.ReadAll(context.WithoutCancel(ctx), st, key); rerr == nil && string(cur) == string(nb) {
				// The swap went through and only its reply was lost.
			} else if rerr != nil && !errors.Is(err, datasets.ErrConflict) {
				return nil, fmt.Errorf("%w (new parts kept: the commit may have gone through)", err)
			} else {
				deleteAll(ctx, st, rw.Written)
				if errors.Is(err, datasets.ErrConflict) {
					continue // a rerun committed meanwhile: forget from it
				}
				return nil, err
			}
		}
		deleteAll(ctx, st, old)
		rw.Deleted = old
		return rw, nil
	}
	return nil, fmt.Errorf("%w: the publication kept changing", datasets.ErrConflict)
}

func deleteAll(ctx context.Context, st datasets.Store, keys []string) {
	c := context.WithoutCancel(ctx)
	for _, k := range keys {
		st.Delete(c, k)
	}
}

// Find returns the parts of publications (committed or unlisted) holding
// a row of one of ids, for `customers show`.
func (f Forgetter) Find(ctx context.Context, ids privacy.IDs) ([]string, error) {
	st := f.Store
	objs, err := st.List(ctx, Root)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	var keys []string
	customer := map[string]string{}
	for _, o := range objs {
		if path.Base(o.Key) != "_manifest.json" {
			continue
		}
		b, err := datasets.ReadAll(ctx, st, o.Key)
		if err != nil {
			return nil, err
		}
		m, err := decodeManifest(b, o.Key)
		if err != nil {
			return nil, err
		}
		for _, t := range m.Tables {
			customer[path.Dir(o.Key)+"/"+t.Name] = t.Customer
			c := -1
			if t.Customer != "" {
				c = colIndex(t.Columns, t.Customer)
			}
			if c < 0 {
				continue
			}
			for _, p := range t.Parts {
				found := false
				err := readPart(ctx, st, m.Format, t.Columns, p, func(r []any) error {
					if id, _ := r[c].(string); ids.Has(id) {
						found = true
					}
					return nil
				})
				if err != nil {
					return nil, fmt.Errorf("find in %s: %w", p.Key, err)
				}
				if found {
					keys = append(keys, p.Key)
				}
			}
		}
	}
	unlisted, err := orphans(ctx, st, objs, nil)
	if err != nil {
		return nil, err
	}
	for _, o := range unlisted {
		col, ok := customer[path.Dir(o.Key)]
		if !ok {
			col = "customer_id"
		}
		if col == "" {
			continue
		}
		n, err := countHeld(ctx, st, o, col, ids)
		if err != nil {
			return nil, err
		}
		if n > 0 {
			keys = append(keys, o.Key)
		}
	}
	return keys, nil
}
