// Package models defines what a model is: the Model interface that every
// kind satisfies, the model card, and (in subpackages) the native logistic
// model, imported gradient-boosted models (gbdt, the only importer of
// leaves) and the registry of versions and aliases over a Store.
//
// # Rows
//
// A Batch's columns are the card's Inputs, the raw table columns, for every
// kind of model: preprocessing (imputation, missing flags, one-hot
// encoding, standardisation) happens inside Score, so callers never need to
// know a model's kind. Binder turns a table's header and text records into
// Batch rows: numeric inputs are parsed, empty cells are NaN, and a
// categorical input is coded as the index of its level in the card's
// Preprocessing.Encoders (-1 for an unknown level). Predict streams a whole
// table through a model in fixed-size batches.
//
// # Kinds
//
// Kinds is an explicit list of the kinds a caller can load, each a name
// and its Loader: package logistic provides Kind() for "logistic", package
// gbdt Kinds() for "lightgbm" and "xgboost". Nothing registers itself:
// the registry loads logistic models unless its Options list more, and
// cmd/prevoir lists all three.
package models
