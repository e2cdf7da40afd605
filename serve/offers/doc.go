// Package offers publishes next-best offers: for each customer, the N
// candidate items a propensity model ranks highest, after the business's
// eligibility rules, through serve/publish (docs/PUBLISHING.md).
package offers
