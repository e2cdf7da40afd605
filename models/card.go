package models

import (
	"time"

	"github.com/prevoir/prevoir/features"
)

// Model kinds.
const (
	KindLogistic = "logistic"
	KindLightGBM = "lightgbm"
	KindXGBoost  = "xgboost"
	// KindNegBin is the count model (package negbin): Poisson log-link
	// mean, negative binomial distribution.
	KindNegBin = "negbin"
)

// Card is a model's card.json: everything needed to trust, compare and
// load a version. It is written once, with the version, and never changed.
type Card struct {
	Name    string `json:"name"`
	Version int    `json:"version"`
	// Kind is logistic, lightgbm or xgboost.
	Kind string `json:"kind"`
	// Task is the prevoir task the model scores (churn, ...), if any.
	Task string `json:"task,omitempty"`
	// Output is what a response score means: probability, count or value.
	Output string `json:"output"`
	// Link maps the raw margin to the response: logit, log or identity.
	Link string `json:"link"`
	// Inputs are the columns a table must have, in order, with their kind
	// (a categorical input of a logistic model is one-hot encoded by the
	// model's preprocessing). Schema is what Score's Batch columns are.
	Inputs features.Schema `json:"inputs"`
	// SchemaFingerprint is Inputs.Fingerprint().
	SchemaFingerprint string `json:"schema_fingerprint"`

	// Coefficients and Intercept are set for linear models, in the
	// standardised space (what scikit-learn's LogisticRegression sees
	// after StandardScaler).
	Coefficients map[string]float64 `json:"coefficients,omitempty"`
	Intercept    *float64           `json:"intercept,omitempty"`
	// Preprocessing travels with the model: scaler, encoders, imputation.
	Preprocessing *Preprocessing `json:"preprocessing,omitempty"`

	// File is the model file's name inside the version folder (set by the
	// registry); empty when the card carries the whole model, as a
	// trained logistic model's does.
	File string `json:"file,omitempty"`
	// Source describes an imported model's original file.
	Source *Source `json:"source,omitempty"`
	// Lineage records the data a model was trained on.
	Lineage *Lineage `json:"lineage,omitempty"`

	Parameters map[string]any `json:"parameters,omitempty"`
	Metrics    map[string]any `json:"metrics,omitempty"`
	Warnings   []string       `json:"warnings,omitempty"`

	// PrevoirVersion is the prevoir that built or registered the model.
	PrevoirVersion string `json:"prevoir_version"`
	// Created is when the model was registered (the registry sets it
	// when zero).
	Created time.Time `json:"created"`
}

// Preprocessing is the transformation from raw input columns to the
// columns the linear predictor multiplies. By-name maps.
type Preprocessing struct {
	// Mean and Scale standardise a column: (x - mean) / scale.
	Mean  map[string]float64 `json:"mean,omitempty"`
	Scale map[string]float64 `json:"scale,omitempty"`
	// Encoders one-hot encode categorical inputs: for input "job", the
	// sorted levels; the design columns are named "job=<level>".
	Encoders map[string][]string `json:"encoders,omitempty"`
	// Impute replaces a missing value of a numeric input with this value
	// (without one, Mean is used); the design column "<name>_missing", when
	// the model has it, is 1 for a missing value of input name, numeric or
	// categorical. See package logistic for the exact scoring steps.
	Impute map[string]float64 `json:"impute,omitempty"`
	// Features is the ordered list of design columns after encoding and
	// imputation flags: the order of the coefficients.
	Features []string `json:"features,omitempty"`
}

// Source describes an imported model file.
type Source struct {
	Format    string `json:"format"`
	SHA256    string `json:"sha256"`
	Size      int64  `json:"size"`
	Version   string `json:"version,omitempty"`
	Objective string `json:"objective,omitempty"`
	Booster   string `json:"booster,omitempty"`
	Trees     int    `json:"trees,omitempty"`
	// Reference is the result of the import's reference check.
	Reference *ReferenceCheck `json:"reference_check,omitempty"`
}

// ReferenceCheck is the result of scoring a reference file at import.
type ReferenceCheck struct {
	File      string  `json:"file"`
	Rows      int     `json:"rows"`
	Tolerance float64 `json:"tolerance"`
	MaxDiff   float64 `json:"max_abs_diff"`
	MaxRel    float64 `json:"max_rel_diff"`
	Passed    bool    `json:"passed"`
}

// Lineage records where a model's training data came from.
type Lineage struct {
	Dataset   string         `json:"dataset,omitempty"`
	Table     string         `json:"table,omitempty"`
	Manifests []ManifestRef  `json:"manifests,omitempty"`
	Cutoffs   []string       `json:"cutoffs,omitempty"`
	Rows      int            `json:"rows,omitempty"`
	Extra     map[string]any `json:"extra,omitempty"`
}

// ManifestRef names a manifest read and its checksum.
type ManifestRef struct {
	Key    string `json:"key"`
	SHA256 string `json:"sha256"`
}
