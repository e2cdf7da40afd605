// Package privacytest finds customer ids in a whole store, for tests that
// prove a customer was forgotten everywhere: every object is searched as
// stored, gzip objects decompressed, and Parquet parts decoded value by
// value.
package privacytest

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/parquet-go/parquet-go"

	"github.com/prevoir/prevoir/datasets"
)

// Holding returns the keys of the objects of st that hold id in clear: as
// a token of their bytes (after decompression for gzip), or as a value of
// a Parquet part. A token is not preceded or followed by a letter, digit,
// '.' or '_' (so 000007 is not found in 0.000007 or 1000007). Objects
// under skip prefixes are not searched.
func Holding(ctx context.Context, st datasets.Store, id string, skip ...string) ([]string, error) {
	objs, err := st.List(ctx, "")
	if err != nil {
		return nil, err
	}
	var out []string
outer:
	for _, o := range objs {
		for _, p := range skip {
			if strings.HasPrefix(o.Key, p) {
				continue outer
			}
		}
		b, err := datasets.ReadAll(ctx, st, o.Key)
		if err != nil {
			return nil, err
		}
		found, err := holds(o.Key, b, id)
		if err != nil {
			return nil, err
		}
		if found {
			out = append(out, o.Key)
		}
	}
	return out, nil
}

func holds(key string, b []byte, id string) (bool, error) {
	if hasToken(b, id) {
		return true, nil
	}
	if len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return false, fmt.Errorf("%s: %w", key, err)
		}
		u, err := io.ReadAll(zr)
		if err != nil {
			return false, fmt.Errorf("%s: %w", key, err)
		}
		return hasToken(u, id), nil
	}
	if len(b) >= 4 && string(b[:4]) == "PAR1" {
		return parquetHolds(key, b, id)
	}
	return false, nil
}

func parquetHolds(key string, b []byte, id string) (found bool, err error) {
	err = datasets.Guard("decode "+key, func() error {
		f, err := parquet.OpenFile(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		for _, kv := range f.Metadata().KeyValueMetadata {
			if hasToken([]byte(kv.Value), id) {
				found = true
				return nil
			}
		}
		for _, rg := range f.RowGroups() {
			rows := rg.Rows()
			buf := make([]parquet.Row, 256)
			for {
				n, err := rows.ReadRows(buf)
				for _, r := range buf[:n] {
					for _, v := range r {
						if v.IsNull() {
							continue
						}
						if v.Kind() == parquet.ByteArray || v.Kind() == parquet.FixedLenByteArray {
							if hasToken(v.ByteArray(), id) {
								found = true
							}
						} else if hasToken([]byte(v.String()), id) {
							found = true
						}
					}
				}
				if found {
					rows.Close()
					return nil
				}
				if err == io.EOF {
					break
				}
				if err != nil {
					rows.Close()
					return fmt.Errorf("%s: %w", key, err)
				}
			}
			rows.Close()
		}
		return nil
	})
	return found, err
}

func hasToken(b []byte, id string) bool {
	for i := 0; ; {
		j := bytes.Index(b[i:], []byte(id))
		if j < 0 {
			return false
		}
		s, e := i+j, i+j+len(id)
		if (s == 0 || !word(b[s-1])) && (e == len(b) || !word(b[e])) {
			return true
		}
		i = s + 1
	}
}

func word(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '.' || c == '_'
}
