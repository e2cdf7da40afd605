// Package logistic is the scoring side of prevoir's native logistic model:
// a linear predictor over standardised design columns, through the logit
// link. Package train fits it; `prevoir models register` brings one fitted
// elsewhere (scikit-learn's StandardScaler + LogisticRegression, R's glm).
//
// # What a logistic card holds
//
// Everything the model needs is in its models.Card; there is no separate
// model file (a model registered from a JSON document keeps that document
// beside the card as model.json, for provenance only):
//
//   - Inputs: the raw table columns the model reads, in order, each
//     numeric or categorical. A Batch given to Score has exactly these
//     columns (see models.Binder for how table text becomes a Batch).
//   - Preprocessing.Features: the design columns, in the order of the
//     linear predictor. A design column is one of
//     "x"         a numeric input x;
//     "c=level"   the one-hot indicator of level for a categorical input c,
//     whose levels are listed in Preprocessing.Encoders[c];
//     "x_missing" 1 when input x is missing, else 0.
//     When Features is empty, the design columns are the Inputs' names
//     (every input must then be numeric).
//   - Coefficients: one per design column, by name, in the standardised
//     space; Intercept.
//   - Preprocessing.Mean and Scale, by design column: z = (d - mean) /
//     scale; a column without them is used as is (mean 0, scale 1).
//   - Preprocessing.Impute, by numeric input: the value that replaces a
//     missing value before standardising. Without it the input's Mean is
//     used (its standardised value is then 0); a missing value of an input
//     with neither is a scoring error, never a silent zero.
//
// # How a row is scored
//
// For each row of the Batch (the raw inputs):
//
//  1. a missing numeric input x takes Impute[x] (else Mean[x]), and the
//     design column "x_missing", if the model has it, is 1 (else 0);
//  2. a categorical input c coded k >= 0 sets "c=<Encoders[c][k]>" to 1
//     and every other "c=..." column to 0; an unknown level (-1) or a
//     missing value (NaN) sets them all to 0, and a missing one sets
//     "c_missing" to 1;
//  3. every design column d becomes (d - Mean[d]) / Scale[d];
//  4. raw = sum over design columns in order of Coefficients[d] * z[d],
//     plus Intercept;
//  5. response = 1 / (1 + exp(-raw)), a probability.
//
// # Building one (package train)
//
// Fill a models.Card with Kind models.KindLogistic, Output "probability",
// Link "logit", Inputs, Intercept, Coefficients and Preprocessing, then
// call New to validate it and get the Model; register the same card with
// registry.Register (no model file). New checks that every design column
// resolves to an input, that every design column has a finite coefficient
// and no coefficient names an unknown column, and that scales are finite
// and positive.
package logistic
