package features

import (
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/parquet-go/parquet-go"
)

// Columnar decoding of dataset parts. The builders read only the columns
// they need, a row group at a time, straight from the pages: no row
// structs, no per-value interface calls. Every decoded slice is owned by
// the caller (page buffers are copied out before the next page is read).

// symtab interns short strings (categories, line types, event types) as
// small integers, shared by every part of a build.
type symtab struct {
	mu  sync.Mutex
	ids map[string]int32
	sym []string
}

func newSymtab() *symtab { return &symtab{ids: map[string]int32{}} }

func (s *symtab) id(b []byte) int32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id, ok := s.ids[string(b)]; ok {
		return id
	}
	id := int32(len(s.sym))
	s.ids[string(b)] = id
	s.sym = append(s.sym, string(b))
	return id
}

// lookup returns the id of a known symbol, or -1.
func (s *symtab) lookup(name string) int32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id, ok := s.ids[name]; ok {
		return id
	}
	return -1
}

// colRef locates a top-level column of a file.
type colRef struct {
	index  int
	maxDef byte
}

// columnIndex maps column names to leaf indexes of a file's schema.
func columnIndex(f *parquet.File) map[string]colRef {
	out := map[string]colRef{}
	for i, c := range f.Schema().Columns() {
		if len(c) != 1 {
			continue
		}
		leaf, ok := f.Schema().Lookup(c...)
		if !ok {
			continue
		}
		out[c[0]] = colRef{index: i, maxDef: byte(leaf.MaxDefinitionLevel)}
		_ = leaf
	}
	return out
}

// chunk is a column chunk with its maximum definition level.
type chunk struct {
	cc     parquet.ColumnChunk
	maxDef byte
}

// eachPage calls fn for every page of a column chunk with the page's
// definition levels (nil when the column is required: every row has a
// value) and its data.
func eachPage(c chunk, fn func(p parquet.Page, defs []byte, maxDef byte) error) error {
	maxDef := c.maxDef
	pages := c.cc.Pages()
	defer pages.Close()
	for {
		p, err := pages.ReadPage()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		var defs []byte
		if maxDef > 0 {
			defs = p.DefinitionLevels()
		}
		err = fn(p, defs, maxDef)
		parquet.Release(p)
		if err != nil {
			return err
		}
	}
}

// decodeInt64 appends the column's values (0 for nulls) to dst.
func decodeInt64(cc chunk, dst []int64) ([]int64, error) {
	err := eachPage(cc, func(p parquet.Page, defs []byte, maxDef byte) error {
		if p.Dictionary() != nil {
			return fmt.Errorf("int64 column: dictionary pages not supported")
		}
		d := p.Data()
		vals := d.Int64()
		if defs == nil {
			dst = append(dst, vals...)
			return nil
		}
		j := 0
		for _, l := range defs {
			if l == maxDef {
				dst = append(dst, vals[j])
				j++
			} else {
				dst = append(dst, 0)
			}
		}
		return nil
	})
	return dst, err
}

// decodeFloat64 appends the column's values to dst and their validity to
// valid (false for nulls, whose value is 0).
func decodeFloat64(cc chunk, dst []float64, valid []bool) ([]float64, []bool, error) {
	err := eachPage(cc, func(p parquet.Page, defs []byte, maxDef byte) error {
		if p.Dictionary() != nil {
			return fmt.Errorf("double column: dictionary pages not supported")
		}
		d := p.Data()
		vals := d.Double()
		if defs == nil {
			dst = append(dst, vals...)
			for range vals {
				valid = append(valid, true)
			}
			return nil
		}
		j := 0
		for _, l := range defs {
			if l == maxDef {
				dst = append(dst, vals[j])
				valid = append(valid, true)
				j++
			} else {
				dst = append(dst, 0)
				valid = append(valid, false)
			}
		}
		return nil
	})
	return dst, valid, err
}

