package datasets

import (
	"fmt"
	"strings"
)

// DefaultFeeCodes are the product codes classified as fees by default:
// postage, carriage, bank and marketplace charges, charity commission,
// and gift vouchers (a trailing '*' matches any suffix).
var DefaultFeeCodes = []string{"POST", "DOT", "C2", "BANK CHARGES", "AMAZONFEE", "PADS", "CRUK", "gift_*"}

// DefaultAdjustmentCodes are the product codes classified as adjustments
// by default: manual corrections, discounts, samples and bad debt.
var DefaultAdjustmentCodes = []string{"M", "m", "D", "S", "B"}

// LineTypeRules say how import derives line_type from an order line. The
// rules are applied in this order, first match wins:
//
//  1. product_id matches FeeCodes: fee; matches AdjustmentCodes: adjustment;
//  2. the line has a money column and its value is zero (a stock
//     adjustment or a free item): adjustment;
//  3. quantity < 0, or order_id starts with CancelPrefix: return;
//  4. quantity > 0: sale;
//  5. otherwise (quantity 0): adjustment.
//
// A code ending in '*' matches every product_id with that prefix.
type LineTypeRules struct {
	// FeeCodes are product codes of fee lines; nil means DefaultFeeCodes,
	// an empty non-nil slice means none.
	FeeCodes []string `json:"fee_codes"`
	// AdjustmentCodes are product codes of adjustment lines; nil means
	// DefaultAdjustmentCodes, an empty non-nil slice means none.
	AdjustmentCodes []string `json:"adjustment_codes"`
	// CancelPrefix, when not empty, marks lines whose order_id starts with
	// it as returns (cancellations) whatever their quantity.
	CancelPrefix string `json:"cancel_prefix,omitempty"`
}

// withDefaults returns r with nil code lists replaced by the defaults.
func (r LineTypeRules) withDefaults() LineTypeRules {
	if r.FeeCodes == nil {
		r.FeeCodes = append([]string(nil), DefaultFeeCodes...)
	}
	if r.AdjustmentCodes == nil {
		r.AdjustmentCodes = append([]string(nil), DefaultAdjustmentCodes...)
	}
	return r
}

// lineRules is the compiled form of LineTypeRules.
type lineRules struct {
	exact        map[string]string
	exactLens    uint64 // bit min(len, 63) set for every exact code: most ids skip the map
	prefixes     []string
	prefixType   []string
	cancelPrefix string
}

func compileLineRules(r LineTypeRules) (*lineRules, error) {
	r = r.withDefaults()
	c := &lineRules{exact: map[string]string{}, cancelPrefix: r.CancelPrefix}
	add := func(codes []string, typ string) error {
		for _, code := range codes {
			if code == "" || code == "*" {
				return fmt.Errorf("line type rules: empty %s code", typ)
			}
			if p, ok := strings.CutSuffix(code, "*"); ok {
				c.prefixes = append(c.prefixes, p)
				c.prefixType = append(c.prefixType, typ)
				continue
			}
			if prev, ok := c.exact[code]; ok && prev != typ {
				return fmt.Errorf("line type rules: code %q is both %s and %s", code, prev, typ)
			}
			c.exact[code] = typ
			c.exactLens |= 1 << min(len(code), 63)
		}
		return nil
	}
	if err := add(r.FeeCodes, LineFee); err != nil {
		return nil, err
	}
	if err := add(r.AdjustmentCodes, LineAdjustment); err != nil {
		return nil, err
	}
	return c, nil
}

// classify applies the rules to one line. hasMoney reports whether the
// line has a unit price or an amount, and value is its money value.
func (c *lineRules) classify(productID, orderID string, quantity float64, hasMoney bool, value float64) string {
	if productID != "" {
		if c.exactLens&(1<<min(len(productID), 63)) != 0 {
			if t, ok := c.exact[productID]; ok {
				return t
			}
		}
		for i, p := range c.prefixes {
			if strings.HasPrefix(productID, p) {
				return c.prefixType[i]
			}
		}
	}
	switch {
	case hasMoney && value == 0:
		return LineAdjustment
	case quantity < 0 || (c.cancelPrefix != "" && strings.HasPrefix(orderID, c.cancelPrefix)):
		return LineReturn
	case quantity > 0:
		return LineSale
	}
	return LineAdjustment
}

// ClassifyLine derives the line type of o under rules, as import does.
func ClassifyLine(o *Order, rules LineTypeRules) (string, error) {
	c, err := compileLineRules(rules)
	if err != nil {
		return "", err
	}
	v, ok := o.Value()
	return c.classify(o.ProductID, o.OrderID, o.Quantity, ok, v), nil
}

func validLineType(s string) bool {
	switch s {
	case LineSale, LineReturn, LineFee, LineAdjustment:
		return true
	}
	return false
}

// finishOrder completes an imported order line: quantity defaults to 1
// when unmapped, and line_type is derived unless the source gives it.
func finishOrder(o *Order, mapped []bool, rules *lineRules) error {
	const quantityCol, lineTypeCol = 4, 11
	if !mapped[quantityCol] {
		o.Quantity = 1
	}
	if mapped[lineTypeCol] {
		if !validLineType(o.LineType) {
			return fmt.Errorf("not a line type (sale, return, fee, adjustment)")
		}
		return nil
	}
	v, ok := o.Value()
	o.LineType = rules.classify(o.ProductID, o.OrderID, o.Quantity, ok, v)
	return nil
}
