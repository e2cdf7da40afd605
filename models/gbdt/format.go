package gbdt

// Format names a model file format, as Options.Format and the card spell it.
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

// lgbTree is one regression tree in LightGBM's array layout, the layout of a
// LightGBM text model's Tree= block. Internal node i splits on feature
// SplitFeature[i]; a child index c >= 0 is internal node c, c < 0 is leaf
// ^c (-1 is leaf 0). Node 0 is the root. A tree with one leaf has no
// internal nodes.
type lgbTree struct {
	// SplitFeature is each internal node's feature index (0-based, in the
	// model's feature order).
	SplitFeature []int32
	// Threshold is each numerical node's threshold: x goes left when
	// x <= Threshold. For a categorical node it is the index of the
	// node's bitset in CatBoundaries.
	Threshold []float64
	// DecisionType is LightGBM's decision_type byte per internal node:
	// bit 0 categorical, bit 1 default left, bits 2-3 the missing type
	// (0 none, 1 zero, 2 NaN).
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
