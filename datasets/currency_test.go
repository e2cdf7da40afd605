package datasets

import (
	"strings"
	"testing"
)

func TestValidCurrency(t *testing.T) {
	for _, ok := range []string{"", "GBP", "USD", "EUR", "JPY", "CHF", "XAU", "EEK", "HRK"} {
		if err := ValidCurrency(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for code, want := range map[string]string{"gbp": "capitals: GBP", "EURO": "not an ISO 4217 code", "XYZ": "not an ISO 4217 code", "£": "not an ISO 4217 code"} {
		if err := ValidCurrency(code); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", code, err, want)
		}
	}
	for i := 1; i < len(currencies); i++ {
		if len(currencies[i]) != 3 || currencies[i-1] >= currencies[i] {
			t.Fatalf("currencies not sorted three-letter codes at %q", currencies[i])
		}
	}
}
