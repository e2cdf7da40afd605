package serve

import (
	"unicode/utf8"
	"unsafe"

	"github.com/prevoir/prevoir/features"
	"github.com/prevoir/prevoir/models"
)

// The fast path of a prediction request: a small JSON scanner that reads
// {"rows": [{feature: value, ...}, ...], "output": "..."} straight into
// a model's rows, in its input order, without a map per row or a string
// per value.
//
// It accepts only what it can check completely and what the general path
// (decodePredict, loadedModel.record, Binder.Bind) would accept with the
// same meaning; anything else (a syntax error, an unknown or repeated key,
// a key in another case, an escaped string, a missing, extra or
// non-numeric feature, a value Bind refuses, too many rows...) makes it
// give up, and the request is decoded again by the general path, which
// writes the error. So the fast path changes the cost of a request,
// never its answer.

// predictScratch is what a fast prediction reuses between requests.
type predictScratch struct {
	vals, out []float64
	rec       []string
	seen      []bool
}

// scanned is what scanPredict read: the rows bound and the output asked.
type scanned struct {
	rows int
	kind models.OutputKind
}

// scanPredict reads body for lm into sc.vals (rows of lm's inputs), at
// most maxRows rows. ok is false when the general path must decide.
func (lm *loadedModel) scanPredict(body []byte, maxRows int, sc *predictScratch) (pb scanned, ok bool) {
	cols := lm.binder.Cols()
	sc.rec = grow(sc.rec, cols)
	sc.seen = grow(sc.seen, cols)
	sc.vals = sc.vals[:0]
	defer clear(sc.rec) // no view of the body outlives the request
	p := scanner{b: body}
	if !p.byte('{') {
		return pb, false
	}
	var seenRows, seenOutput bool
	for {
		key, ok := p.str()
		if !ok || !p.byte(':') {
			return pb, false
		}
		switch string(key) {
		case "rows":
			if seenRows || !p.byte('[') {
				return pb, false
			}
			seenRows = true
			for {
				if pb.rows == maxRows {
					return pb, false
				}
				sc.vals = grow(sc.vals, (pb.rows+1)*cols)
				if !lm.scanRow(&p, sc.vals[pb.rows*cols:], sc) {
					return pb, false
				}
				pb.rows++
				if p.byte(']') {
					break
				}
				if !p.byte(',') {
					return pb, false
				}
			}
		case "output":
			v, ok := p.str()
			if seenOutput || !ok {
				return pb, false
			}
			seenOutput = true
			switch string(v) {
			case "", "response":
				pb.kind = models.Response
			case "raw":
				pb.kind = models.Raw
			default:
				return pb, false
			}
		default:
			return pb, false
		}
		if p.byte('}') {
			break
		}
		if !p.byte(',') {
			return pb, false
		}
	}
	p.space()
	return pb, seenRows && p.i == len(p.b)
}

// scanRow reads one row object into dst[:cols]: every input of the model
// once, null or a number, a string only for a categorical input, bound
// as Binder.Bind binds the text the general path would give it.
func (lm *loadedModel) scanRow(p *scanner, dst []float64, sc *predictScratch) bool {
	if !p.byte('{') {
		return false
	}
	clear(sc.seen)
	n := 0
	for {
		key, ok := p.str()
		if !ok || !p.byte(':') {
			return false
		}
		i, known := lm.pos[string(key)]
		if !known || sc.seen[i] {
			return false
		}
		sc.seen[i] = true
		n++
		p.space()
		var v []byte
		switch c := p.peek(); {
		case c == 'n':
			if !p.literal("null") {
				return false
			}
		case c == '"':
			if lm.kinds[i] != features.Categorical {
				return false
			}
			if v, ok = p.str(); !ok {
				return false
			}
		case c == '-' || c >= '0' && c <= '9':
			if v, ok = p.number(); !ok {
				return false
			}
		default:
			return false
		}
		// A view of the body, which outlives Bind (scanPredict clears
		// it); null is the empty text, a missing value, as in record.
		sc.rec[i] = unsafe.String(unsafe.SliceData(v), len(v))
		if p.byte('}') {
			break
		}
		if !p.byte(',') {
			return false
		}
	}
	if n != len(sc.rec) {
		return false
	}
	return lm.binder.Bind(dst, sc.rec) == nil
}

// scanner reads JSON tokens from b at i.
type scanner struct {
	b []byte
	i int
}

func (p *scanner) space() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *scanner) peek() byte {
	if p.i < len(p.b) {
		return p.b[p.i]
	}
	return 0
}

// byte skips spaces and reads c, reporting whether it was there.
func (p *scanner) byte(c byte) bool {
	p.space()
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *scanner) literal(s string) bool {
	if len(p.b)-p.i >= len(s) && string(p.b[p.i:p.i+len(s)]) == s {
		p.i += len(s)
		return true
	}
	return false
}

// str reads a string without escapes or control characters, valid UTF-8
// (so its JSON value is its bytes), and returns its bytes.
func (p *scanner) str() ([]byte, bool) {
	if !p.byte('"') {
		return nil, false
	}
	start, ascii := p.i, true
	for ; p.i < len(p.b); p.i++ {
		switch c := p.b[p.i]; {
		case c == '"':
			s := p.b[start:p.i]
			p.i++
			return s, ascii || utf8.Valid(s)
		case c == '\\' || c < 0x20:
			return nil, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return nil, false
}

// number reads a JSON number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func (p *scanner) number() ([]byte, bool) {
	start := p.i
	if p.peek() == '-' {
		p.i++
	}
	switch c := p.peek(); {
	case c == '0':
		p.i++
	case c >= '1' && c <= '9':
		p.digits()
	default:
		return nil, false
	}
	if p.peek() == '.' {
		p.i++
		if p.digits() == 0 {
			return nil, false
		}
	}
	if c := p.peek(); c == 'e' || c == 'E' {
		p.i++
		if c := p.peek(); c == '+' || c == '-' {
			p.i++
		}
		if p.digits() == 0 {
			return nil, false
		}
	}
	return p.b[start:p.i], true
}

func (p *scanner) digits() int {
	start := p.i
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
		p.i++
	}
	return p.i - start
}

// grow returns s with length n, reusing its array when it is big enough.
func grow[T any](s []T, n int) []T {
	if cap(s) >= n {
		return s[:n]
	}
	return append(s[:cap(s)], make([]T, n-cap(s))...)
}
