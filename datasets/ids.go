package datasets

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
