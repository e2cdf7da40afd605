package xgbjson

import (
	"encoding/binary"
	"math"
	"strconv"
	"unicode/utf8"
)

// ubjDecoder reads Universal Binary JSON (draft 12) as XGBoost writes it:
// big-endian numbers, strongly typed arrays ("[$d#L<n>" then n raw
// float32s) and counted or '}'-terminated objects whose keys are a length
// and bytes. Every declared count and length is checked against the bytes
// left before it is used, so an array that claims 2^40 elements is refused
// at once, whatever memory is free.
type ubjDecoder struct {
	b     []byte
	p     int
	depth int
	// typed is the element type of the strongly typed container being
	// read: its values carry no type marker. Zero when none.
	typed byte
}

func newUBJSON(b []byte) *ubjDecoder { return &ubjDecoder{b: b} }

func (d *ubjDecoder) save() state     { return state{d.p, d.depth, d.typed} }
func (d *ubjDecoder) restore(s state) { d.p, d.depth, d.typed = s.p, s.depth, s.typed }
func (d *ubjDecoder) offset() int     { return d.p }

func (d *ubjDecoder) end() error {
	if d.p != len(d.b) {
		return syntaxError(d.p, "%d bytes after the end of the document", len(d.b)-d.p)
	}
	return nil
}

func (d *ubjDecoder) truncated(what string) error {
	return syntaxError(d.p, "truncated: the file ends inside %s", what)
}

// marker returns the next value's type marker and consumes it (in a typed
// container there is none to consume). No-op markers are skipped.
func (d *ubjDecoder) marker() (byte, error) {
	if t := d.typed; t != 0 {
		d.typed = 0
		return t, nil
	}
	for d.p < len(d.b) && d.b[d.p] == 'N' {
		d.p++
	}
	if d.p >= len(d.b) {
		return 0, d.truncated("a value")
	}
	m := d.b[d.p]
	d.p++
	return m, nil
}

func markerKind(m byte) kind {
	switch m {
	case 'Z':
		return kindNull
	case 'T', 'F':
		return kindBool
	case 'i', 'U', 'I', 'l', 'L', 'd', 'D', 'H':
		return kindNumber
	case 'S', 'C':
		return kindString
	case '[':
		return kindArray
	case '{':
		return kindObject
	}
	return 0
}

func (d *ubjDecoder) peek() (kind, error) {
	if d.typed != 0 {
		return markerKind(d.typed), nil
	}
	p := d.p
	for p < len(d.b) && d.b[p] == 'N' {
		p++
	}
	if p >= len(d.b) {
		return 0, syntaxError(p, "truncated: the file ends where a value should start")
	}
	k := markerKind(d.b[p])
	if k == 0 {
		return 0, syntaxError(p, "unknown UBJSON type marker %s", quoteByte(d.b[p]))
	}
	return k, nil
}

func quoteByte(c byte) string {
	if c >= 0x20 && c < 0x7f {
		return strconv.QuoteRune(rune(c))
	}
	return "0x" + strconv.FormatUint(uint64(c), 16)
}

// fixed returns the next n bytes.
func (d *ubjDecoder) fixed(n int, what string) ([]byte, error) {
	if len(d.b)-d.p < n {
		return nil, d.truncated(what)
	}
	s := d.b[d.p : d.p+n]
	d.p += n
	return s, nil
}

// integer reads an integer value of type m.
func (d *ubjDecoder) integer(m byte) (int64, bool, error) {
	switch m {
	case 'i':
		s, err := d.fixed(1, "an int8")
		if err != nil {
			return 0, true, err
		}
		return int64(int8(s[0])), true, nil
	case 'U':
		s, err := d.fixed(1, "a uint8")
		if err != nil {
			return 0, true, err
		}
		return int64(s[0]), true, nil
	case 'I':
		s, err := d.fixed(2, "an int16")
		if err != nil {
			return 0, true, err
		}
		return int64(int16(binary.BigEndian.Uint16(s))), true, nil
	case 'l':
		s, err := d.fixed(4, "an int32")
		if err != nil {
			return 0, true, err
		}
		return int64(int32(binary.BigEndian.Uint32(s))), true, nil
	case 'L':
		s, err := d.fixed(8, "an int64")
		if err != nil {
			return 0, true, err
		}
		return int64(binary.BigEndian.Uint64(s)), true, nil
	}
	return 0, false, nil
}

