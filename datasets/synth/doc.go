// Package synth generates a synthetic retail history with known ground
// truth: customers with heterogeneous purchase rates and dropout (a
// BG/NBD-like process), a Zipf catalogue with a category hierarchy and
// warehouse-specific bestsellers, Dirichlet category affinities and planted
// cross-sell pairs, weekly and annual seasonality, promotions and price
// changes, web events, a loyalty ledger, consent records and returns.
//
// Generation is deterministic: every customer has its own random streams
// seeded from (seed, customer index), customers are simulated in parallel
// and merged in customer order, and the run id is derived from the
// options. The same Options give byte-identical output at any GOMAXPROCS.
// Memory grows with the number of workers, never with the number of rows.
//
// The model and its truth files are documented in docs/GENERATOR.md.
package synth
