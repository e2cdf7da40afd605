// Package train fits prevoir's native models and evaluates them.
//
// The fit is L2-regularised logistic regression that equals scikit-learn's
// make_pipeline(StandardScaler(), LogisticRegression(penalty="l2", C=C)):
// it minimises
//
//	F(beta, b) = C * sum_i w_i * logloss(y_i, b + x_i.beta) + 1/2 * ||beta||^2
//
// (intercept b not penalised) by Newton's method with a Cholesky solve up
// to MaxNewtonColumns columns and by L-BFGS (gonum/optimize) beyond, both
// stopping when max |gradient of F| <= Options.Tol (absolute, default
// 1e-7) or reporting that they could not.
//
// Fit works on a ready design matrix. TrainTable builds that matrix from
// raw columns (numeric with NaN for missing, or strings) the way prevoir
// does: one-hot encoding with every level sorted, mean imputation with a
// "<name>_missing" indicator, constant columns dropped (with a warning),
// standardisation with the training mean and population standard
// deviation; the card it returns carries the same preprocessing for
// scoring. Evaluate computes the holdout metrics recorded on a model card;
// Metrics.DecileTable is the decile table reports print.
//
// A fit needs enough examples of each class: by default the smaller class
// must have max(MinEvents, EventsPerInput x input columns) training rows
// (events per variable); TooFewError explains a refusal with the counts.
//
// TrainTable trains on a table a data scientist brings, with a random
// holdout. TrainTask trains a task (churn) on its point-in-time feature
// tables, one per cutoff: TimeSplit holds out the latest cutoff and trains
// only on cutoffs whose label window ends at or before it; FitCutoffs
// fits (after a search over C on the cutoff before the holdout, when
// asked), and fits a one-feature recency baseline on the same rows so the
// card shows the gain; cutoffs left out of training are named in the
// warnings with the step that keeps them. On churn, TrainTask also
// reports a label-free baseline (CLVBaseline: BG/NBD fitted on the clv
// summary as of the holdout cutoff, P(no purchase in the horizon)) and,
// with TaskOptions.CLVFeatures, adds p_alive and expected purchases to
// every cutoff from a fit on that cutoff's summary (churnclv.go).
//
// Errors about options name the option's field (datasets.FieldError),
// never a command-line flag.
//
// Every sum over rows is split into chunks whose bounds depend on the row
// count only, and partial sums are added in chunk order, so results are
// bit-for-bit the same whatever GOMAXPROCS is.
package train