// length reads a count or a string length: an integer value with its own
// marker, at least zero and at most the bytes left divided by unit (the
// fewest bytes each counted item takes).
func (d *ubjDecoder) length(what string, unit int) (int, error) {
	at := d.p
	if d.p >= len(d.b) {
		return 0, d.truncated("the length of " + what)
	}
	m := d.b[d.p]
	d.p++
	n, ok, err := d.integer(m)
	if !ok {
		return 0, syntaxError(at, "the length of %s has type marker %s, not an integer", what, quoteByte(m))
	}
	if err != nil {
		return 0, err
	}
	if n < 0 {
		return 0, syntaxError(at, "%s declares a negative length (%d)", what, n)
	}
	if left := int64(len(d.b) - d.p); n > left/int64(unit) {
		return 0, syntaxError(at, "truncated or corrupt: %s declares %d items of at least %d bytes, but only %d bytes are left in the file",
			what, n, unit, left)
	}
	return int(n), nil
}

func (d *ubjDecoder) num() (number, error) {
	at := d.p
	m, err := d.marker()
	if err != nil {
		return number{}, err
	}
	if i, ok, err := d.integer(m); ok {
		if err != nil {
			return number{}, err
		}
		return number{f64: float64(i), f32: float32(i), isInt: true, i: i}, nil
	}
	switch m {
	case 'd':
		s, err := d.fixed(4, "a float32")
		if err != nil {
			return number{}, err
		}
		f := math.Float32frombits(binary.BigEndian.Uint32(s))
		return number{f64: float64(f), f32: f}, nil
	case 'D':
		s, err := d.fixed(8, "a float64")
		if err != nil {
			return number{}, err
		}
		f := math.Float64frombits(binary.BigEndian.Uint64(s))
		return number{f64: f, f32: float32(f)}, nil
	case 'H':
		n, err := d.length("a high-precision number", 1)
		if err != nil {
			return number{}, err
		}
		s := d.b[d.p : d.p+n]
		d.p += n
		v, ok := parseNumber(s)
		if !ok {
			return number{}, syntaxError(at, "high-precision number %q is not a number", s)
		}
		return v, nil
	}
	return number{}, syntaxError(at, "expected a number, found %s", markerKind(m))
}

func (d *ubjDecoder) str() (string, error) {
	at := d.p
	m, err := d.marker()
	if err != nil {
		return "", err
	}
	var s []byte
	switch m {
	case 'C':
		if s, err = d.fixed(1, "a char"); err != nil {
			return "", err
		}
	case 'S':
		n, err := d.length("a string", 1)
		if err != nil {
			return "", err
		}
		s = d.b[d.p : d.p+n]
		d.p += n
	default:
		return "", syntaxError(at, "expected a string, found %s", markerKind(m))
	}
	if !utf8.Valid(s) {
		return "", syntaxError(at, "string is not valid UTF-8")
	}
	return string(s), nil
}

func (d *ubjDecoder) boolean() (bool, error) {
	at := d.p
	m, err := d.marker()
	if err != nil {
		return false, err
	}
	switch m {
	case 'T':
		return true, nil
	case 'F':
		return false, nil
	}
	return false, syntaxError(at, "expected a boolean, found %s", markerKind(m))
}

func (d *ubjDecoder) null() error {
	at := d.p
	m, err := d.marker()
	if err != nil {
		return err
	}
	if m != 'Z' {
		return syntaxError(at, "expected null, found %s", markerKind(m))
	}
	return nil
}

// elemSize is the fewest bytes a value of type t takes inside a strongly
// typed container; zero for a type such a container may not hold.
func elemSize(t byte) int {
	switch t {
	case 'i', 'U', 'C':
		return 1
	case 'I':
		return 2
	case 'l', 'd':
		return 4
	case 'L', 'D':
		return 8
	case 'S', 'H':
		return 2 // a length marker and a length byte
	}
	return 0
}

