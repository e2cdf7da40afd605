package xgbjson

import (
	"math"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// jsonDecoder reads JSON (RFC 8259) plus the literals NaN, Infinity and
// -Infinity, which XGBoost writes for non-finite floats. Numbers are
// parsed from their text twice, to float64 and to float32, so a float32
// field gets the float32 nearest the literal, as XGBoost's own reader
// does.
type jsonDecoder struct {
	b     []byte
	p     int
	depth int
}

func newJSON(b []byte) *jsonDecoder {
	d := &jsonDecoder{b: b}
	if strings.HasPrefix(string(b[:min(3, len(b))]), "\xef\xbb\xbf") {
		d.p = 3 // a UTF-8 byte order mark
	}
	return d
}

func (d *jsonDecoder) save() state     { return state{p: d.p, depth: d.depth} }
func (d *jsonDecoder) restore(s state) { d.p, d.depth = s.p, s.depth }
func (d *jsonDecoder) offset() int     { d.ws(); return d.p }

func (d *jsonDecoder) ws() {
	for d.p < len(d.b) {
		switch d.b[d.p] {
		case ' ', '\t', '\n', '\r':
			d.p++
		default:
			return
		}
	}
}

func (d *jsonDecoder) end() error {
	d.ws()
	if d.p != len(d.b) {
		return syntaxError(d.p, "%d bytes after the end of the document", len(d.b)-d.p)
	}
	return nil
}

func (d *jsonDecoder) peek() (kind, error) {
	d.ws()
	if d.p >= len(d.b) {
		return 0, syntaxError(d.p, "truncated: the file ends where a value should start")
	}
	switch c := d.b[d.p]; {
	case c == '{':
		return kindObject, nil
	case c == '[':
		return kindArray, nil
	case c == '"':
		return kindString, nil
	case c == 't' || c == 'f':
		return kindBool, nil
	case c == 'n':
		return kindNull, nil
	case c == '-' || c >= '0' && c <= '9' || c == 'N' || c == 'I':
		return kindNumber, nil
	default:
		return 0, syntaxError(d.p, "unexpected %s where a value should start", quoteByte(c))
	}
}

func (d *jsonDecoder) expect(k kind) error {
	got, err := d.peek()
	if err != nil {
		return err
	}
	if got != k {
		return syntaxError(d.p, "expected %s, found %s", k, got)
	}
	return nil
}

func (d *jsonDecoder) literal(s string) bool {
	if strings.HasPrefix(string(d.b[d.p:min(len(d.b), d.p+len(s))]), s) {
		d.p += len(s)
		return true
	}
	return false
}

func (d *jsonDecoder) null() error {
	if err := d.expect(kindNull); err != nil {
		return err
	}
	if !d.literal("null") {
		return syntaxError(d.p, "invalid literal")
	}
	return nil
}

func (d *jsonDecoder) boolean() (bool, error) {
	if err := d.expect(kindBool); err != nil {
		return false, err
	}
	switch {
	case d.literal("true"):
		return true, nil
	case d.literal("false"):
		return false, nil
	}
	return false, syntaxError(d.p, "invalid literal")
}

func (d *jsonDecoder) num() (number, error) {
	if err := d.expect(kindNumber); err != nil {
		return number{}, err
	}
	at := d.p
	switch {
	case d.literal("NaN"):
		return number{f64: math.NaN(), f32: float32(math.NaN())}, nil
	case d.literal("Infinity"):
		return number{f64: math.Inf(1), f32: float32(math.Inf(1))}, nil
	case d.literal("-Infinity"):
		return number{f64: math.Inf(-1), f32: float32(math.Inf(-1))}, nil
	}
	p := d.p
	if p < len(d.b) && d.b[p] == '-' {
		p++
	}
	digits := func() int {
		s := p
		for p < len(d.b) && d.b[p] >= '0' && d.b[p] <= '9' {
			p++
		}
		return p - s
	}
	n := digits()
	if n == 0 || n > 1 && d.b[p-n] == '0' {
		return number{}, syntaxError(at, "invalid number")
	}
	if p < len(d.b) && d.b[p] == '.' {
		p++
		if digits() == 0 {
			return number{}, syntaxError(at, "invalid number")
		}
	}
	if p < len(d.b) && (d.b[p] == 'e' || d.b[p] == 'E') {
		p++
		if p < len(d.b) && (d.b[p] == '+' || d.b[p] == '-') {
			p++
		}
		if digits() == 0 {
			return number{}, syntaxError(at, "invalid number")
		}
	}
	v, ok := parseNumber(d.b[d.p:p])
	if !ok {
		return number{}, syntaxError(at, "invalid number")
	}
	d.p = p
	return v, nil
}

// parseNumber parses a JSON number literal (already checked by the
// caller, or not: ok is false for anything strconv rejects).
func parseNumber(s []byte) (number, bool) {
	t := string(s)
	f64, err := strconv.ParseFloat(t, 64)
	if err != nil && !isRange(err) {
		return number{}, false
	}
	f32, err := strconv.ParseFloat(t, 32)
	if err != nil && !isRange(err) {
		return number{}, false
	}
	v := number{f64: f64, f32: float32(f32)}
	if !strings.ContainsAny(t, ".eE") {
		if i, err := strconv.ParseInt(t, 10, 64); err == nil {
			v.isInt, v.i = true, i
		}
	}
	return v, true
}

func isRange(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

func (d *jsonDecoder) str() (string, error) {
	if err := d.expect(kindString); err != nil {
		return "", err
	}
	at := d.p
	d.p++
	start := d.p
	// Fast path: no escapes.
	for d.p < len(d.b) {
		c := d.b[d.p]
		if c == '"' {
			s := d.b[start:d.p]
			d.p++
			if !utf8.Valid(s) {
				return "", syntaxError(at, "string is not valid UTF-8")
			}
			return string(s), nil
		}
		if c == '\\' {
			break
		}
		if c < 0x20 {
			return "", syntaxError(d.p, "control character in a string")
		}
		d.p++
	}
	buf := []byte(string(d.b[start:d.p]))
	for {
		if d.p >= len(d.b) {
			return "", syntaxError(at, "truncated: the file ends inside a string")
		}
		c := d.b[d.p]
		switch {
		case c == '"':
			d.p++
			if !utf8.Valid(buf) {
				return "", syntaxError(at, "string is not valid UTF-8")
			}
			return string(buf), nil
		case c < 0x20:
			return "", syntaxError(d.p, "control character in a string")
		case c != '\\':
			buf = append(buf, c)
			d.p++
			continue
		}
		if d.p+1 >= len(d.b) {
			return "", syntaxError(at, "truncated: the file ends inside a string")
		}
		e := d.b[d.p+1]
		d.p += 2
		switch e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, ok := d.hex4()
			if !ok {
				return "", syntaxError(d.p, "invalid \\u escape")
			}
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if d.p+1 < len(d.b) && d.b[d.p] == '\\' && d.b[d.p+1] == 'u' {
					d.p += 2
					if r2, ok = d.hex4(); !ok {
						return "", syntaxError(d.p, "invalid \\u escape")
					}
				}
				r = utf16.DecodeRune(r, r2)
			}
			buf = utf8.AppendRune(buf, r)
		default:
			return "", syntaxError(d.p-2, "invalid escape \\%c", e)
		}
	}
}

