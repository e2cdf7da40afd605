// Package churn publishes churn scores through package publish: one row
// per customer of the scoring feature table (customer_id, as_of,
// probability, band, model, reason_1..3), sorted by customer_id. Score
// builds (or reuses) the feature table as of a date, checks that the
// model's inputs are the table's features, scores every row through
// models.Model, and publishes. For a native logistic model the reasons
// are the three features that raise a customer's score most (coefficient
// x standardised value), in words; imported GBDTs give none, and the
// manifest says why. A model trained with the buy-till-you-die columns
// (btyd.ChurnFeatures in its card) gets p_alive and expected purchases
// joined to each row (BuildInput): computed with the card's BG/NBD
// parameters from the clv summary as of the scoring date. See
// docs/PUBLISHING.md and docs/TRAINING.md.
package churn
