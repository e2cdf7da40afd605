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
// Load builds a Model from a card with the Loader registered for its kind
// by RegisterKind. Package logistic registers "logistic" from its init;
// package gbdt registers "lightgbm" and "xgboost" from its own. The
// registry imports package logistic (always available) but not gbdt: a
// binary that wants imported models imports gbdt (cmd/prevoir does).
package models
