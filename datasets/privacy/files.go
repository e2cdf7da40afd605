package privacy

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/prevoir/prevoir/datasets"
)

// FilesRewriter returns the rewriter of the "files" layer: CSV objects
// (.csv, .csv.gz) written into the store outside the datasets' and
// features' folders, such as `models predict --output` into the store,
// whose header has a CustomerColumn. Each holding one of the customers is
// rewritten without their rows (one Put replacing the object).
func FilesRewriter(st datasets.Store) Rewriter {
	return RewriterFunc{Name: "files",
		Func: func(ctx context.Context, ids IDs) ([]Rewrite, error) {
			var out []Rewrite
			err := eachFile(ctx, st, func(key string, header []string, records [][]string, gz bool) error {
				col := slices.Index(header, CustomerColumn)
				kept := records[:0]
				for _, r := range records {
					if col >= len(r) || !ids.Has(datasets.NormalizeID(r[col])) {
						kept = append(kept, r)
					}
				}
				n := int64(len(records) - len(kept))
				if n == 0 {
					return nil
				}
				var buf bytes.Buffer
				var w io.Writer = &buf
				var zw *gzip.Writer
				if gz {
					zw = gzip.NewWriter(&buf)
					w = zw
				}
				cw := csv.NewWriter(w)
				cw.Write(header)
				cw.WriteAll(kept)
				if err := cw.Error(); err != nil {
					return err
				}
				if zw != nil {
					if err := zw.Close(); err != nil {
						return err
					}
				}
				if _, err := datasets.PutBytes(ctx, st, key, buf.Bytes(), datasets.PutOptions{}); err != nil {
					return fmt.Errorf("rewrite %s: %w", key, err)
				}
				out = append(out, Rewrite{Layer: "files", Object: key, Written: []string{key}, Rows: n})
				return nil
			})
			return out, err
		},
		FindFunc: func(ctx context.Context, ids IDs) ([]string, error) {
			var keys []string
			err := eachFile(ctx, st, func(key string, header []string, records [][]string, _ bool) error {
				col := slices.Index(header, CustomerColumn)
				for _, r := range records {
					if col < len(r) && ids.Has(datasets.NormalizeID(r[col])) {
						keys = append(keys, key)
						return nil
					}
				}
				return nil
			})
			return keys, err
		}}
}

// eachFile calls fn with every CSV object of the files layer that has a
// CustomerColumn.
func eachFile(ctx context.Context, st datasets.Store, fn func(key string, header []string, records [][]string, gz bool) error) error {
	objs, err := st.List(ctx, "")
	if err != nil {
		return err
	}
	for _, o := range objs {
		k := o.Key
		if strings.HasPrefix(k, "datasets/") || strings.HasPrefix(k, "features/") || strings.HasPrefix(k, Prefix) || publicationPart(k) {
			continue
		}
		gz := strings.HasSuffix(k, ".csv.gz")
		if !gz && !strings.HasSuffix(k, ".csv") {
			continue
		}
		b, err := datasets.ReadAll(ctx, st, k)
		if err != nil {
			return err
		}
		var recs [][]string
		err = datasets.Guard("read "+k, func() error {
			var r io.Reader = bytes.NewReader(b)
			if gz {
				zr, err := gzip.NewReader(r)
				if err != nil {
					return err
				}
				r = zr
			}
			cr := csv.NewReader(r)
			cr.FieldsPerRecord = -1
			var err error
			recs, err = cr.ReadAll()
			return err
		})
		if err != nil {
			return fmt.Errorf("read %s: %w", k, err)
		}
		if len(recs) == 0 || !slices.Contains(recs[0], CustomerColumn) {
			continue
		}
		if err := fn(k, recs[0], recs[1:], gz); err != nil {
			return err
		}
	}
	return nil
}

// publicationPart reports whether key is a part of a publication
// (scores/<dataset>/<task>/<as_of>/<table>/part-...). The publications
// layer rewrites those together with their manifest; rewriting a CSV part
// here broke the manifest's checksums. Other CSV files under scores/ (a
// `models predict --output` there) stay this layer's.
func publicationPart(key string) bool {
	segs := strings.Split(key, "/")
	return len(segs) == 6 && segs[0] == "scores" && strings.HasPrefix(segs[5], "part-")
}
