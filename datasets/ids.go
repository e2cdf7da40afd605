package datasets

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// NormalizeID returns an identifier as stored: the text verbatim
// ("00004" stays "00004", surrounding spaces included), except that an
// integral float written by a spreadsheet or pandas ("17850.0", "-3.00")
// loses its zero fraction ("17850", "-3"). Nothing else is touched:
// "1.5", "1e3" and "17850." stay as they are.
func NormalizeID(s string) string {
	dot := -1
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
		case c == '-' && i == 0:
		case c == '.' && dot < 0:
			dot = i
		default:
			return s
		}
	}
	// digits before the dot, at least one zero after it, zeros only.
	if dot <= 0 || dot == len(s)-1 || (dot == 1 && s[0] == '-') {
		return s
	}
	for i := dot + 1; i < len(s); i++ {
		if s[i] != '0' {
			return s
		}
	}
	return s[:dot]
}

// MaxIDBytes is the longest identifier import accepts, in bytes (UTF-8).
// Longer ones are refused: an id is a key, and a 10 MB "product_id" is a
// broken export, not an identifier.
const MaxIDBytes = 256

// InvalidUTF8 says what import does with text that is not valid UTF-8.
type InvalidUTF8 string

// InvalidUTF8 policies.
const (
	// InvalidUTF8Refuse makes such a value a bad line naming
	// file:line:column (the default).
	InvalidUTF8Refuse InvalidUTF8 = "refuse"
	// InvalidUTF8Replace replaces each run of invalid bytes with U+FFFD.
	// Two ids that differ only in their invalid bytes then become equal.
	InvalidUTF8Replace InvalidUTF8 = "replace"
)

// checkID returns why s cannot be stored as an identifier ("" if it
// can): more than MaxIDBytes bytes, or a control character (C0, DEL or
// C1: NUL, tab, newline, ...). s must be valid UTF-8.
func checkID(s string) string {
	if len(s) > MaxIDBytes {
		return fmt.Sprintf("identifier of %d bytes, longer than the limit of %d", len(s), MaxIDBytes)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == 0x7f {
			return fmt.Sprintf("identifier holds the control character %U at byte %d", rune(c), i+1)
		}
		if c >= 0x80 {
			for j, r := range s[i:] {
				if r < 0x20 || (r >= 0x7f && r < 0xa0) {
					return fmt.Sprintf("identifier holds the control character %U at byte %d", r, i+j+1)
				}
			}
			break
		}
	}
	return ""
}

// validText returns s as valid UTF-8: s itself when it is, else the
// repaired text with policy replace, else ok false.
func validText(s string, policy InvalidUTF8) (string, bool) {
	if utf8.ValidString(s) { // eight ASCII bytes at a time
		return s, true
	}
	if policy == InvalidUTF8Replace {
		return strings.ToValidUTF8(s, "\uFFFD"), true
	}
	return s, false
}