// byteValues calls fn for each row of a byte-array page: the value, or
// nil for a null. Dictionary pages are resolved through their dictionary.
func byteValues(p parquet.Page, defs []byte, maxDef byte, dictCache *dictCache, fn func(b []byte)) error {
	if dict := p.Dictionary(); dict != nil {
		dv := dictCache.get(dict)
		d := p.Data()
		idx := d.Int32()
		if defs == nil {
			for _, i := range idx {
				fn(dv[i])
			}
			return nil
		}
		j := 0
		for _, l := range defs {
			if l == maxDef {
				fn(dv[idx[j]])
				j++
			} else {
				fn(nil)
			}
		}
		return nil
	}
	d := p.Data()
	data, offs := d.ByteArray()
	if defs == nil {
		for i := 0; i+1 < len(offs); i++ {
			fn(data[offs[i]:offs[i+1]])
		}
		return nil
	}
	j := 0
	for _, l := range defs {
		if l == maxDef {
			fn(data[offs[j]:offs[j+1]])
			j++
		} else {
			fn(nil)
		}
	}
	return nil
}

// dictCache keeps the decoded values of the last dictionary seen.
type dictCache struct {
	d    parquet.Dictionary
	vals [][]byte
}

func (c *dictCache) get(d parquet.Dictionary) [][]byte {
	if c.d == d && c.vals != nil {
		return c.vals
	}
	c.d = d
	pd := d.Page().Data()
	data, offs := pd.ByteArray()
	data = append([]byte(nil), data...)
	c.vals = make([][]byte, 0, d.Len())
	for i := 0; i+1 < len(offs); i++ {
		c.vals = append(c.vals, data[offs[i]:offs[i+1]:offs[i+1]])
	}
	return c.vals
}

// decodeStrings appends the column's values to an arena: offs gets one
// end offset per row (a null is an empty value).
func decodeStrings(cc chunk, arena []byte, offs []uint32) ([]byte, []uint32, error) {
	var dc dictCache
	err := eachPage(cc, func(p parquet.Page, defs []byte, maxDef byte) error {
		return byteValues(p, defs, maxDef, &dc, func(b []byte) {
			arena = append(arena, b...)
			offs = append(offs, uint32(len(arena)))
		})
	})
	return arena, offs, err
}

// decodeSymbols appends each row's symbol id (-1 for a null or empty
// value).
func decodeSymbols(cc chunk, syms *symtab, dst []int32) ([]int32, error) {
	var dc dictCache
	var lastDict parquet.Dictionary
	var dictIDs []int32
	err := eachPage(cc, func(p parquet.Page, defs []byte, maxDef byte) error {
		if dict := p.Dictionary(); dict != nil {
			if dict != lastDict {
				vals := dc.get(dict)
				dictIDs = dictIDs[:0]
				for _, v := range vals {
					if len(v) == 0 {
						dictIDs = append(dictIDs, -1)
					} else {
						dictIDs = append(dictIDs, syms.id(v))
					}
				}
				lastDict = dict
			}
			d := p.Data()
			idx := d.Int32()
			if defs == nil {
				for _, i := range idx {
					dst = append(dst, dictIDs[i])
				}
				return nil
			}
			j := 0
			for _, l := range defs {
				if l == maxDef {
					dst = append(dst, dictIDs[idx[j]])
					j++
				} else {
					dst = append(dst, -1)
				}
			}
			return nil
		}
		var last []byte
		lastID := int32(-1)
		return byteValues(p, defs, maxDef, &dc, func(b []byte) {
			switch {
			case len(b) == 0:
				dst = append(dst, -1)
			case last != nil && string(b) == string(last):
				dst = append(dst, lastID)
			default:
				lastID = syms.id(b)
				last = b
				dst = append(dst, lastID)
			}
		})
	})
	return dst, err
}

// decodeHashes appends each row's FNV-1a 64 hash of its value (0 for a
// null or empty value).
func decodeHashes(cc chunk, dst []uint64) ([]uint64, error) {
	var dc dictCache
	err := eachPage(cc, func(p parquet.Page, defs []byte, maxDef byte) error {
		return byteValues(p, defs, maxDef, &dc, func(b []byte) {
			if len(b) == 0 {
				dst = append(dst, 0)
				return
			}
			h := fnv64(b)
			if h == 0 {
				h = 1
			}
			dst = append(dst, h)
		})
	})
	return dst, err
}

const (
	fnvOffset64 = 14695981039346656037
	fnvPrime64  = 1099511628211
)

// fnv64 is FNV-1a 64 of b.
func fnv64(b []byte) uint64 {
	h := uint64(fnvOffset64)
	for _, c := range b {
		h ^= uint64(c)
		h *= fnvPrime64
	}
	return h
}
