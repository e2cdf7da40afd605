// Package demand publishes demand forecasts through package publish: one
// publication of two tables committed together, so LATEST never shows a
// forecast and a plan of different dates.
//
// Table demand has one row per product x warehouse x step (product_id,
// warehouse, as_of, period_start, step, mean, p50, p90, q<NN>..., model),
// sorted by product_id, warehouse, step: the count model's (package
// negbin) mean and quantiles of the period's demand. Table preposition has
// one row per product x warehouse for the whole horizon (product_id,
// warehouse, as_of, horizon, mean, p50, p90, bestseller_rank,
// stock_on_hand, service_level, preposition_qty): the horizon's demand
// is the sum of the steps, taken as independent, whose mean and variance
// are the sums of the steps' and whose distribution is the negative
// binomial with that mean and variance (negbin.MomentMatch);
// preposition_qty is its service-level quantile (the newsvendor critical
// fractile) minus the stock on hand, floored at 0. See docs/PUBLISHING.md.
package demand
