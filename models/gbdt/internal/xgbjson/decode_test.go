package xgbjson

import (
	"math"
	"reflect"
	"strings"
	"testing"
)

// value decodes the next value into plain Go values (numbers as float64).
func value(d decoder) (any, error) {
	k, err := d.peek()
	if err != nil {
		return nil, err
	}
	switch k {
	case kindNull:
		return nil, d.null()
	case kindBool:
		return d.boolean()
	case kindNumber:
		n, err := d.num()
		return n.f64, err
	case kindString:
		return d.str()
	case kindArray:
		out := []any{}
		err := d.array(func() error {
			v, err := value(d)
			out = append(out, v)
			return err
		})
		return out, err
	}
	out := map[string]any{}
	err = d.object(func(k string) error {
		v, err := value(d)
		out[k] = v
		return err
	})
	return out, err
}

// TestUBJSONDecoder checks every UBJSON type XGBoost or another encoder
// may write, against hand-assembled bytes (UBJSON draft 12: big-endian).
func TestUBJSONDecoder(t *testing.T) {
	for _, c := range []struct {
		name string
		in   string
		want any
	}{
		{"ints", "[i\xffU\xffI\xfe\xd4l\xff\xff\xff\xfeL\x00\x00\x00\x01\x00\x00\x00\x00]", []any{-1.0, 255.0, -300.0, -2.0, 4294967296.0}},
		{"floats", "[d\x3f\xc0\x00\x00D\xbf\xf8\x00\x00\x00\x00\x00\x00Hi\x031.5]", []any{1.5, -1.5, 1.5}},
		{"strings and literals", "[Cx" + "Si\x03abcTFZ]", []any{"x", "abc", true, false, nil}},
		{"no-ops", "[NNi\x01Ni\x02N]", []any{1.0, 2.0}},
		{"counted", "[#i\x02i\x01i\x02", []any{1.0, 2.0}},
		{"typed float32", "[$d#i\x02\x3f\x80\x00\x00\xc0\x00\x00\x00", []any{1.0, -2.0}},
		{"typed uint8", "[$U#i\x03\x00\x01\xff", []any{0.0, 1.0, 255.0}},
		{"typed int32", "[$l#U\x01\x80\x00\x00\x00", []any{float64(math.MinInt32)}},
		{"typed strings", "[$S#i\x02i\x01aU\x02bc", []any{"a", "bc"}},
		{"object", "{i\x01ai\x01i\x01b[]}", map[string]any{"a": 1.0, "b": []any{}}},
		{"counted object", "{#i\x01i\x01aSi\x01z", map[string]any{"a": "z"}},
		{"typed object", "{$d#i\x01i\x01k\x40\x00\x00\x00", map[string]any{"k": 2.0}},
	} {
		d := newUBJSON([]byte(c.in))
		got, err := value(d)
		if err == nil {
			err = d.end()
		}
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: got %#v, %v; want %#v", c.name, got, err, c.want)
		}
	}
	for _, c := range []struct{ name, in, word string }{
		{"typed array of arrays", "[$[#i\x01[]", "not supported"},
		{"typed without count", "[$d\x00", "without a count"},
		{"count not an integer", "[#d\x00\x00\x00\x00", "not an integer"},
		{"short float", "[d\x3f\xc0", "truncated"},
		{"string past the end", "Si\x05ab", "5 items of at least 1 bytes, but only 2"},
		{"unknown marker", "[X]", "unknown UBJSON type marker"},
		{"bad UTF-8", "Si\x01\xff", "UTF-8"},
		{"typed int64 count", "[$L#L\x00\x00\x00\x00\x00\x00\x00\x02\x00", "2 items of at least 8 bytes"},
	} {
		d := newUBJSON([]byte(c.in))
		_, err := value(d)
		if err == nil || !strings.Contains(err.Error(), c.word) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.word)
		}
	}
}

// TestJSONDecoder checks the JSON grammar edges.
func TestJSONDecoder(t *testing.T) {
	got, err := value(newJSON([]byte("\xef\xbb\xbf {\"a\\u00e9\\ud83d\\ude00\\n\": [1, -0.5e1, 1E-1, NaN, Infinity, -Infinity, true, null, \"\"]}")))
	if err != nil {
		t.Fatal(err)
	}
	a := got.(map[string]any)["aé😀\n"].([]any)
	if len(a) != 9 || a[0] != 1.0 || a[1] != -5.0 || a[2] != 0.1 || !math.IsNaN(a[3].(float64)) || a[4] != math.Inf(1) || a[5] != math.Inf(-1) {
		t.Errorf("got %#v", got)
	}
	// A float32 field gets the float32 nearest the literal, not a
	// float64 rounded again.
	n, err := newJSON([]byte("1.00000005960464477539062500001")).num()
	if err != nil || n.f32 != math.Nextafter32(1, 2) {
		t.Errorf("float32 of a literal just above the midpoint of 1 and its successor: %v, %v", n.f32, err)
	}
	for _, in := range []string{`[1,]`, `{"a":1,}`, `[01]`, `[1.]`, `[.5]`, `[1e]`, `["a`, "[\"\x01\"]", `{"a" 1}`, `[1 2]`, `[-]`, `tru`, `{1:2}`, `["\x"]`} {
		if _, err := value(newJSON([]byte(in))); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}
