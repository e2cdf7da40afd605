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
// object at load. It is immutable once built. Ids are kept sorted and found
// by binary search; rows live in one byte arena, so the memory is about
// the JSON text of the rows plus 40 bytes per row and 24 per id.
type index struct {
	ids   []string
	first []uint32 // entries of ids[i]: entries[first[i]:first[i+1]]
	rows  []indexRow
	arena []byte
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
	for i, r := range b.recs {
		if i == 0 || r.id != b.recs[i-1].id {
			x.ids = append(x.ids, r.id)
			x.first = append(x.first, uint32(i))
		}
		x.rows[i] = r.indexRow
	}
	x.first = append(x.first, uint32(len(b.recs)))
	b.recs = nil
	return x
}

// lookup returns the rows of id, nil when none.
func (x *index) lookup(id string) []indexRow {
	if x == nil {
		return nil
	}
	i, ok := slices.BinarySearch(x.ids, id)
	if !ok {
		return nil
	}
	return x.rows[x.first[i]:x.first[i+1]]
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
