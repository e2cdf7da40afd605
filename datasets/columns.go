package datasets

import (
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/parquet-go/parquet-go"
)

// Columnar decoding of a part's row groups: the reading path of builders
// that need a few columns of every row (features). Only the requested
// columns are decoded, a row group at a time, straight from the pages: no
// row structs, no per-value interface calls. Every decoded slice is owned
// by the caller (page buffers are copied out before the next page is
// read).

// ColumnAs says how a requested column's values are decoded.
type ColumnAs int

const (
	// AsInt64 decodes an INT64 column (0 for a null).
	AsInt64 ColumnAs = iota
	// AsFloat64 decodes a DOUBLE column with validity (0, false for a null).
	AsFloat64
	// AsSymbol interns a short string column (categories, line or event
	// types) as small integers in the scan's Symbols; -1 for a null or an
	// empty value.
	AsSymbol
	// AsHash replaces a string column by FNV64 of its bytes: 0 for a null
	// or an empty value, never 0 otherwise.
	AsHash
)

// ColumnRequest names a column to decode and how.
type ColumnRequest struct {
	Name string
	As   ColumnAs
}

// Block is one decoded row group of a part: every row's key and time, and
// the requested columns in request order.
type Block struct {
	// N is the number of rows.
	N int
	// Time is the table's time column in UTC microseconds (zeros for an
	// unpartitioned table).
	Time []int64
	// Cols holds the requested columns, in request order.
	Cols []BlockColumn

	keys []byte
	off  []uint32 // N+1 end offsets into keys; off[0] = 0
}

// Key returns row i's key (customer_id or product_id); empty for a null.
// The bytes stay valid while the block is referenced; callers copy them to
// keep them longer.
func (b *Block) Key(i int) []byte { return b.keys[b.off[i]:b.off[i+1]] }

// BlockColumn is one requested column of a Block. The slice its
// ColumnRequest.As selects holds N values; every slice is nil when the
// part has no such column.
type BlockColumn struct {
	Int64   []int64
	Float64 []float64
	Valid   []bool // with Float64
	Symbol  []int32
	Hash    []uint64
}

// Symbols interns short strings as small integers, shared by every part
// of a scan (and by several scans, to compare their symbols). It is safe
// for concurrent use.
type Symbols struct {
	mu  sync.Mutex
	ids map[string]int32
	sym []string
}

// NewSymbols returns an empty symbol table.
func NewSymbols() *Symbols { return &Symbols{ids: map[string]int32{}} }

// ID returns b's symbol, interning it when new.
func (s *Symbols) ID(b []byte) int32 {
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

// Name returns the name of symbol id (as ID interned it).
func (s *Symbols) Name(id int32) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sym[id]
}

// Lookup returns the symbol of a known name, or -1.
func (s *Symbols) Lookup(name string) int32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id, ok := s.ids[name]; ok {
		return id
	}
	return -1
}

const (
	fnvOffset64 = 14695981039346656037
	fnvPrime64  = 1099511628211
)

// FNV64 is the FNV-1a 64-bit hash of b: the hash of AsHash columns and of
// feature-build shards.
func FNV64(b []byte) uint64 {
	h := uint64(fnvOffset64)
	for _, c := range b {
		h ^= uint64(c)
		h *= fnvPrime64
	}
	return h
}

// colRef locates a top-level column of a file.
type colRef struct {
	index  int
	maxDef byte
}

// columnIndex maps top-level column names to leaf indexes of a file's
// schema.
func columnIndex(f *parquet.File) map[string]colRef {
	out := map[string]colRef{}
	for i, c := range f.Schema().Columns() {
		if len(c) != 1 {
			continue
		}
		if leaf, ok := f.Schema().Lookup(c...); ok {
			out[c[0]] = colRef{index: i, maxDef: byte(leaf.MaxDefinitionLevel)}
		}
	}
	return out
}

// decodeRowGroup decodes the key, the time and the requested columns of
// one row group. A part without the key column is refused; one without
// the time column (when the table has one) too.
func decodeRowGroup(rg parquet.RowGroup, cols map[string]colRef, keyCol, timeCol string, req []ColumnRequest, syms *Symbols) (*Block, error) {
	chunks := rg.ColumnChunks()
	col := func(name string) (chunk, bool) {
		r, ok := cols[name]
		if !ok {
			return chunk{}, false
		}
		return chunk{cc: chunks[r.index], maxDef: r.maxDef}, true
	}
	n := int(rg.NumRows())
	b := &Block{N: n, Cols: make([]BlockColumn, len(req))}
	var err error
	cc, ok := col(keyCol)
	if !ok {
		return nil, fmt.Errorf("no %s column", keyCol)
	}
	b.off = append(make([]uint32, 0, n+1), 0)
	if b.keys, b.off, err = decodeStrings(cc, make([]byte, 0, n*8), b.off); err != nil {
		return nil, fmt.Errorf("%s: %w", keyCol, err)
	}
	if timeCol == "" {
		b.Time = make([]int64, n)
	} else {
		cc, ok := col(timeCol)
		if !ok {
			return nil, fmt.Errorf("no %s column", timeCol)
		}
		if b.Time, err = decodeInt64(cc, make([]int64, 0, n)); err != nil {
			return nil, fmt.Errorf("%s: %w", timeCol, err)
		}
	}
	for k, r := range req {
		cc, ok := col(r.Name)
		if !ok {
			continue
		}
		c := &b.Cols[k]
		switch r.As {
		case AsInt64:
			c.Int64, err = decodeInt64(cc, make([]int64, 0, n))
		case AsFloat64:
			c.Float64, c.Valid, err = decodeFloat64(cc, make([]float64, 0, n), make([]bool, 0, n))
		case AsSymbol:
			c.Symbol, err = decodeSymbols(cc, syms, make([]int32, 0, n))
		case AsHash:
			c.Hash, err = decodeHashes(cc, make([]uint64, 0, n))
		default:
			err = fmt.Errorf("unknown decoding %d", r.As)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.Name, err)
		}
		if got := max(len(c.Int64), len(c.Float64), len(c.Symbol), len(c.Hash)); got != n {
			return nil, fmt.Errorf("%s: row group of %d rows decoded to %d values", r.Name, n, got)
		}
	}
	if len(b.off) != n+1 || len(b.Time) != n {
		return nil, fmt.Errorf("row group of %d rows decoded to %d keys and %d times", n, len(b.off)-1, len(b.Time))
	}
	return b, nil
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
func decodeSymbols(cc chunk, syms *Symbols, dst []int32) ([]int32, error) {
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
						dictIDs = append(dictIDs, syms.ID(v))
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
				lastID = syms.ID(b)
				last = b
				dst = append(dst, lastID)
			}
		})
	})
	return dst, err
}

// decodeHashes appends each row's FNV64 of its value (0 for a null or
// empty value, 1 for a value whose hash is 0).
func decodeHashes(cc chunk, dst []uint64) ([]uint64, error) {
	var dc dictCache
	err := eachPage(cc, func(p parquet.Page, defs []byte, maxDef byte) error {
		return byteValues(p, defs, maxDef, &dc, func(b []byte) {
			if len(b) == 0 {
				dst = append(dst, 0)
				return
			}
			h := FNV64(b)
			if h == 0 {
				h = 1
			}
			dst = append(dst, h)
		})
	})
	return dst, err
}
