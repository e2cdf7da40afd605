package serve

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prevoir/prevoir/datasets/privacy"
	"github.com/prevoir/prevoir/serve/publish"
)

// Stream formats of GET /v1/scores/{task}.
const (
	FormatCSV   = "csv"
	FormatJSONL = "jsonl"
)

// Headers of a scores response beyond the freshness ones.
const (
	HeaderNextCursor = "Prevoir-Next-Cursor"
	HeaderTable      = "Prevoir-Table"
	HeaderSortKey    = "Prevoir-Sort-Key"
	// HeaderComplete is a trailer, "true" once a stream's last row is
	// written: a stream without it was cut.
	HeaderComplete = "Prevoir-Complete"
)

// cursor is a position in a publication's table: after the row whose
// sort key is Key (as text), and after Eq further rows with that same key
// (Eq counts all the rows emitted so far for a table without sort key).
// It is pinned to a publication by as_of and run: resuming against a
// replaced publication is refused rather than mixing two.
type cursor struct {
	AsOf  string   `json:"a"`
	Run   string   `json:"r"`
	Table string   `json:"t"`
	Key   []string `json:"k,omitempty"`
	Eq    int64    `json:"e"`
}

// encode returns the cursor's opaque text.
func (c cursor) encode() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (cursor, error) {
	var c cursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || json.Unmarshal(b, &c) != nil || c.AsOf == "" || c.Run == "" || c.Table == "" || c.Eq < 0 {
		return cursor{}, errorf(http.StatusBadRequest, "after: not a cursor this server gave")
	}
	return c, nil
}

// sortKey is a table's sort columns: their indexes and whether each is
// an int64 (else a string).
type sortKey struct {
	cols []int
	ints []bool
}

func sortKeyOf(t *publish.Table) sortKey {
	var k sortKey
	if t.SortBy == "" {
		return k
	}
	for _, name := range append([]string{t.SortBy}, t.ThenBy...) {
		i := colIndex(t.Columns, name)
		k.cols = append(k.cols, i)
		k.ints = append(k.ints, t.Columns[i].Type == publish.TypeInt64)
	}
	return k
}

// text returns a row's key as text.
func (k sortKey) text(row []any) []string {
	out := make([]string, len(k.cols))
	for i, c := range k.cols {
		switch v := row[c].(type) {
		case string:
			out[i] = v
		case int64:
			out[i] = strconv.FormatInt(v, 10)
		}
	}
	return out
}

// typed converts a cursor's key text to values to compare rows with.
func (k sortKey) typed(key []string, eq int64) ([]any, error) {
	if len(key) == 0 && len(k.cols) > 0 && eq == 0 {
		return nil, nil // no row yet: from the start
	}
	if len(key) != len(k.cols) {
		return nil, errorf(http.StatusBadRequest, "after: the cursor's key has %d values, the table's sort key %d", len(key), len(k.cols))
	}
	out := make([]any, len(key))
	for i, s := range key {
		if !k.ints[i] {
			out[i] = s
			continue
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, errorf(http.StatusBadRequest, "after: the cursor's key value %q is not an integer", s)
		}
		out[i] = n
	}
	return out, nil
}

