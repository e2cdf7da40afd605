package xgbjson

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/prevoir/prevoir/models"
)

// Model is an XGBoost tree model as its file describes it, validated:
// the raw margin of a row x is, in XGBoost's float32 arithmetic,
//
//	base margin (BaseScore through the objective's link)
//	  + Trees[0](x) + Trees[1](x) + ...
//
// summed tree by tree in order, and the response is the inverse of the
// objective's link applied to the margin.
type Model struct {
	// Version is the XGBoost version the file declares ("1.7.4").
	Version string
	// Booster is gbtree or dart.
	Booster string
	// Objective is XGBoost's objective name ("binary:logistic"), one of
	// Objectives.
	Objective string
	// BaseScore is learner_model_param.base_score as stored, on the
	// response scale (a probability for logistic objectives).
	BaseScore float32
	// NumFeatures is learner_model_param.num_feature: the input width.
	NumFeatures int
	// FeatureNames are the file's feature names, nil when it has none or
	// only XGBoost's generated f0, f1, ...
	FeatureNames []string
	// Trees are the trees, each dart tree's weight_drop already
	// multiplied (in float32, as XGBoost does) into its leaf values.
	Trees []Tree
	// Warnings are things a model card should say.
	Warnings []string
}

// Tree is one tree in XGBoost's own layout, parallel arrays over nodes,
// validated: node 0 is the root and every node is reached from it
// exactly once (nodes the file holds but no path reaches, pruned ones,
// are dropped and the rest renumbered). Node i is a leaf when Left[i] is
// -1; otherwise x goes to Left[i] when x < Value[i] in float32, to
// Right[i] when not, and to Left[i] when x is missing and DefaultLeft[i].
type Tree struct {
	Left, Right []int32
	// Feature is each split node's feature index (0 for a leaf).
	Feature []int32
	// Value is a split node's condition or a leaf's value, finite.
	Value       []float32
	DefaultLeft []bool
}

// Limits bound what Read accepts. A zero field means the default.
type Limits struct {
	// MaxTrees is the most trees (default 100,000).
	MaxTrees int
	// MaxLeaves is the most leaves in one tree (default 131,072).
	MaxLeaves int
	// MaxNodes is the most nodes over all trees (default 16,777,216).
	MaxNodes int64
	// MaxFeatures is the most input features (default 100,000).
	MaxFeatures int
}

func (l Limits) withDefaults() Limits {
	if l.MaxTrees <= 0 {
		l.MaxTrees = 100_000
	}
	if l.MaxLeaves <= 0 {
		l.MaxLeaves = 1 << 17
	}
	if l.MaxNodes <= 0 {
		l.MaxNodes = 1 << 24
	}
	if l.MaxFeatures <= 0 {
		l.MaxFeatures = 100_000
	}
	return l
}

// Read converts an XGBoost model saved as JSON or UBJSON (save_model with
// a .json or .ubj name), telling the two apart from the first bytes.
func Read(b []byte, lim Limits) (*Model, error) {
	t := bytes.TrimLeft(bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")), " \t\r\n")
	switch {
	case bytes.HasPrefix(b, []byte("binf")):
		return nil, &models.RefusedError{What: "XGBoost 1.0+ binary (binf header)",
			Reason: `re-save the model as JSON: booster.save_model("model.json")`}
	case len(t) >= 2 && t[0] == '{' && bytes.IndexByte([]byte("iUIlL$#N"), t[1]) >= 0 && len(t) == len(b):
		return ReadUBJSON(b, lim)
	case len(t) >= 1 && t[0] == '{':
		return ReadJSON(b, lim)
	}
	return nil, &models.RefusedError{What: "not an XGBoost JSON or UBJSON model", Reason: "it does not start with an object"}
}

// ReadJSON converts an XGBoost model saved as JSON.
func ReadJSON(b []byte, lim Limits) (*Model, error) {
	return read(newJSON(b), "XGBoost JSON", lim)
}

// ReadUBJSON converts an XGBoost model saved as UBJSON.
func ReadUBJSON(b []byte, lim Limits) (*Model, error) {
	return read(newUBJSON(b), "XGBoost UBJSON", lim)
}

func read(d decoder, format string, lim Limits) (*Model, error) {
	r := &reader{d: d, format: format, lim: lim.withDefaults(), bestIteration: -1, numTarget: 1}
	m, err := r.document()
	if err != nil {
		var se *syntaxErr
		if errors.As(err, &se) {
			return nil, &models.RefusedError{What: "malformed " + format + " file", Reason: se.Error()}
		}
		return nil, err
	}
	return m, nil
}

// reader walks an XGBoost model document field by field. Every field is
// one the XGBoost 1.x format has; any other is refused by name, so a
// 2.x or 3.x file is accepted only when it says nothing 1.x could not.
type reader struct {
	d      decoder
	format string
	lim    Limits

	version       [3]int64
	numFeature    int
	numClass      int64
	numTarget     int64
	baseScore     float32
	objective     string
	featureNames  []string
	bestIteration int64

	booster      string
	trees        []Tree
	nodes        int64
	parallel     int64
	weightDrop   []float32
	haveWeights  bool
	iterationPtr []int64
}

// refuse is a file that is a well-formed document but no model Read
// converts.
func (r *reader) refuse(what, format string, args ...any) error {
	return &models.RefusedError{What: what, Reason: fmt.Sprintf(format, args...)}
}

// bad is a file that breaks the XGBoost model format.
func (r *reader) bad(format string, args ...any) error {
	return &models.RefusedError{What: "invalid " + r.format + " model", Reason: fmt.Sprintf(format, args...)}
}

// object reads an object, refusing a key that appears twice.
func (r *reader) object(where string, fn func(key string) error) error {
	var seen []string
	return r.d.object(func(k string) error {
		for _, s := range seen {
			if s == k {
				return r.bad("%s: field %q appears twice", where, k)
			}
		}
		seen = append(seen, k)
		return fn(k)
	})
}

func (r *reader) unknown(where, key string) error {
	return r.refuse(r.format+" model with a field XGBoost 1.x does not write",
		"%s has field %q; prevoir reads XGBoost 2.x and 3.x files only when every field is one the 1.x format has with the same meaning", where, key)
}
