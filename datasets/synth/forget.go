package synth

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/datasets/privacy"
)

// LatentRewriter returns the rewriter of the "latent" layer: it removes
// the customers' rows from _latent/customers.csv.gz of every dataset that
// has one. The world truth files hold no customer.
func LatentRewriter(st datasets.Store) privacy.Rewriter {
	return privacy.RewriterFunc{Name: "latent", Func: func(ctx context.Context, ids privacy.IDs) ([]privacy.Rewrite, error) {
		names, err := datasets.ListDatasets(ctx, st)
		if err != nil {
			return nil, err
		}
		var out []privacy.Rewrite
		for _, name := range names {
			n, err := forgetLatent(ctx, st, name, ids)
			if err != nil {
				return out, err
			}
			if n > 0 {
				out = append(out, privacy.Rewrite{Layer: "latent", Object: LatentKey(name, LatentCustomers),
					Written: []string{LatentKey(name, LatentCustomers)}, Rows: n})
			}
		}
		return out, nil
	}}
}

// forgetLatent rewrites the latent customers of dataset name without the
// rows of ids and returns how many it removed (0: nothing written).
func forgetLatent(ctx context.Context, st datasets.Store, name string, ids privacy.IDs) (int64, error) {
	key := LatentKey(name, LatentCustomers)
	n, err := filterLatent(ctx, st, key, ids, io.Discard)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && n == 0) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	pr, pw := io.Pipe()
	go func() {
		zw, _ := gzip.NewWriterLevel(pw, gzip.BestSpeed)
		_, err := filterLatent(ctx, st, key, ids, zw)
		if err == nil {
			err = zw.Close()
		}
		pw.CloseWithError(err)
	}()
	if _, err := st.Put(ctx, key, pr, -1, datasets.PutOptions{ContentType: "application/gzip"}); err != nil {
		pr.CloseWithError(err)
		return 0, fmt.Errorf("rewrite %s: %w", key, err)
	}
	return n, nil
}

// filterLatent copies the uncompressed latent CSV at key to w without the
// rows of ids, and counts the rows left out.
func filterLatent(ctx context.Context, st datasets.Store, key string, ids privacy.IDs, w io.Writer) (int64, error) {
	o, err := st.Open(ctx, key)
	if err != nil {
		return 0, err
	}
	defer o.Close()
	zr, err := gzip.NewReader(bufio.NewReaderSize(o, 1<<20))
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", key, err)
	}
	br := bufio.NewReaderSize(zr, 1<<20)
	bw := bufio.NewWriterSize(w, 1<<20)
	var n int64
	for first := true; ; first = false {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			return n, fmt.Errorf("read %s: line longer than 1 MiB", key)
		}
		if len(line) > 0 {
			id, _, _ := bytes.Cut(line, []byte{','})
			if !first && ids.Has(strings.TrimSpace(string(id))) {
				n++
			} else if _, werr := bw.Write(line); werr != nil {
				return n, werr
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return n, fmt.Errorf("read %s: %w", key, err)
		}
	}
	return n, bw.Flush()
}