// compare orders a row against a typed key: -1, 0 or +1. A null sorts
// first.
func (k sortKey) compare(row []any, key []any) int {
	for i, c := range k.cols {
		a, b := row[c], key[i]
		var r int
		switch x := a.(type) {
		case nil:
			if b != nil {
				r = -1
			}
		case string:
			y, _ := b.(string)
			r = strings.Compare(x, y)
		case int64:
			y, _ := b.(int64)
			r = cmpInt(x, y)
		}
		if r != 0 {
			return r
		}
	}
	return 0
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// scoresRequest is a parsed GET /v1/scores/{task}.
type scoresRequest struct {
	pub     *publication
	table   *publish.Table
	format  string
	after   *cursor
	limit   int
	channel string
	etag    string
}

func (s *Server) parseScores(r *http.Request, snap *snapshot) (*scoresRequest, error) {
	task := r.PathValue("task")
	q := r.URL.Query()
	req := &scoresRequest{channel: q.Get("channel")}
	var err error
	if req.format, err = streamFormat(q.Get("format"), r.Header.Get("Accept")); err != nil {
		return nil, err
	}
	if a := q.Get("after"); a != "" {
		c, err := decodeCursor(a)
		if err != nil {
			return nil, err
		}
		req.after = &c
	}
	asOf := q.Get("as_of")
	if req.after != nil {
		if asOf != "" && asOf != "latest" && asOf != req.after.AsOf {
			return nil, errorf(http.StatusBadRequest, "as_of %s: the cursor is of the publication as of %s", asOf, req.after.AsOf)
		}
		asOf = req.after.AsOf
	}
	if req.pub, err = s.publicationOf(r, snap, task, asOf); err != nil {
		return nil, err
	}
	if req.after != nil && req.after.Run != req.pub.m.Run {
		return nil, errorf(http.StatusConflict, "the %s publication as of %s was replaced since the cursor was given (run %s, now %s): start again without after",
			task, req.pub.m.AsOf, req.after.Run, req.pub.m.Run)
	}
	if req.table, err = req.pub.m.Table(q.Get("table")); err != nil {
		return nil, err
	}
	if req.after != nil && req.after.Table != req.table.Name {
		return nil, errorf(http.StatusBadRequest, "table %s: the cursor is of table %s", req.table.Name, req.after.Table)
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > s.o.MaxPageRows {
			return nil, errorf(http.StatusBadRequest, "limit %q: want 1 to %d rows", l, s.o.MaxPageRows)
		}
		req.limit = n
	}
	if req.channel != "" && !privacy.ValidChannel(req.channel) {
		return nil, errorf(http.StatusBadRequest, "channel %q: want one of %s", req.channel, strings.Join(privacy.Channels, ", "))
	}
	tag := req.pub.sha[:32] + "-" + req.table.Name + "-" + req.format
	if req.channel != "" {
		tag += "-" + req.channel
	}
	req.etag = `"` + tag + `"`
	return req, nil
}

// publicationOf returns the publication of task as of asOf ("" or
// "latest": the one in the snapshot).
func (s *Server) publicationOf(r *http.Request, snap *snapshot, task, asOf string) (*publication, error) {
	if asOf == "" || asOf == "latest" {
		p, ok := snap.pubs[task]
		if !ok {
			return nil, errorf(http.StatusNotFound, "no publication of task %q in dataset %s (tasks: %s)", task, snap.dataset, strings.Join(snap.tasks, ", "))
		}
		return p, nil
	}
	if _, err := time.Parse(time.DateOnly, asOf); err != nil {
		return nil, errorf(http.StatusBadRequest, "as_of %q: want a date YYYY-MM-DD or latest", asOf)
	}
	if p, ok := snap.pubs[task]; ok && p.m.AsOf == asOf {
		return p, nil
	}
	if _, ok := snap.pubs[task]; !ok {
		return nil, errorf(http.StatusNotFound, "no publication of task %q in dataset %s", task, snap.dataset)
	}
	return readPublication(r.Context(), s.st, snap.dataset, task, asOf)
}

// streamFormat picks csv or jsonl from ?format=, else from Accept.
func streamFormat(format, accept string) (string, error) {
	switch format {
	case FormatCSV, FormatJSONL:
		return format, nil
	case "":
	default:
		return "", errorf(http.StatusBadRequest, "format %q: want csv or jsonl", format)
	}
	for _, a := range strings.Split(accept, ",") {
		mt, _, _ := strings.Cut(strings.TrimSpace(a), ";")
		switch strings.TrimSpace(mt) {
		case "text/csv":
			return FormatCSV, nil
		case "application/x-ndjson", "application/jsonl", "application/json":
			return FormatJSONL, nil
		}
	}
	return FormatCSV, nil
}

func contentType(format string) string {
	if format == FormatJSONL {
		return "application/x-ndjson"
	}
	return "text/csv; charset=utf-8"
}

// errPageFull stops reading rows once a page has its rows and one more.
var errPageFull = errors.New("page full")

// scores serves GET /v1/scores/{task}: the rows of one table of a
// publication, whole as a stream, or a page of ?limit= rows with the
// next page's cursor in a header.
func (s *Server) scores(w http.ResponseWriter, r *http.Request) {
	snap := s.snapshotOr503(w, r)
	if snap == nil {
		return
	}
	req, err := s.parseScores(r, snap)
	if err != nil {
		writeError(w, r, err)
		return
	}
	h := w.Header()
	h.Set("ETag", req.etag)
	h.Set("Cache-Control", "private, no-cache")
	h.Set("Vary", "Accept, Accept-Encoding")
	if match := r.Header.Get("If-None-Match"); match != "" && etagMatch(match, req.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	select {
	case s.streams <- struct{}{}:
		defer func() { <-s.streams }()
	default:
		writeError(w, r, errorf(http.StatusServiceUnavailable, "%d scores streams are being served: retry shortly", s.o.MaxStreams))
		return
	}
	s.metrics.streams.Inc()
	defer s.metrics.streams.Dec()
	setFreshness(h, s.freshnessOf(req.pub))
	h.Set("Content-Type", contentType(req.format))
	h.Set(HeaderTable, req.table.Name)
	h.Set(HeaderSortKey, strings.Join(append([]string{req.table.SortBy}, req.table.ThenBy...), ","))
	gz := strings.Contains(r.Header.Get("Accept-Encoding"), "gzip")
	if gz {
		h.Set("Content-Encoding", "gzip")
	}
	if req.limit > 0 {
		s.page(w, r, snap, req, gz)
		return
	}
	h.Set("Trailer", HeaderComplete)
	var dst io.Writer = w
	var zw *gzip.Writer
	if gz {
		zw, _ = gzip.NewWriterLevel(w, gzip.BestSpeed)
		dst = zw
	}
	bw := bufio.NewWriterSize(dst, 64<<10)
	n, _, err := s.writeRows(r, snap, req, bw, 0)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil && zw != nil {
		err = zw.Close()
	}
	s.metrics.rows.WithLabelValues(req.pub.m.Task).Add(float64(n))
	if err != nil {
		if r.Context().Err() == nil {
			s.o.Logger.Warn("scores stream cut", "task", req.pub.m.Task, "rows", n, "err", err)
		}
		// Cut the connection: the client sees a broken stream, not
		// an end.
		panic(http.ErrAbortHandler)
	}
	h.Set(HeaderComplete, "true")
}

// page serves one page of req.limit rows.
func (s *Server) page(w http.ResponseWriter, r *http.Request, snap *snapshot, req *scoresRequest, gz bool) {
	var buf bytes.Buffer
	n, next, err := s.writeRows(r, snap, req, &buf, req.limit)
	if err != nil {
		writeError(w, r, err)
		return
	}
	s.metrics.rows.WithLabelValues(req.pub.m.Task).Add(float64(n))
	if next != nil {
		w.Header().Set(HeaderNextCursor, next.encode())
	}
	if !gz {
		w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
		w.Write(buf.Bytes())
		return
	}
	zw, _ := gzip.NewWriterLevel(w, gzip.BestSpeed)
	zw.Write(buf.Bytes())
	zw.Close()
}

// writeRows writes the header and the rows of req after its cursor, at
// most limit rows when limit > 0; it returns the rows written and, when
// rows remain past the limit, the cursor of the next page.
func (s *Server) writeRows(r *http.Request, snap *snapshot, req *scoresRequest, w io.Writer, limit int) (int64, *cursor, error) {
	t := req.table
	key := sortKeyOf(t)
	var after []any
	var eqLeft int64
	if req.after != nil {
		var err error
		if after, err = key.typed(req.after.Key, req.after.Eq); err != nil {
			return 0, nil, err
		}
		eqLeft = req.after.Eq
	}
	skip := s.skipper(snap, t, req.channel)
	emit, flush := rowWriter(w, req.format, t.Columns)
	var n int64
	var last []string
	var lastEq int64
	if req.after != nil {
		last, lastEq = req.after.Key, req.after.Eq
	}
	var next *cursor
	err := publish.Rows(r.Context(), s.st, req.pub.m, t.Name, func(row []any) error {
		if skip(row) {
			return nil
		}
		if after != nil {
			c := key.compare(row, after)
			if c < 0 {
				return nil
			}
			if c == 0 && eqLeft > 0 {
				eqLeft--
				return nil
			}
			if c > 0 {
				after = nil
			}
		}
		if limit > 0 && n == int64(limit) {
			next = &cursor{AsOf: req.pub.m.AsOf, Run: req.pub.m.Run, Table: t.Name, Key: last, Eq: lastEq}
			return errPageFull
		}
		if limit > 0 { // a page: the key of its last row makes the next cursor
			if k := key.text(row); equalText(k, last) {
				lastEq++
			} else {
				last, lastEq = k, 1
			}
		}
		n++
		return emit(row)
	})
	if errors.Is(err, errPageFull) {
		err = nil
	}
	if err == nil {
		err = flush()
	}
	return n, next, err
}

func equalText(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// skipper returns whether a row is left out: its customer forgotten, or
// opted out of channel when one is asked.
func (s *Server) skipper(snap *snapshot, t *publish.Table, channel string) func(row []any) bool {
	ci := colIndex(t.Columns, t.Customer)
	if ci < 0 || (channel == "" && snap.sup.Tombstones() == 0) {
		return func([]any) bool { return false }
	}
	keep := sup(snap.sup)
	now := s.o.Now()
	return func(row []any) bool {
		id, _ := row[ci].(string)
		return !keep(id) || channel != "" && snap.sup.OptedOut(id, channel, now)
	}
}

// rowWriter returns a function writing one row in format, header first
// (CSV), as `prevoir scores export` writes it, and one flushing.
func rowWriter(w io.Writer, format string, cols []publish.Column) (emit func(row []any) error, flush func() error) {
	if format == FormatJSONL {
		var line []byte
		return func(row []any) error {
				line = appendJSONRow(line[:0], cols, row)
				line = append(line, '\n')
				_, err := w.Write(line)
				return err
			}, func() error {
				return nil
			}
	}
	cw := csv.NewWriter(w)
	rec := make([]string, len(cols))
	for i, c := range cols {
		rec[i] = c.Name
	}
	header := true
	return func(row []any) error {
			if header {
				header = false
				if err := cw.Write(rec); err != nil {
					return err
				}
			}
			for i := range row {
				rec[i] = formatValue(row[i])
			}
			return cw.Write(rec)
		}, func() error {
			if header {
				cw.Write(rec)
			}
			cw.Flush()
			return cw.Error()
		}
}

// formatValue is a value as CSV text, as publish.Export writes it.
func formatValue(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	return fmt.Sprint(v)
}

// etagMatch reports whether an If-None-Match header names etag (or *).
func etagMatch(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == etag || t == "*" {
			return true
		}
	}
	return false
}

// manifest serves GET /v1/scores/{task}/manifest: the publication's
// manifest as stored, with its freshness.
func (s *Server) manifest(w http.ResponseWriter, r *http.Request) {
	snap := s.snapshotOr503(w, r)
	if snap == nil {
		return
	}
	p, err := s.publicationOf(r, snap, r.PathValue("task"), r.URL.Query().Get("as_of"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	setFreshness(w.Header(), s.freshnessOf(p))
	writeJSON(w, http.StatusOK, map[string]any{"freshness": s.freshnessOf(p), "manifest": json.RawMessage(p.raw)})
}
