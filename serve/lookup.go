package serve

import (
	"net/http"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// maxIDBytes bounds a customer or product id in a path.
const maxIDBytes = 256

// pathID returns the {id} of a lookup path, refusing an empty, overlong
// or non-UTF-8 one.
func pathID(r *http.Request) (string, error) {
	id := r.PathValue("id")
	if id == "" || len(id) > maxIDBytes || !utf8.ValidString(id) {
		return "", errorf(http.StatusBadRequest, "id: want 1 to %d bytes of UTF-8", maxIDBytes)
	}
	return id, nil
}

// customer serves GET /v1/customers/{id}: the customer's rows in every
// latest publication (churn, offers, triggers, CLV...), grouped by task
// and table, each task with its freshness. An unknown customer and a
// forgotten one are the same 404.
func (s *Server) customer(w http.ResponseWriter, r *http.Request) {
	snap := s.snapshotOr503(w, r)
	if snap == nil {
		return
	}
	id, err := pathID(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	rows := snap.customers.lookup(id)
	if len(rows) == 0 || snap.sup.Tombstones() > 0 && snap.sup.Forgotten(id) {
		writeError(w, r, errorf(http.StatusNotFound, "no scores for this customer"))
		return
	}
	s.writeLookup(w, snap, snap.customers, "customer_id", id, rows, "")
}

// forecast serves GET /v1/products/{id}/forecast[?warehouse=]: the
// product's rows in every latest publication with a product_id column
// (demand quantiles per step, pre-positioning), by task and table.
func (s *Server) forecast(w http.ResponseWriter, r *http.Request) {
	snap := s.snapshotOr503(w, r)
	if snap == nil {
		return
	}
	id, err := pathID(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	wh := r.URL.Query().Get("warehouse")
	rows := snap.products.lookup(id)
	if wh != "" {
		kept := rows[:0:0]
		for _, x := range rows {
			if snap.products.subs[x.sub] == wh {
				kept = append(kept, x)
			}
		}
		rows = kept
	}
	if len(rows) == 0 {
		writeError(w, r, errorf(http.StatusNotFound, "no forecast for this product%s", map[bool]string{true: " in this warehouse"}[wh != ""]))
		return
	}
	s.writeLookup(w, snap, snap.products, "product_id", id, rows, wh)
}

// writeLookup writes {"<idName>": id, "dataset": ..., "tasks": {task:
// {"freshness": {...}, "tables": {table: [row, ...]}}}} from rows, which
// are grouped by table in load order (tasks sorted). The rows are JSON
// rendered at load; only the freshness's age and staleness are written
// per request, into a pooled buffer.
func (s *Server) writeLookup(w http.ResponseWriter, snap *snapshot, x *index, idName, id string, rows []indexRow, warehouse string) {
	bp := bodyBuffers.Get().(*[]byte)
	defer putBody(bp)
	b := (*bp)[:0]
	b = append(b, '{')
	b = appendJSONString(b, idName)
	b = append(b, ':')
	b = appendJSONString(b, id)
	if warehouse != "" {
		b = append(b, `,"warehouse":`...)
		b = appendJSONString(b, warehouse)
	}
	b = append(b, `,"dataset":`...)
	b = appendJSONString(b, snap.dataset)
	b = append(b, `,"tasks":{`...)
	now := s.o.Now()
	curTask, curTable := "", ""
	for i, row := range rows {
		t := &snap.tables[row.table]
		if t.task != curTask {
			if curTask != "" {
				b = append(b, "]}},"...)
			}
			curTask, curTable = t.task, ""
			b = appendJSONString(b, t.task)
			b = append(b, `:{"freshness":`...)
			b = s.appendFreshness(b, snap.pubs[t.task], now)
			b = append(b, `,"tables":{`...)
		}
		if t.table != curTable {
			if curTable != "" {
				b = append(b, "],"...)
			}
			curTable = t.table
			b = appendJSONString(b, t.table)
			b = append(b, ":["...)
		} else if i > 0 {
			b = append(b, ',')
		}
		b = append(b, x.text(row)...)
	}
	b = append(b, "]}}}}\n"...)
	*bp = b
	h := w.Header()
	h["Content-Type"] = headerJSON
	h["Content-Length"] = []string{strconv.Itoa(len(b))}
	h["Cache-Control"] = headerPrivateNoCache
	w.Write(b)
}

// Header values set by direct assignment, shared by every response: a
// handler never changes a value in place (Header.Set and Add replace or
// copy the slice).
var (
	headerJSON           = []string{"application/json"}
	headerPrivateNoCache = []string{"private, no-cache"}
)

// bodyBuffers are response bodies built before they are written; a
// buffer that grew beyond maxPooledBody is dropped rather than kept.
var bodyBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

const maxPooledBody = 64 << 10

func putBody(bp *[]byte) {
	if cap(*bp) <= maxPooledBody {
		bodyBuffers.Put(bp)
	}
}

// appendFreshness appends p's freshness as of now: the same fields as
// freshnessOf, as JSON.
func (s *Server) appendFreshness(b []byte, p *publication, now time.Time) []byte {
	age := now.Sub(p.m.CreatedAt)
	b = append(b, p.freshHead...)
	b = strconv.AppendInt(b, int64(age/time.Second), 10)
	b = append(b, `,"stale":`...)
	b = strconv.AppendBool(b, s.o.MaxAge > 0 && age > s.o.MaxAge)
	return append(b, p.freshTail...)
}
