package offers

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"

	"gopkg.in/yaml.v3"
)

// Rules are the business's eligibility constraints on offers, applied
// after ranking and before the top N is cut (docs/PUBLISHING.md).
type Rules struct {
	// Deny removes these items, and the items of these categories.
	Deny ItemList `yaml:"deny" json:"deny"`
	// Allow, when it names anything, keeps only these items and the items
	// of these categories.
	Allow ItemList `yaml:"allow" json:"allow"`
	// InStock keeps only products with units on hand at the latest count
	// before as_of (summed over warehouses), when the dataset has a stock
	// table; at category level, or without one, it is not applied (the
	// manifest says so).
	InStock bool `yaml:"in_stock" json:"in_stock"`
	// MinPrice removes items whose price (the catalogue's, else the mean
	// unit price of the lookback) is below it, or unknown.
	MinPrice *float64 `yaml:"min_price" json:"min_price,omitempty"`
	// MaxPerCategory keeps at most this many offers per category (0: no
	// limit); items without a category are not limited.
	MaxPerCategory int `yaml:"max_per_category" json:"max_per_category,omitempty"`
}

// ItemList names items and categories.
type ItemList struct {
	Items      []string `yaml:"items" json:"items,omitempty"`
	Categories []string `yaml:"categories" json:"categories,omitempty"`
}

func (l ItemList) empty() bool { return len(l.Items) == 0 && len(l.Categories) == 0 }

func (l ItemList) has(item, cat string) bool {
	return slices.Contains(l.Items, item) || cat != "" && slices.Contains(l.Categories, cat)
}

// Rule names, as the manifest counts them.
const (
	RuleExcludeBought  = "exclude_bought"
	RuleDeny           = "deny"
	RuleAllow          = "allow"
	RuleInStock        = "in_stock"
	RuleMinPrice       = "min_price"
	RuleMaxPerCategory = "max_per_category"
)

// ParseRules reads a rules file (YAML). Unknown keys, negative limits and
// a second document are refused, naming the file and line.
func ParseRules(name string, b []byte) (*Rules, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var r Rules
	if err := dec.Decode(&r); err != nil {
		if errors.Is(err, io.EOF) {
			return &r, nil // an empty file: no rules
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		line := extra.Line
		if len(extra.Content) > 0 {
			line = extra.Content[0].Line
		}
		return nil, fmt.Errorf("%s:%d: one YAML document expected", name, line)
	}
	if err := r.Check(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &r, nil
}

// Check refuses a negative or non-finite limit.
func (r *Rules) Check() error {
	if r.MaxPerCategory < 0 {
		return fmt.Errorf("max_per_category %d: want 0 (no limit) or more", r.MaxPerCategory)
	}
	if p := r.MinPrice; p != nil && (math.IsNaN(*p) || math.IsInf(*p, 0)) {
		return fmt.Errorf("min_price %v: want a number", *p)
	}
	return nil
}
