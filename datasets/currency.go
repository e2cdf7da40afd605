package datasets

import (
	"slices"
	"strings"
)

// currencies are the ISO 4217 alphabetic codes a dataset's currency may
// be, sorted: the current codes (ISO 4217 list one, as published in
// 2025, funds and precious metals included), then codes withdrawn since
// 1999 that historical sales data still carries (the euro's predecessors,
// HRK, redenominated codes such as VEF and BYR, ANG until 2025).
var currencies = sortedCodes(
	// Current.
	"AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BHD BIF BMD BND BOB BOV BRL BSD BTN BWP BYN BZD "+
		"CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR "+
		"FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY "+
		"KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU "+
		"MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON "+
		"RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP "+
		"TRY TTD TWD TZS UAH UGX USD USN UYI UYU UYW UZS VED VES VND VUV WST XAF XAG XAU XBA XBB XBC "+
		"XBD XCD XCG XDR XOF XPD XPF XPT XSU XTS XUA XXX YER ZAR ZMW ZWG",
	// Withdrawn since 1999.
	"ANG ATS AZM BEF BGL BYR CSD CUC CYP DEM EEK ESP FIM FRF GHC GRD HRK IEP ITL LTL LUF LVL MGF "+
		"MRO MTL MZM NLG PTE ROL SDD SIT SKK SLL SRG STD TMM TRL VEB VEF YUM ZMK ZWD ZWL ZWN ZWR",
)

func sortedCodes(lists ...string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, strings.Fields(l)...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// ValidCurrency checks a dataset currency: empty (not stated) or an ISO
// 4217 alphabetic code in capitals (GBP, USD, EUR). The error is a
// *FieldError on Currency.
func ValidCurrency(code string) error {
	if code == "" {
		return nil
	}
	if _, ok := slices.BinarySearch(currencies, code); ok {
		return nil
	}
	if up := strings.ToUpper(code); up != code {
		if _, ok := slices.BinarySearch(currencies, up); ok {
			return Fieldf("Currency", code, "ISO 4217 codes are capitals: %s", up)
		}
	}
	return Fieldf("Currency", code, "not an ISO 4217 code (such as GBP, USD, EUR)")
}
