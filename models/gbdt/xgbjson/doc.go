// Package xgbjson reads XGBoost models saved as JSON or UBJSON
// (Booster.save_model("m.json") or "m.ubj", XGBoost 1.0 onwards) and
// converts their trees into LightGBM's array layout, which leaves
// evaluates, with XGBoost's own decisions preserved exactly.
//
// # Exact float32 semantics
//
// XGBoost sends x left at a split when x < t, with x and t both float32
// (it converts its input to float32). leaves' LightGBM evaluator sends x
// left when x <= threshold, in float64. Read stores as threshold the
// largest float32 strictly below t, math.Nextafter32(t, -Inf): for every
// float32 x, x <= that value exactly when x < t. The scorer must therefore
// round each input to float32 before the trees see it. A missing input
// (NaN) follows the node's default direction (XGBoost's default_left,
// LightGBM's decision_type with missing type NaN). Leaf values and dart
// weights are float32 in the file; their product is exact in float64.
// What remains is summation order: XGBoost sums tree outputs in float32,
// leaves in float64, a relative difference of about 1e-6 on large models.
//
// # What is accepted
//
// Boosters gbtree and dart (weight_drop multiplied into each tree's
// leaves); objectives binary:logistic, reg:logistic, reg:squarederror,
// count:poisson, reg:tweedie and reg:gamma. base_score, in either stored
// form ("5E-1" or "[5E-1]"), becomes Model.BaseMargin through the
// objective's link, computed in float32 as XGBoost does. The reader walks
// the document field by field and knows every field the 1.x format has;
// a file from XGBoost 2.x or 3.x is accepted when all its fields are such
// fields with the same meaning, and anything else is refused naming the
// field. Multiclass and multi-target models, vector leaves, categorical
// splits, gblinear and unknown boosters are refused by name, with a
// *RefusedError.
//
// # Bounds
//
// Both decoders work on the file's bytes in memory and allocate only as
// they consume them: a declared count or length (a UBJSON array of 2^40
// elements, say) is checked against the bytes left before it is used, and
// nesting is bounded. Limits bound trees, leaves, nodes and features.
//
// This package does not import leaves or models/gbdt; subpackage register
// plugs it into gbdt's converter seam.
package xgbjson
