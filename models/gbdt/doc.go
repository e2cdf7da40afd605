// Package gbdt imports gradient-boosted tree models trained elsewhere
// (LightGBM, XGBoost): LightGBM models through github.com/dmitryikh/leaves,
// XGBoost models with XGBoost's own float32 arithmetic.
// It is the only package of prevoir that imports leaves.
//
// # Safety
//
// leaves' loaders trust their input: a wrong or hostile file can make them
// allocate without bound or panic. Import therefore never hands leaves the
// user's bytes. It
//
//  1. checks the size from the caller (a Stat) against Limits.MaxBytes
//     before reading a byte;
//  2. sniffs the format from the first bytes, never the file name, and
//     refuses what is not a supported model with what it looks like
//     instead (see Sniff);
//  3. parses and validates the whole model with bounded parsers: every
//     declared count (trees, leaves, array lengths, string lengths,
//     XGBoost header fields) is checked against the bytes left in the
//     file and against Limits before anything is allocated from it, and
//     every tree is checked to be a tree (each node reached once, indices
//     in range);
//  4. scores what it validated: LightGBM text and JSON models through
//     leaves, handed a canonical re-encoding (LightGBM text, header v3)
//     of the validated trees; XGBoost models (legacy binary, JSON,
//     UBJSON) with prevoir's own float32 scorer.
//
// Output transforms are applied by prevoir, not leaves: leaves always runs
// in raw mode and the Model applies the inverse link (sigmoid, exp,
// identity) and the mean of a random forest's trees.
//
// # XGBoost arithmetic
//
// XGBoost converts inputs to float32, sends x left at a split when x < t
// in float32 (a missing x to the node's default side), and accumulates
// the trees' leaf values in float32, starting from the float32 base
// margin (base_score through the objective's link), tree by tree in
// order. prevoir's XGBoost scorer (forest32) does exactly that, so the raw
// margin is XGBoost's bit for bit; the response is the inverse link
// computed in float32 as XGBoost 1.x does (1/(1+expf(-x)), expf(x)),
// within one float32 ulp of XGBoost's. A dart tree's weight is multiplied
// into its leaves in float32, as XGBoost rounds that product.
//
// # XGBoost JSON and UBJSON
//
// Package gbdt/internal/xgbjson reads XGBoost JSON and UBJSON models field
// by field and returns their trees in XGBoost's own layout; Import calls it
// directly for FormatXGBoostJSON and FormatXGBoostUBJSON. The legacy
// binary reader (xgbbin.go) returns the same Model. Both feed the same
// validation (newForest32) before anything is scored.
package gbdt
