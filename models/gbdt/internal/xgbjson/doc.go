// Package xgbjson reads XGBoost models saved as JSON or UBJSON
// (Booster.save_model("m.json") or "m.ubj", XGBoost 1.0 onwards) and
// returns their trees in XGBoost's own layout, validated and compacted,
// for package gbdt's float32 scorer.
//
// # Exact float32 semantics
//
// XGBoost sends x left at a split when x < t, with x and t both float32
// (it converts its input to float32); a missing input (NaN) follows the
// node's default direction. Leaf values and split conditions are float32
// in the file and stay float32 in Tree. Dart weights are multiplied into
// leaf values in float32, as XGBoost rounds that product. gbdt sums the
// trees in float32, in order, from the float32 base margin.
//
// # What is accepted
//
// Boosters gbtree and dart (weight_drop multiplied into each tree's
// leaves); objectives binary:logistic, reg:logistic, reg:squarederror,
// count:poisson, reg:tweedie and reg:gamma. base_score, in either stored
// form ("5E-1" or "[5E-1]"), is Model.BaseScore (gbdt takes it through
// the objective's link). The reader walks the document field by field
// and knows every field some 1.x release wrote (leaf_child_counts of
// 1.0 included, in 1.x files only);
// a file from XGBoost 2.x or 3.x is accepted when all its fields are such
// fields with the same meaning, and anything else is refused naming the
// field. Multiclass and multi-target models, vector leaves, categorical
// splits, gblinear and unknown boosters are refused by name, with a
// *models.RefusedError.
//
// # Bounds
//
// Both decoders work on the file's bytes in memory and allocate only as
// they consume them: a declared count or length (a UBJSON array of 2^40
// elements, say) is checked against the bytes left before it is used, and
// nesting is bounded. Limits bound trees, leaves, nodes and features.
//
// This package imports neither leaves nor models/gbdt; gbdt calls it.
package xgbjson
