// Package segments is the segments task's publication: per customer with
// a purchase in the lookback, RFM quintile scores, a named segment from
// the recency and frequency scores, a value tier (by CLV, or by spend
// without a clv model), a risk level (from the churn publication of the
// same date, or the probability alive without a churn champion) and the
// cell joining the two, so that marketing targets "the most valuable"
// and "the most at risk" in one filter. Rules: docs/FEATURES.md
// ("Segments").
package segments
