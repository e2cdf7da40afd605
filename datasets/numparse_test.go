package datasets

import (
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// parseFloat must be bit for bit strconv.ParseFloat, errors included.
func checkParseFloat(t *testing.T, s string) {
	t.Helper()
	want, werr := strconv.ParseFloat(s, 64)
	got, gerr := parseFloat(s)
	if (werr == nil) != (gerr == nil) || math.Float64bits(got) != math.Float64bits(want) {
		t.Fatalf("parseFloat(%q) = %v (%016x), %v; strconv: %v (%016x), %v", s, got, math.Float64bits(got), gerr, want, math.Float64bits(want), werr)
	}
}

func TestParseFloatMatchesStrconv(t *testing.T) {
	for _, s := range []string{
		"0", "-0", "+0", "0.0", "-0.0", "1", "-1", "+1", "65.82", "8.02", "0.1", "0.3", ".5", "5.", "-.5", ".",
		"", "-", "+", "1.2.3", "1e3", "1E-2", "inf", "-Inf", "NaN", "1_000", "0x10", " 1", "1 ", "--1",
		"123456789012345", "1234567890123456", "99999999999999.9", "0.000000000000001", "0.0000000000000001",
		"9007199254740993", "4.35", "2.675", "1.005", "17850.0", "-74215.00",
	} {
		checkParseFloat(t, s)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 200000 {
		n := r.IntN(16) + 1
		b := make([]byte, 0, n+2)
		if r.IntN(4) == 0 {
			b = append(b, '-')
		}
		dot := r.IntN(n + 2)
		for i := range n {
			if i == dot {
				b = append(b, '.')
			}
			b = append(b, byte('0'+r.IntN(10)))
		}
		checkParseFloat(t, string(b))
	}
}

func FuzzParseFloat(f *testing.F) {
	for _, s := range []string{"65.82", "-3", "1e5", ".", "123456789012345.6"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkParseFloat(t, s) })
}

func TestTrimSpace(t *testing.T) {
	for _, s := range []string{"", " ", "a", " a", "a ", "\ta\r", "\u00a0a", "a\u0085", "ab", "a b", "\u2003x\u2003", "é", "x\x7f"} {
		if got, want := trimSpace(s), strings.TrimSpace(s); got != want {
			t.Errorf("trimSpace(%q) = %q, want %q", s, got, want)
		}
	}
}
