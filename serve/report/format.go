package report

import (
	"math"
	"strconv"
	"strings"
)

// Int formats a count with thousands separators: 1,234,567.
func Int(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// Count formats a (possibly weighted) count: whole numbers as Int, others
// with one decimal.
func Count(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return Int(int64(v))
	}
	whole := math.Trunc(v)
	frac := strconv.FormatFloat(math.Abs(v-whole), 'f', 1, 64)
	if frac == "1.0" {
		return Int(int64(whole) + int64(math.Copysign(1, v)))
	}
	return Int(int64(whole)) + frac[1:]
}

// Pct formats a share (0.123) as a percentage with the given decimals
// (12.3%).
func Pct(v float64, decimals int) string {
	if math.IsNaN(v) {
		return "n/a"
	}
	return strconv.FormatFloat(100*v, 'f', decimals, 64) + "%"
}

// Points formats a difference of two shares in percentage points, with a
// sign (+1.2 pp).
func Points(v float64, decimals int) string {
	s := strconv.FormatFloat(100*v, 'f', decimals, 64)
	if !strings.HasPrefix(s, "-") {
		s = "+" + s
	}
	return s + " pp"
}

// Num formats a measure with the given decimals.
func Num(v float64, decimals int) string {
	if math.IsNaN(v) {
		return "n/a"
	}
	return strconv.FormatFloat(v, 'f', decimals, 64)
}

// Signed formats a difference with a sign.
func Signed(v float64, decimals int) string {
	s := Num(v, decimals)
	if v >= 0 && !strings.HasPrefix(s, "-") {
		s = "+" + s
	}
	return s
}