// header reads the optional "$type" and "#count" of a container. typ is
// zero and n is -1 when they are absent.
func (d *ubjDecoder) header(what string, minItem int) (typ byte, n int, err error) {
	n = -1
	if d.p < len(d.b) && d.b[d.p] == '$' {
		at := d.p
		if d.p+1 >= len(d.b) {
			return 0, 0, d.truncated("the type of " + what)
		}
		typ = d.b[d.p+1]
		d.p += 2
		if elemSize(typ) == 0 {
			return 0, 0, syntaxError(at, "%s of type %s is not supported", what, quoteByte(typ))
		}
		if d.p >= len(d.b) || d.b[d.p] != '#' {
			if d.p >= len(d.b) {
				return 0, 0, d.truncated(what)
			}
			return 0, 0, syntaxError(d.p, "typed %s without a count", what)
		}
	}
	if d.p < len(d.b) && d.b[d.p] == '#' {
		d.p++
		unit := minItem
		if typ != 0 {
			unit = elemSize(typ) + minItem - 1
		}
		if n, err = d.length(what, unit); err != nil {
			return 0, 0, err
		}
	}
	return typ, n, nil
}

func (d *ubjDecoder) enter(at int) error {
	if d.depth >= maxNesting {
		return syntaxError(at, "containers nested deeper than %d", maxNesting)
	}
	d.depth++
	return nil
}

func (d *ubjDecoder) array(fn func() error) error {
	at := d.p
	m, err := d.marker()
	if err != nil {
		return err
	}
	if m != '[' {
		return syntaxError(at, "expected an array, found %s", markerKind(m))
	}
	if err := d.enter(at); err != nil {
		return err
	}
	typ, n, err := d.header("an array", 1)
	if err != nil {
		return err
	}
	if n >= 0 {
		for range n {
			d.typed = typ
			if err := fn(); err != nil {
				return err
			}
			if d.typed != 0 {
				return syntaxError(d.p, "internal: array element not consumed")
			}
		}
	} else {
		for {
			for d.p < len(d.b) && d.b[d.p] == 'N' {
				d.p++
			}
			if d.p >= len(d.b) {
				return d.truncated("an array")
			}
			if d.b[d.p] == ']' {
				d.p++
				break
			}
			if err := fn(); err != nil {
				return err
			}
		}
	}
	d.depth--
	return nil
}

func (d *ubjDecoder) key() (string, error) {
	n, err := d.length("an object key", 1)
	if err != nil {
		return "", err
	}
	s := d.b[d.p : d.p+n]
	if !utf8.Valid(s) {
		return "", syntaxError(d.p, "object key is not valid UTF-8")
	}
	d.p += n
	return string(s), nil
}

func (d *ubjDecoder) object(fn func(key string) error) error {
	at := d.p
	m, err := d.marker()
	if err != nil {
		return err
	}
	if m != '{' {
		return syntaxError(at, "expected an object, found %s", markerKind(m))
	}
	if err := d.enter(at); err != nil {
		return err
	}
	// Each member takes at least a key length (2 bytes) and a value.
	typ, n, err := d.header("an object", 3)
	if err != nil {
		return err
	}
	if n >= 0 {
		for range n {
			k, err := d.key()
			if err != nil {
				return err
			}
			d.typed = typ
			if err := fn(k); err != nil {
				return err
			}
			if d.typed != 0 {
				return syntaxError(d.p, "internal: object member not consumed")
			}
		}
	} else {
		for {
			for d.p < len(d.b) && d.b[d.p] == 'N' {
				d.p++
			}
			if d.p >= len(d.b) {
				return d.truncated("an object")
			}
			if d.b[d.p] == '}' {
				d.p++
				break
			}
			k, err := d.key()
			if err != nil {
				return err
			}
			if err := fn(k); err != nil {
				return err
			}
		}
	}
	d.depth--
	return nil
}
