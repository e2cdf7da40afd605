package churn

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/models/btyd"
)

// windows names the window of a feature by its suffix.
var windows = map[string]string{"7d": "7 days", "30d": "30 days", "90d": "90 days", "365d": "365 days", "30": "30 days", "90": "90 days", "365": "365 days"}

// Describe states a churn feature's value in words, as a reason:
// Describe("recency_days", 143) is "no order for 143 days". A NaN value
// (missing), or a design column "<feature>_missing", reads as unknown; a
// feature it does not know reads "name = value".
func Describe(feature string, v float64) string {
	if base, ok := strings.CutSuffix(feature, "_missing"); ok {
		return missingText(base)
	}
	if math.IsNaN(v) {
		return missingText(feature)
	}
	if h, ok := strings.CutPrefix(feature, btyd.ChurnExpectedPrefix); ok {
		return oneDecimal(v) + " purchase days expected in the next " + spanWords(h) + " (BG/NBD)"
	}
	n := int64(math.Round(v))
	name, win := feature, ""
	if i := strings.LastIndexByte(feature, '_'); i > 0 {
		if w, ok := windows[feature[i+1:]]; ok {
			name, win = feature[:i], w
		}
	}
	switch name {
	case "recency_days":
		return plural(n, "no order for %d day", "no order for %d days")
	case "tenure_days":
		return plural(n, "first order %d day ago", "first order %d days ago")
	case "orders", "frequency":
		if n == 0 {
			return "no order in the last " + win
		}
		return plural(n, "%d order in the last "+win, "%d orders in the last "+win)
	case "spend", "monetary":
		if v == 0 {
			return "nothing spent in the last " + win
		}
		return "spent " + money(v) + " in the last " + win
	case "gap_mean_days":
		return fmt.Sprintf("orders every %s days on average", oneDecimal(v))
	case "gap_std_days":
		return fmt.Sprintf("days between orders vary by %s", oneDecimal(v))
	case "recency_gap_ratio":
		return fmt.Sprintf("%s times the usual gap since the last order", oneDecimal(v))
	case "spend_trend":
		switch {
		case v < 0:
			return fmt.Sprintf("spending down %d%% on the 90 days before", int64(math.Round(-100*v)))
		case v > 0:
			return fmt.Sprintf("spending up %d%% on the 90 days before", int64(math.Round(100*v)))
		}
		return "spending flat on the 90 days before"
	case "distinct_categories":
		return plural(n, "bought from %d category", "bought from %d categories")
	case "distinct_products":
		return plural(n, "bought %d distinct product", "bought %d distinct products")
	case "return_rate":
		return fmt.Sprintf("%d%% of lines returned", int64(math.Round(100*v)))
	case "basket_mean":
		return "average basket " + money(v)
	case "views":
		return countIn(n, "product view", "product views", win)
	case "cart_adds":
		return countIn(n, "cart add", "cart adds", win)
	case "abandoned_carts":
		return countIn(n, "day with an abandoned cart", "days with an abandoned cart", win)
	case "loyalty_points":
		return fmt.Sprintf("%s loyalty points", oneDecimal(v))
	case btyd.ChurnPAlive:
		return fmt.Sprintf("%d%% likely still active (BG/NBD)", int64(math.Round(100*v)))
	}
	return feature + " = " + strconv.FormatFloat(v, 'g', 6, 64)
}

func missingText(feature string) string {
	switch feature {
	case "gap_mean_days", "recency_gap_ratio":
		return "fewer than 2 orders"
	case "gap_std_days":
		return "fewer than 3 orders"
	case "spend_trend":
		return "nothing spent in the last 180 days"
	case "loyalty_points":
		return "no loyalty account"
	case "recency_days", "tenure_days", "return_rate", "basket_mean":
		return "no order in the lookback"
	case btyd.ChurnPAlive:
		return "no purchase history for BG/NBD"
	}
	if strings.HasPrefix(feature, btyd.ChurnExpectedPrefix) {
		return "no purchase history for BG/NBD"
	}
	return feature + " unknown"
}

// spanWords reads a span (90d, 13w) in words; another text as is.
func spanWords(s string) string {
	sp, err := datasets.ParseSpan(s)
	if err != nil {
		return s
	}
	return plural(int64(sp.Days), "%d day", "%d days")
}

func plural(n int64, one, many string) string {
	if n == 1 {
		return fmt.Sprintf(one, n)
	}
	return fmt.Sprintf(many, n)
}

func countIn(n int64, one, many, win string) string {
	if n == 0 {
		return "no " + one + " in the last " + win
	}
	return plural(n, "%d "+one+" in the last "+win, "%d "+many+" in the last "+win)
}

// money writes an amount with two decimals and a dot.
func money(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }

// oneDecimal writes a number with at most one decimal.
func oneDecimal(v float64) string {
	return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64)
}
