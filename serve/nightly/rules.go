package nightly

import (
	"fmt"
	"strconv"
	"time"

	"github.com/prevoir/prevoir/datasets"
)

// RulesVersion is the version of the rules file this code reads.
const RulesVersion = 1

// Rule types (docs/NIGHTLY.md, "Trigger rules").
const (
	// RuleChurnProbability fires for a customer whose churn probability
	// in tonight's churn publication is at or above Threshold.
	RuleChurnProbability = "churn_probability"
	// RuleLoyaltyLevel fires for a customer whose loyalty balance crossed
	// Level (from below to at or above) since the last run.
	RuleLoyaltyLevel = "loyalty_level"
	// RuleDaysWithoutOrder fires for a customer whose last order became
	// Days days old since the last run.
	RuleDaysWithoutOrder = "days_without_order"
	// RuleAnniversary fires on the anniversaries of a customer's first
	// purchase that fell since the last run.
	RuleAnniversary = "first_purchase_anniversary"
	// RuleAbandonedCart fires for a customer who added to a cart within
	// Within before as_of and ordered nothing since.
	RuleAbandonedCart = "abandoned_cart"
	// RuleTopOffer fires for a customer whose top offer (rank 1 in the
	// offers publication) has a probability at or above Threshold; it
	// fires only when tonight's offers publication exists.
	RuleTopOffer = "top_offer_probability"
)

// RuleTypes lists the rule types in documentation order.
var RuleTypes = []string{RuleChurnProbability, RuleLoyaltyLevel, RuleDaysWithoutOrder, RuleAnniversary, RuleAbandonedCart, RuleTopOffer}

// DefaultCooldown is a rule's cooldown when the file gives none.
const DefaultCooldown = Duration(30 * 24 * time.Hour)

// Rules is the trigger rules file: cmd/prevoir reads it from YAML.
type Rules struct {
	// Version is the rules format, 1.
	Version int `yaml:"version"`
	// Rules are evaluated in order; names are unique.
	Rules []Rule `yaml:"rules"`
}

// Rule turns scores and facts into events for one channel.
type Rule struct {
	// Name names the rule in events and in idempotency keys.
	Name string `yaml:"name"`
	// Type is one of RuleTypes.
	Type string `yaml:"type"`
	// Channel is where the message goes (email, sms, push, ...): a
	// customer opted out of it (or of all) never fires the rule.
	Channel string `yaml:"channel"`
	// Threshold is the probability churn_probability and
	// top_offer_probability fire at (default 0.7 and 0.5).
	Threshold float64 `yaml:"threshold"`
	// Level is loyalty_level's points (default 1000).
	Level float64 `yaml:"level"`
	// Days is days_without_order's days (default 180).
	Days int `yaml:"days"`
	// Within is abandoned_cart's window (default 1d).
	Within Duration `yaml:"within"`
	// Cooldown keeps a customer from firing the rule again before it
	// passes (default 30d).
	Cooldown Duration `yaml:"cooldown"`
}

// Defaults fills the defaults and checks every rule; errors name the
// rule's key (rules[2].threshold).
func (r *Rules) Defaults() error {
	if r.Version == 0 {
		r.Version = RulesVersion
	}
	if r.Version != RulesVersion {
		return datasets.Fieldf("version", strconv.Itoa(r.Version), "this prevoir reads rules version %d", RulesVersion)
	}
	seen := map[string]bool{}
	for i := range r.Rules {
		ru := &r.Rules[i]
		f := func(k string) string { return fmt.Sprintf("rules[%d].%s", i, k) }
		if err := datasets.ValidDatasetName(ru.Name); err != nil {
			return datasets.Fieldf(f("name"), ru.Name, "a rule name: letters, digits, '.', '_' and '-'")
		}
		if seen[ru.Name] {
			return datasets.Fieldf(f("name"), ru.Name, "two rules have this name")
		}
		seen[ru.Name] = true
		if ru.Channel == "" || datasets.ValidDatasetName(ru.Channel) != nil {
			return datasets.Fieldf(f("channel"), ru.Channel, "a rule names its channel (email, sms, ...)")
		}
		switch ru.Type {
		case RuleChurnProbability, RuleTopOffer:
			if ru.Threshold == 0 {
				ru.Threshold = 0.7
				if ru.Type == RuleTopOffer {
					ru.Threshold = 0.5
				}
			}
			if !(ru.Threshold > 0 && ru.Threshold <= 1) {
				return datasets.Fieldf(f("threshold"), strconv.FormatFloat(ru.Threshold, 'g', -1, 64), "want 0 < threshold <= 1")
			}
		case RuleLoyaltyLevel:
			if ru.Level == 0 {
				ru.Level = 1000
			}
		case RuleDaysWithoutOrder:
			if ru.Days == 0 {
				ru.Days = 180
			}
			if ru.Days < 1 {
				return datasets.Fieldf(f("days"), strconv.Itoa(ru.Days), "want at least 1")
			}
		case RuleAnniversary:
		case RuleAbandonedCart:
			if ru.Within == 0 {
				ru.Within = Duration(24 * time.Hour)
			}
			if ru.Within < 0 {
				return datasets.Fieldf(f("within"), time.Duration(ru.Within).String(), "want a positive span")
			}
		default:
			return datasets.Fieldf(f("type"), ru.Type, "want one of %v", RuleTypes)
		}
		if ru.Cooldown == 0 {
			ru.Cooldown = DefaultCooldown
		}
		if ru.Cooldown < 0 {
			return datasets.Fieldf(f("cooldown"), time.Duration(ru.Cooldown).String(), "want a positive span")
		}
	}
	return nil
}
