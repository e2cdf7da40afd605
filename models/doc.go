// Package models defines what a model is: the Model interface that every
// kind satisfies, the model card, and (in subpackages) the native logistic
// model, imported gradient-boosted models (gbdt, the only importer of
// leaves) and the registry of versions and aliases over a Store.
package models
