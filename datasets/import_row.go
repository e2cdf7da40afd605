package datasets

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// worker parses chunks for one goroutine.
type worker[T any] struct {
	p     *plan[T]
	sp    splitter
	tp    *timeParser
	isoTP *timeParser
	fa    []float64
	ia    []int64
	vals  []string
}

func (p *plan[T]) newWorker() *worker[T] {
	return &worker[T]{p: p, sp: splitter{format: p.format}, tp: newTimeParser(p.layout, p.im.loc), isoTP: newTimeParser("", p.im.loc)}
}

func (w *worker[T]) parse(j *chunkJob[T]) *chunkResult[T] {
	res := &chunkResult[T]{}
	if j.buf != nil {
		im, buf := w.p.im, j.buf
		res.release = func() { im.chunkPool.put(buf[:0]) }
	}
	if j.recs != nil {
		res.rows = make([]T, 0, len(j.recs))
		for i, rec := range j.recs {
			if !w.record(res, rec, j.line+int64(i), "") {
				return res
			}
		}
		return res
	}
	data := j.data
	res.rows = w.p.im.w.getRows(j.nls + 1)
	line := j.line
	for pos := 0; pos < len(data); {
		end, nls, blank, err := w.sp.next(data, pos)
		raw := data[pos:end]
		recLine := line
		pos, line = end, line+int64(nls)
		if blank {
			continue
		}
		if err != nil {
			n := len(w.sp.fields)
			res.bad = append(res.bad, badRow{raw: strings.Clone(strings.TrimRight(raw, "\r\n")), err: &RowError{Path: w.p.path, Line: recLine, Field: n, Column: w.p.columnName(n - 1), Value: strings.Clone(w.sp.fields[n-1]), Reason: err.Error()}})
			continue
		}
		if !w.record(res, w.sp.fields, recLine, raw) {
			return res
		}
	}
	return res
}

// record turns one record's fields into a row; false stops the chunk (a
// fatal error).
func (w *worker[T]) record(res *chunkResult[T], fields []string, line int64, raw string) bool {
	p := w.p
	t := p.im.t
	bad := func(src int, value, reason string, cause error) {
		// Clones: the chunk's bytes are reused once its rows are written.
		e := &RowError{Path: p.path, Line: line, Field: src + 1, Column: p.columnName(src), Value: strings.Clone(value), Reason: reason, Err: cause}
		if raw == "" {
			raw = strings.Join(fields, ",")
		}
		res.bad = append(res.bad, badRow{err: e, raw: strings.Clone(strings.TrimRight(raw, "\r\n"))})
	}
	if len(fields) != p.nfields {
		if len(fields) > p.nfields {
			bad(p.nfields, fields[p.nfields], fmt.Sprintf("extra field: the line has %d fields, the header %d (an unquoted delimiter in a value?)", len(fields), p.nfields), nil)
		} else {
			src := len(fields)
			bad(src, "", fmt.Sprintf("missing field: the line has %d fields, the header %d", len(fields), p.nfields), nil)
		}
		return true
	}
	n := len(res.rows)
	if n < cap(res.rows) {
		res.rows = res.rows[:n+1]
		res.rows[n] = *new(T) // a pooled batch holds old rows
	} else {
		res.rows = append(res.rows, *new(T))
	}
	r := &res.rows[n]
	for _, b := range p.bindings {
		f := &t.fields[b.field]
		v := fields[b.src]
		switch f.kind {
		case kString, kID:
			v, ok := validText(v, p.im.opts.InvalidUTF8)
			if !ok {
				bad(b.src, v, "not valid UTF-8 (refused; the invalid-UTF-8 policy replace would store U+FFFD instead)", nil)
				dropLast(res)
				return true
			}
			if f.kind == kID {
				v = NormalizeID(v)
				if reason := checkID(v); reason != "" {
					bad(b.src, v, reason, nil)
					dropLast(res)
					return true
				}
			}
			*f.str(r) = v
		case kTime, kOptTime:
			v = trimSpace(v)
			if v == "" && f.kind == kOptTime {
				continue
			}
			tp := w.tp
			if b.iso {
				tp = w.isoTP
			}
			us, err := tp.parse(v)
			if err != nil {
				if errors.Is(err, ErrAmbiguousTime) {
					res.fatal = &RowError{Path: p.path, Line: line, Field: b.src + 1, Column: b.name, Value: strings.Clone(v), Reason: err.Error(), Err: err}
					return false
				}
				bad(b.src, v, err.Error(), err)
				dropLast(res)
				return true
			}
			if f.kind == kTime {
				*f.i64(r) = us
			} else {
				*f.pi64(r) = w.int64Ptr(us)
			}
		case kFloat, kOptFloat:
			v = trimSpace(v)
			if v == "" {
				if f.kind == kOptFloat {
					continue
				}
				bad(b.src, v, "empty: a number is required", nil)
				dropLast(res)
				return true
			}
			x, err := parseFloat(v)
			if err != nil || math.IsInf(x, 0) || math.IsNaN(x) {
				bad(b.src, v, "not a number", nil)
				dropLast(res)
				return true
			}
			if f.kind == kFloat {
				*f.f64(r) = x
			} else {
				*f.pf64(r) = w.float64Ptr(x)
			}
		case kOptInt:
			v = trimSpace(v)
			if v == "" {
				continue
			}
			x, err := strconv.ParseInt(NormalizeID(v), 10, 64)
			if err != nil {
				bad(b.src, v, "not an integer", nil)
				dropLast(res)
				return true
			}
			*f.pi64(r) = w.int64Ptr(x)
		case kBool:
			x, ok := parseBool(trimSpace(v))
			if !ok {
				bad(b.src, v, "not a boolean (true/false, yes/no, 1/0, in/out)", nil)
				dropLast(res)
				return true
			}
			*f.b(r) = x
		}
	}
	if t.finish != nil {
		if err := t.finish(r, p.mapped, p.im.rules); err != nil {
			src, v := -1, ""
			for _, b := range p.bindings {
				if t.fields[b.field].name == "line_type" {
					src, v = b.src, fields[b.src]
				}
			}
			bad(src, v, err.Error(), nil)
			dropLast(res)
			return true
		}
	}
	return true
}

// dropLast removes the row being built, leaving its slot zero.
func dropLast[T any](res *chunkResult[T]) {
	n := len(res.rows) - 1
	clear(res.rows[n:])
	res.rows = res.rows[:n]
}

func (w *worker[T]) float64Ptr(x float64) *float64 {
	if len(w.fa) == cap(w.fa) {
		w.fa = make([]float64, 0, 4096)
	}
	w.fa = append(w.fa, x)
	return &w.fa[len(w.fa)-1]
}

func (w *worker[T]) int64Ptr(x int64) *int64 {
	if len(w.ia) == cap(w.ia) {
		w.ia = make([]int64, 0, 1024)
	}
	w.ia = append(w.ia, x)
	return &w.ia[len(w.ia)-1]
}

func parseBool(s string) (bool, bool) {
	switch strings.ToLower(s) {
	case "true", "t", "yes", "y", "1", "in", "opt_in", "opted_in":
		return true, true
	case "false", "f", "no", "n", "0", "out", "opt_out", "opted_out":
		return false, true
	}
	return false, false
}