func (d *jsonDecoder) hex4() (rune, bool) {
	if len(d.b)-d.p < 4 {
		return 0, false
	}
	v, err := strconv.ParseUint(string(d.b[d.p:d.p+4]), 16, 32)
	if err != nil {
		return 0, false
	}
	d.p += 4
	return rune(v), true
}

func (d *jsonDecoder) enter() error {
	if d.depth >= maxNesting {
		return syntaxError(d.p, "containers nested deeper than %d", maxNesting)
	}
	d.depth++
	d.p++
	return nil
}

func (d *jsonDecoder) array(fn func() error) error {
	if err := d.expect(kindArray); err != nil {
		return err
	}
	if err := d.enter(); err != nil {
		return err
	}
	d.ws()
	if d.p < len(d.b) && d.b[d.p] == ']' {
		d.p++
		d.depth--
		return nil
	}
	for {
		if err := fn(); err != nil {
			return err
		}
		d.ws()
		if d.p >= len(d.b) {
			return syntaxError(d.p, "truncated: the file ends inside an array")
		}
		switch d.b[d.p] {
		case ',':
			d.p++
		case ']':
			d.p++
			d.depth--
			return nil
		default:
			return syntaxError(d.p, "expected ',' or ']' in an array, found %s", quoteByte(d.b[d.p]))
		}
	}
}

func (d *jsonDecoder) object(fn func(key string) error) error {
	if err := d.expect(kindObject); err != nil {
		return err
	}
	if err := d.enter(); err != nil {
		return err
	}
	d.ws()
	if d.p < len(d.b) && d.b[d.p] == '}' {
		d.p++
		d.depth--
		return nil
	}
	for {
		k, err := d.str()
		if err != nil {
			return err
		}
		d.ws()
		if d.p >= len(d.b) {
			return syntaxError(d.p, "truncated: the file ends inside an object")
		}
		if d.b[d.p] != ':' {
			return syntaxError(d.p, "expected ':' after an object key, found %s", quoteByte(d.b[d.p]))
		}
		d.p++
		if err := fn(k); err != nil {
			return err
		}
		d.ws()
		if d.p >= len(d.b) {
			return syntaxError(d.p, "truncated: the file ends inside an object")
		}
		switch d.b[d.p] {
		case ',':
			d.p++
		case '}':
			d.p++
			d.depth--
			return nil
		default:
			return syntaxError(d.p, "expected ',' or '}' in an object, found %s", quoteByte(d.b[d.p]))
		}
	}
}
