package serve

import (
	"bytes"
	"encoding/json"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/prevoir/prevoir/serve/publish"
)

// index is an in-memory lookup from an id (a customer, a product) to the
// rows of every indexed table holding it, each row rendered once as a JSON
// object at load. It is immutable once built. Ids are kept sorted, end to
// end in one byte array, and found by binary search; rows live in one byte
// arena, so the memory is about the JSON text of the rows plus 40 bytes per
// row and the id's bytes plus 12 per id, in a handful of allocations that
// hold no pointers: the garbage collector has nothing to scan in an index
// of any size.
type index struct {
	idText []byte
	idEnd  []int    // id i is idText[idEnd[i-1]:idEnd[i]] (from 0 for i = 0)
	first  []uint32 // entries of id i: rows[first[i]:first[i+1]]
	rows   []indexRow
	arena  []byte
	// subs interns the warehouse of product rows ("" at 0).
	subs []string
}

// indexRow is one rendered row: its table (an index into the snapshot's
// list of indexed tables), its text in the arena, its warehouse.
type indexRow struct {
	table    uint32
	sub      uint32
	off, end int
}

// indexBuilder collects rows, in any order, then sorts them by id.
type indexBuilder struct {
	recs  []indexRec
	arena []byte
	subs  map[string]uint32
	list  []string
}

type indexRec struct {
	id string
	indexRow
}

func newIndexBuilder() *indexBuilder {
	return &indexBuilder{subs: map[string]uint32{"": 0}, list: []string{""}}
}

// add renders row (of columns cols) and files it under id for table.
func (b *indexBuilder) add(id string, table uint32, sub string, cols []publish.Column, row []any) {
	off := len(b.arena)
	b.arena = appendJSONRow(b.arena, cols, row)
	s, ok := b.subs[sub]
	if !ok {
		s = uint32(len(b.list))
		b.subs[sub] = s
		b.list = append(b.list, sub)
	}
	b.recs = append(b.recs, indexRec{id: strings.Clone(id), indexRow: indexRow{table: table, sub: s, off: off, end: len(b.arena)}})
}

// build sorts the rows by id (stably: a table's rows keep their order)
// and returns the index.
func (b *indexBuilder) build() *index {
	sort.SliceStable(b.recs, func(i, j int) bool { return b.recs[i].id < b.recs[j].id })
	x := &index{rows: make([]indexRow, len(b.recs)), arena: slices.Clip(b.arena), subs: b.list}
	n, size := 0, 0
	for i, r := range b.recs {
		if i == 0 || r.id != b.recs[i-1].id {
			n++
			size += len(r.id)
		}
	}
	x.idText, x.idEnd, x.first = make([]byte, 0, size), make([]int, 0, n), make([]uint32, 0, n+1)
	for i, r := range b.recs {
		if i == 0 || r.id != b.recs[i-1].id {
			x.idText = append(x.idText, r.id...)
			x.idEnd = append(x.idEnd, len(x.idText))
			x.first = append(x.first, uint32(i))
		}
		x.rows[i] = r.indexRow
	}
	x.first = append(x.first, uint32(len(b.recs)))
	b.recs = nil
	return x
}

// len is the number of ids.
func (x *index) len() int {
	if x == nil {
		return 0
	}
	return len(x.idEnd)
}

// id returns id i's bytes.
func (x *index) id(i int) []byte {
	start := 0
	if i > 0 {
		start = x.idEnd[i-1]
	}
	return x.idText[start:x.idEnd[i]]
}

// lookup returns the rows of id, nil when none. It allocates nothing.
func (x *index) lookup(id string) []indexRow {
	n := x.len()
	lo, hi := 0, n
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if string(x.id(m)) < id {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo == n || string(x.id(lo)) != id {
		return nil
	}
	return x.rows[x.first[lo]:x.first[lo+1]]
}

// text returns a row's JSON object.
func (x *index) text(r indexRow) []byte { return x.arena[r.off:r.end] }

// appendJSONRow appends row as a JSON object, keys in column order. A
// float that is not finite is null (JSON has no NaN).
func appendJSONRow(dst []byte, cols []publish.Column, row []any) []byte {
	dst = append(dst, '{')
	for i, c := range cols {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendJSONString(dst, c.Name)
		dst = append(dst, ':')
		dst = appendJSONValue(dst, row[i])
	}
	return append(dst, '}')
}

func appendJSONValue(dst []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...)
	case string:
		return appendJSONString(dst, x)
	case int64:
		return strconv.AppendInt(dst, x, 10)
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return append(dst, "null"...)
		}
		b, _ := json.Marshal(x)
		return append(dst, b...)
	}
	b, _ := json.Marshal(v)
	return append(dst, b...)
}

// appendJSONString appends s as a JSON string (as encoding/json writes
// it, HTML characters escaped).
func appendJSONString(dst []byte, s string) []byte {
	simple := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x7f || c == '<' || c == '>' || c == '&' {
			simple = false
			break
		}
	}
	if simple {
		dst = append(dst, '"')
		dst = append(dst, s...)
		return append(dst, '"')
	}
	var buf bytes.Buffer
	json.NewEncoder(&buf).Encode(s)
	return append(dst, bytes.TrimRight(buf.Bytes(), "\n")...)
}
