package xgbjson

import "fmt"

// maxNesting bounds how deeply containers may nest. An XGBoost model nests
// about ten deep; the bound keeps a hostile file from exhausting the stack.
const maxNesting = 64

// kind is the type of the next value in a document.
type kind uint8

const (
	kindNull kind = iota + 1
	kindBool
	kindNumber
	kindString
	kindArray
	kindObject
)

func (k kind) String() string {
	switch k {
	case kindNull:
		return "null"
	case kindBool:
		return "a boolean"
	case kindNumber:
		return "a number"
	case kindString:
		return "a string"
	case kindArray:
		return "an array"
	case kindObject:
		return "an object"
	}
	return "nothing"
}

// number is a numeric value as both float64 and float32, each correctly
// rounded from what the file holds (for JSON text, from the decimal
// literal: a float32 field is never rounded twice).
type number struct {
	f64   float64
	f32   float32
	isInt bool // an integer literal or an integer UBJSON type
	i     int64
}

// decoder reads a document (JSON or UBJSON) value by value. Every method
// consumes exactly one value; containers call fn once per member, and fn
// must consume the member's value. Nothing is allocated from a size the
// file declares without first checking it against the bytes left.
type decoder interface {
	// peek reports the kind of the next value without consuming it.
	peek() (kind, error)
	// object calls fn with each key of the next value, an object.
	object(fn func(key string) error) error
	// array calls fn for each element of the next value, an array.
	array(fn func() error) error
	str() (string, error)
	num() (number, error)
	boolean() (bool, error)
	null() error
	// end checks that nothing but (for JSON) white space follows the
	// document.
	end() error
	// save and restore let a reader look ahead and come back.
	save() state
	restore(state)
	// offset is the byte offset of the next value, for messages.
	offset() int
}

// state is a decoder's position.
type state struct {
	p     int
	depth int
	typed byte
}

// syntaxErr is a malformed or truncated document.
type syntaxErr struct {
	p   int
	msg string
}

func (e *syntaxErr) Error() string { return fmt.Sprintf("byte %d: %s", e.p, e.msg) }

// syntaxError reports a malformed document at byte p.
func syntaxError(p int, format string, args ...any) error {
	return &syntaxErr{p, fmt.Sprintf(format, args...)}
}

// skip consumes the next value, whatever it is.
func skip(d decoder) error {
	k, err := d.peek()
	if err != nil {
		return err
	}
	switch k {
	case kindNull:
		return d.null()
	case kindBool:
		_, err = d.boolean()
	case kindNumber:
		_, err = d.num()
	case kindString:
		_, err = d.str()
	case kindArray:
		err = d.array(func() error { return skip(d) })
	case kindObject:
		err = d.object(func(string) error { return skip(d) })
	}
	return err
}
