package gbdt

import (
	"context"
	"fmt"
	"io"
	"sync"
)

// Format names a model file format, as --format spells it.
type Format string

// Model file formats. FormatAuto asks Import to sniff.
const (
	FormatAuto          Format = "auto"
	FormatLightGBMText  Format = "lgb-text"
	FormatLightGBMJSON  Format = "lgb-json"
	FormatXGBoostBinary Format = "xgb-bin"
	FormatXGBoostJSON   Format = "xgb-json"
	FormatXGBoostUBJSON Format = "xgb-ubj"
)

// Links and outputs as the model card spells them.
const (
	LinkLogit    = "logit"
	LinkLog      = "log"
	LinkIdentity = "identity"

	OutputProbability = "probability"
	OutputCount       = "count"
	OutputValue       = "value"
)

// Tree is one regression tree in LightGBM's array layout, the layout of a
// LightGBM text model's Tree= block. Internal node i splits on feature
// SplitFeature[i]; a child index c >= 0 is internal node c, c < 0 is leaf
// ^c (-1 is leaf 0). Node 0 is the root. A tree with one leaf has no
// internal nodes.
type Tree struct {
	// SplitFeature is each internal node's feature index (0-based, in the
	// model's feature order).
	SplitFeature []int32
	// Threshold is each numerical node's threshold: x goes left when
	// x <= Threshold. For a categorical node it is the index of the
	// node's bitset in CatBoundaries.
	Threshold []float64
	// DecisionType is LightGBM's decision_type byte per internal node:
	// bit 0 categorical, bit 1 default left, bits 2-3 the missing type
	// (0 none, 1 zero, 2 NaN). See DecisionNumerical.
	DecisionType []uint8
	// LeftChild and RightChild are the children of each internal node.
	LeftChild  []int32
	RightChild []int32
	// LeafValue is each leaf's output; len(LeafValue) is the leaf count,
	// len(SplitFeature)+1.
	LeafValue []float64
	// CatBoundaries and CatThreshold hold categorical nodes' bitsets:
	// bitset k is CatThreshold[CatBoundaries[k]:CatBoundaries[k+1]];
	// category v goes left when bit v%32 of word v/32 is set. Both are
	// empty for a tree without categorical nodes.
	CatBoundaries []uint32
	CatThreshold  []uint32
}

// DecisionNumerical is the DecisionType of a numerical node whose NaN
// inputs go left when defaultLeft, right otherwise (LightGBM missing type
// NaN: the only missing type XGBoost has).
func DecisionNumerical(defaultLeft bool) uint8 {
	d := uint8(2 << 2)
	if defaultLeft {
		d |= 2
	}
	return d
}

// Converted is what a Converter hands to Import: a model leaves can
// evaluate plus what its trees do not say. Set either Trees, or Format and
// Bytes.
type Converted struct {
	// Trees are the model's trees, summed in order.
	Trees []Tree
	// Format and Bytes are an alternative to Trees: a model file in a
	// format Import reads (FormatLightGBMText or FormatXGBoostBinary). Its
	// own objective line is ignored: Link and Output decide.
	Format Format
	Bytes  []byte

	// Kind is the card's kind: models.KindXGBoost for XGBoost files.
	Kind string
	// Version is the framework version the file declares ("1.7.4").
	Version string
	// Booster is gbtree or dart.
	Booster string
	// Objective is the framework's objective name ("binary:logistic").
	Objective string
	// Link is LinkLogit, LinkLog or LinkIdentity: the response is
	// the link's inverse of the raw margin.
	Link string
	// Output is OutputProbability, OutputCount or OutputValue.
	Output string
	// NumFeatures is the number of input features the trees index.
	NumFeatures int
	// FeatureNames are the file's feature names in the trees' order, nil
	// when the file has none (XGBoost's generated f0, f1, ... count as
	// none).
	FeatureNames []string
	// Float32Inputs makes the Model round every input to float32 before
	// the trees see it (XGBoost compares in float32).
	Float32Inputs bool
	// BaseMargin is added to the sum of the trees: the raw margin is
	// BaseMargin + sum of tree outputs (XGBoost's base_score through the
	// objective's link).
	BaseMargin float64
	// Warnings go into the model card.
	Warnings []string
}

// Converter turns a model file of one format into a Converted. r holds
// size bytes (size <= lim.MaxBytes, already checked). A Converter must
// bound every allocation by size and lim and refuse unsupported models
// with a *RefusedError.
type Converter func(ctx context.Context, r io.ReaderAt, size int64, lim Limits) (*Converted, error)

var (
	convMu     sync.RWMutex
	converters = map[Format]Converter{}
)

// RegisterConverter makes Import read format f with c. Packages call it
// from init. Registering a format twice or a nil Converter is a programmer
// error and panics.
func RegisterConverter(f Format, c Converter) {
	convMu.Lock()
	defer convMu.Unlock()
	if c == nil {
		panic("gbdt: RegisterConverter with nil converter")
	}
	if _, dup := converters[f]; dup {
		panic(fmt.Sprintf("gbdt: RegisterConverter called twice for %s", f))
	}
	converters[f] = c
}

func converter(f Format) Converter {
	convMu.RLock()
	defer convMu.RUnlock()
	return converters[f]
}

// HasConverter reports whether a Converter is registered for f.
func HasConverter(f Format) bool { return converter(f) != nil }
