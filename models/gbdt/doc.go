// Package gbdt imports gradient-boosted tree models trained elsewhere
// (LightGBM, XGBoost) and scores them through github.com/dmitryikh/leaves.
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
//  4. hands leaves a canonical re-encoding of what it validated: LightGBM
//     text (header v3) for LightGBM text and JSON models and for
//     converters' trees, or the validated XGBoost 0.90 binary.
//
// Output transforms are applied by prevoir, not leaves: leaves always runs
// in raw mode and the Model applies the inverse link (sigmoid, exp,
// identity), the mean of a random forest's trees, and a converter's base
// margin.
//
// # The converter seam (XGBoost JSON and UBJSON)
//
// Package gbdt/xgbjson converts XGBoost JSON and UBJSON models. It does not
// import leaves; it registers a Converter for FormatXGBoostJSON and
// FormatXGBoostUBJSON from its init:
//
//	func init() {
//		gbdt.RegisterConverter(gbdt.FormatXGBoostJSON, convertJSON)
//		gbdt.RegisterConverter(gbdt.FormatXGBoostUBJSON, convertUBJSON)
//	}
//
// Sniff recognises both formats from their bytes and Import calls the
// registered Converter with the file (an io.ReaderAt and its size, already
// checked against Limits.MaxBytes) and the Limits. The Converter returns a
// *Converted: the trees in LightGBM's array layout (Tree), or bytes in a
// format leaves loads, plus what the trees alone do not say: objective,
// link, output, base margin, feature names, and Float32Inputs, which makes
// the Model round every input to float32 before the trees see it (so a
// converter emulates XGBoost's float32 "x < t" by storing, as Threshold,
// the largest float32 below t: x32 <= that float64 holds exactly when
// x32 < t in float32). Import validates a Converted exactly like a
// LightGBM file before leaves sees it, so a converter's mistakes are
// errors, not crashes. A Converter refuses what it cannot convert with a
// *RefusedError naming what the file is (multiclass, vector leaves, ...).
package gbdt
