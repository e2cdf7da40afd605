package datasets

import (
	"math"
	"strconv"
	"strings"
)

// exactPow10 holds the powers of ten a float64 represents exactly.
var exactPow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15}

// parseFloat is strconv.ParseFloat(s, 64) with a fast path for what
// order lines hold: an optional sign, at most 15 digits and at most one
// decimal point ("3", "-12", "65.82"). There both the digits as an
// integer and the power of ten are exact float64s, so their quotient is
// the correctly rounded value, bit for bit what strconv returns. Anything
// else (exponents, longer numbers, inf, nan, underscores) goes to strconv.
func parseFloat(s string) (float64, error) {
	i, neg := 0, false
	if len(s) > 0 && (s[0] == '-' || s[0] == '+') {
		neg, i = s[0] == '-', 1
	}
	var mant uint64
	digits, frac, dot := 0, 0, false
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			if digits == 15 {
				return strconv.ParseFloat(s, 64)
			}
			mant = mant*10 + uint64(c-'0')
			digits++
			if dot {
				frac++
			}
		case c == '.' && !dot:
			dot = true
		default:
			return strconv.ParseFloat(s, 64)
		}
	}
	if digits == 0 {
		return strconv.ParseFloat(s, 64)
	}
	f := float64(mant) / exactPow10[frac]
	if neg {
		f = math.Copysign(f, -1)
	}
	return f, nil
}

// trimSpace is strings.TrimSpace with the common case, nothing to trim,
// decided from the two end bytes.
func trimSpace(s string) string {
	if len(s) > 0 && s[0] > ' ' && s[0] < 0x80 && s[len(s)-1] > ' ' && s[len(s)-1] < 0x80 {
		return s
	}
	return strings.TrimSpace(s)
}
