package gbdt

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"unicode/utf8"
)

// SniffLen is how many leading bytes Sniff wants (fewer for a shorter
// file).
const SniffLen = 4096

// Sniff names the format of a model file from its first bytes (head, at
// most SniffLen of them) and its size. It never looks at a file name. A
// file that is no supported model is a *RefusedError saying what it looks
// like instead. Sniff only recognises: the parsers still validate
// everything.
func Sniff(head []byte, size int64) (Format, error) {
	if size == 0 || len(head) == 0 {
		return "", refuse("empty file", "no model in it")
	}
	if allZero(head) {
		return "", refuse("a file of zero bytes", "not a model (an unwritten, preallocated or truncated file?)")
	}
	switch {
	case bytes.HasPrefix(head, []byte("binf")):
		return "", refuse("XGBoost 1.0+ binary (binf header)", "re-save the model as JSON: booster.save_model(\"model.json\")")
	case bytes.HasPrefix(head, []byte("CONFIG-offset:")):
		return "", refuse("XGBoost serialised booster (pickle/save_raw snapshot)", "re-save the model as JSON: booster.save_model(\"model.json\")")
	case len(head) >= 2 && head[0] == 0x80 && head[1] >= 2 && head[1] <= 5:
		return "", refuse(fmt.Sprintf("Python pickle (protocol %d): a scikit-learn, joblib or pickled Booster object", head[1]),
			"pickles run code when loaded and are not imported; save LightGBM models with booster.save_model(\"model.txt\") and XGBoost models with save_model(\"model.json\")")
	case bytes.HasPrefix(head, []byte("ccopy_reg\n")) || bytes.HasPrefix(head, []byte("csklearn.")) || bytes.HasPrefix(head, []byte("(dp0")) || bytes.HasPrefix(head, []byte("(lp0")):
		return "", refuse("Python pickle (protocol 0): a scikit-learn model",
			"pickles run code when loaded and are not imported; scikit-learn gradient boosting is not supported, train with LightGBM or XGBoost")
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
		return "", refuse("gzip-compressed data", "decompress it first (a compressed joblib pickle is not a supported model either)")
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		return "", refuse("a zip archive", "not a model file; unpack it first")
	case bytes.HasPrefix(head, []byte{0xfd, '7', 'z', 'X', 'Z', 0}), bytes.HasPrefix(head, []byte("BZh")), bytes.HasPrefix(head, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		return "", refuse("compressed data (xz, bzip2 or zstd)", "decompress it first")
	case len(head) >= 2 && head[0] == 0x78 && (head[1] == 0x01 || head[1] == 0x5e || head[1] == 0x9c || head[1] == 0xda):
		return "", refuse("zlib-compressed data (a compressed joblib pickle?)", "not a supported model")
	}
	text := bytes.TrimPrefix(head, []byte("\xef\xbb\xbf"))
	trimmed := bytes.TrimLeft(text, " \t\r\n")
	if bytes.HasPrefix(trimmed, []byte("{")) {
		return sniffObject(trimmed)
	}
	if bytes.HasPrefix(text, []byte("tree\n")) || bytes.HasPrefix(text, []byte("tree\r\n")) {
		return FormatLightGBMText, nil
	}
	if f, err, ok := sniffXGBoostBinary(head, size); ok {
		return f, err
	}
	if looksText(head) {
		first := firstLine(trimmed)
		switch {
		case bytes.HasPrefix(trimmed, []byte("version=")) || bytes.HasPrefix(trimmed, []byte("Tree=")):
			return "", refuse("a fragment of a LightGBM text model", "the file must start with the line \"tree\"; save it with booster.save_model(\"model.txt\")")
		case bytes.HasPrefix(trimmed, []byte("[")):
			return "", refuse("a JSON array", "not a LightGBM or XGBoost model")
		case bytes.HasPrefix(trimmed, []byte("<")):
			return "", refuse("XML or HTML text", "not a model (PMML is not supported)")
		case bytes.Count(first, []byte(",")) >= 1 || bytes.Count(first, []byte("\t")) >= 1:
			return "", refuse("a CSV or tab-separated table", "not a model (is this the reference file?)")
		}
		return "", refuse("text that is not a LightGBM or XGBoost model", "a LightGBM text model starts with the line \"tree\"")
	}
	return "", refuse("binary data of no known model format", "random or corrupt bytes? (not LightGBM text/JSON, not an XGBoost JSON, UBJSON or 0.90 binary)")
}

// sniffObject tells the JSON and UBJSON object formats apart.
func sniffObject(b []byte) (Format, error) {
	if len(b) >= 2 && bytes.IndexByte([]byte("iUIlLSZNTF$#"), b[1]) >= 0 && !bytes.HasPrefix(bytes.TrimLeft(b[1:], " \t\r\n"), []byte("\"")) {
		// UBJSON: '{' then a length marker for the first key.
		if bytes.Contains(b[:min(len(b), 64)], []byte("learner")) {
			return FormatXGBoostUBJSON, nil
		}
		return "", refuse("a UBJSON document that is not an XGBoost model", "no \"learner\" object at its start")
	}
	switch {
	case bytes.Contains(b, []byte(`"learner"`)):
		return FormatXGBoostJSON, nil
	case bytes.Contains(b, []byte(`"tree_info"`)) || matchKV(b, "name", "tree"):
		return FormatLightGBMJSON, nil
	case bytes.Contains(b, []byte(`"tree_structure"`)):
		return FormatLightGBMJSON, nil
	}
	if utf8.Valid(b) || looksText(b) {
		return "", refuse("a JSON document that is neither a LightGBM dump_model() nor an XGBoost model", "no \"learner\" or \"tree_info\" near its start")
	}
	return "", refuse("binary data of no known model format", "starts with '{' but is neither JSON nor UBJSON")
}

// matchKV reports whether b holds "key": "value" with any spacing.
func matchKV(b []byte, key, value string) bool {
	k := []byte(`"` + key + `"`)
	for {
		i := bytes.Index(b, k)
		if i < 0 {
			return false
		}
		b = b[i+len(k):]
		r := bytes.TrimLeft(b, " \t\r\n")
		if len(r) > 0 && r[0] == ':' {
			r = bytes.TrimLeft(r[1:], " \t\r\n")
			if bytes.HasPrefix(r, []byte(`"`+value+`"`)) {
				return true
			}
		}
	}
}

// xgbLearnerParamSize is sizeof(LearnerModelParam) in XGBoost <= 0.90.
const xgbLearnerParamSize = 136

// sniffXGBoostBinary recognises the legacy XGBoost binary header: a
// LearnerModelParam (136 bytes), then the objective and booster names as
// uint64-length-prefixed strings. ok is false when head is not one.
func sniffXGBoostBinary(head []byte, size int64) (f Format, err error, ok bool) {
	if len(head) < xgbLearnerParamSize+8 {
		return "", nil, false
	}
	le := binary.LittleEndian
	base := math.Float32frombits(le.Uint32(head[0:]))
	numFeature := le.Uint32(head[4:])
	numClass := int32(le.Uint32(head[8:]))
	extra := le.Uint32(head[12:])
	evals := le.Uint32(head[16:])
	if math.IsNaN(float64(base)) || math.IsInf(float64(base), 0) || numFeature == 0 || numFeature > 1<<30 ||
		numClass < 0 || numClass > 1<<20 || extra > 1 || evals > 1 {
		return "", nil, false
	}
	n := le.Uint64(head[xgbLearnerParamSize:])
	if n == 0 || n > 128 || uint64(len(head)) < xgbLearnerParamSize+8+n+8 {
		return "", nil, false
	}
	obj := head[xgbLearnerParamSize+8 : xgbLearnerParamSize+8+n]
	if !printable(obj) {
		return "", nil, false
	}
	off := xgbLearnerParamSize + 8 + n
	m := le.Uint64(head[off:])
	if m == 0 || m > 64 || uint64(len(head)) < off+8+m {
		return "", nil, false
	}
	gbm := head[off+8 : off+8+m]
	if !printable(gbm) {
		return "", nil, false
	}
	major, minor := le.Uint32(head[20:]), le.Uint32(head[24:])
	if major >= 1 && major < 100 {
		return "", refuse(fmt.Sprintf("XGBoost %d.%d binary", major, minor), "re-save the model as JSON: booster.save_model(\"model.json\")"), true
	}
	return FormatXGBoostBinary, nil, true
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func printable(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}

// looksText reports whether b is mostly printable UTF-8 text.
func looksText(b []byte) bool {
	bad := 0
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if n == 0 {
			break
		}
		if r == utf8.RuneError && n == 1 {
			if len(b) < utf8.UTFMax {
				break // a rune cut by the head's end
			}
			bad++
		} else if r < 0x20 && r != '\n' && r != '\r' && r != '\t' {
			bad++
		}
		b = b[n:]
	}
	return bad == 0
}

func firstLine(b []byte) []byte {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		return b[:i]
	}
	return b
}
