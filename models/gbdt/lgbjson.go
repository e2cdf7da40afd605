package gbdt

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// maxCatWords bounds the categorical bitset words a JSON model may make
// prevoir build (16 MiB).
const maxCatWords = 1 << 22

type lgbJSONModel struct {
	Name                string            `json:"name"`
	Version             string            `json:"version"`
	NumClass            *int              `json:"num_class"`
	NumTreePerIteration *int              `json:"num_tree_per_iteration"`
	LabelIndex          json.RawMessage   `json:"label_index"`
	MaxFeatureIdx       *int              `json:"max_feature_idx"`
	Objective           *string           `json:"objective"`
	AverageOutput       bool              `json:"average_output"`
	FeatureNames        []string          `json:"feature_names"`
	MonotoneConstraints json.RawMessage   `json:"monotone_constraints"`
	FeatureInfos        json.RawMessage   `json:"feature_infos"`
	TreeInfo            []json.RawMessage `json:"tree_info"`
	FeatureImportances  json.RawMessage   `json:"feature_importances"`
	PandasCategorical   json.RawMessage   `json:"pandas_categorical"`
}

type lgbJSONTree struct {
	TreeIndex     json.RawMessage `json:"tree_index"`
	NumLeaves     int             `json:"num_leaves"`
	NumCat        int             `json:"num_cat"`
	Shrinkage     json.RawMessage `json:"shrinkage"`
	IsLinear      json.RawMessage `json:"is_linear"`
	TreeStructure *lgbJSONNode    `json:"tree_structure"`
}

type lgbJSONNode struct {
	// internal node
	SplitIndex     json.RawMessage `json:"split_index"`
	SplitFeature   *int64          `json:"split_feature"`
	SplitGain      json.RawMessage `json:"split_gain"`
	Threshold      json.RawMessage `json:"threshold"`
	DecisionType   string          `json:"decision_type"`
	DefaultLeft    bool            `json:"default_left"`
	MissingType    string          `json:"missing_type"`
	InternalValue  json.RawMessage `json:"internal_value"`
	InternalWeight json.RawMessage `json:"internal_weight"`
	InternalCount  json.RawMessage `json:"internal_count"`
	LeftChild      *lgbJSONNode    `json:"left_child"`
	RightChild     *lgbJSONNode    `json:"right_child"`
	// leaf
	LeafIndex    json.RawMessage `json:"leaf_index"`
	LeafValue    *float64        `json:"leaf_value"`
	LeafWeight   json.RawMessage `json:"leaf_weight"`
	LeafCount    json.RawMessage `json:"leaf_count"`
	LeafConst    json.RawMessage `json:"leaf_const"`
	LeafFeatures json.RawMessage `json:"leaf_features"`
	LeafCoeff    json.RawMessage `json:"leaf_coeff"`
}

const lgbJSONWhat = "LightGBM JSON model (dump_model)"

// parseLightGBMJSON reads and validates a LightGBM dump_model() JSON.
// Unknown fields are refused: a construct prevoir does not know is never
// silently ignored.
func parseLightGBMJSON(ctx context.Context, r io.Reader, lim Limits) (*lgbModel, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var j lgbJSONModel
	if err := dec.Decode(&j); err != nil {
		return nil, refuse(lgbJSONWhat, "%s", jsonProblem(err))
	}
	if j.Name != "tree" {
		return nil, refuse(lgbJSONWhat, "\"name\" is %q, want \"tree\"", j.Name)
	}
	what := fmt.Sprintf("LightGBM JSON model %s", j.Version)
	switch j.Version {
	case "v2", "v3", "v4":
	default:
		return nil, refuse(what, "unknown version %q (prevoir reads v2, v3 and v4)", j.Version)
	}
	if j.NumClass == nil || j.NumTreePerIteration == nil || j.MaxFeatureIdx == nil {
		return nil, refuse(what, "num_class, num_tree_per_iteration and max_feature_idx are required")
	}
	obj := ""
	if j.Objective != nil {
		obj = *j.Objective
	}
	if err := lgbSingleOutput(what, strconv.Itoa(*j.NumClass), strconv.Itoa(*j.NumTreePerIteration), obj); err != nil {
		return nil, err
	}
	mfi := *j.MaxFeatureIdx
	if mfi < 0 || mfi >= lim.MaxFeatures {
		return nil, refuse(what, "max_feature_idx %d (limit %d features)", mfi, lim.MaxFeatures)
	}
	m := &lgbModel{version: j.Version, numFeatures: mfi + 1, objective: obj, averageOutput: j.AverageOutput}
	if obj != "" {
		if _, err := lgbObjective(what, obj); err != nil {
			return nil, err
		}
	}
	if j.FeatureNames != nil {
		if len(j.FeatureNames) == m.numFeatures {
			m.featureNames = j.FeatureNames
		} else {
			m.warnings = append(m.warnings, fmt.Sprintf("the file has %d feature_names for %d features: names ignored, features bound by position", len(j.FeatureNames), m.numFeatures))
		}
	}
	if len(j.TreeInfo) == 0 {
		return nil, refuse(what, "no trees")
	}
	if len(j.TreeInfo) > lim.MaxTrees {
		return nil, refuse(what, "%d trees (limit %d)", len(j.TreeInfo), lim.MaxTrees)
	}
	// A JSON dump records no boosting type; only average_output (rf)
	// tells one apart.
	m.booster = "unrecorded (JSON dump)"
	if m.averageOutput {
		m.booster = "rf"
	}
	m.ens = newEnsemble(m.numFeatures)
	catWords := 0
	for i, raw := range j.TreeInfo {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var jt lgbJSONTree
		d := json.NewDecoder(bytes.NewReader(raw))
		d.DisallowUnknownFields()
		if err := d.Decode(&jt); err != nil {
			return nil, refuse(what, "tree %d: %s", i, jsonProblem(err))
		}
		j.TreeInfo[i] = nil
		if len(jt.IsLinear) > 0 && string(jt.IsLinear) != "0" && string(jt.IsLinear) != "false" {
			return nil, refuse("LightGBM linear-tree model (is_linear)", "leaves cannot evaluate linear leaves; retrain without linear_tree")
		}
		if jt.TreeStructure == nil {
			return nil, refuse(what, "tree %d has no tree_structure", i)
		}
		t, err := lgbJSONTreeToArrays(jt.TreeStructure, lim, &catWords)
		if err != nil {
			if _, ok := err.(*RefusedError); ok {
				return nil, err
			}
			return nil, refuse(what, "tree %d: %v", i, err)
		}
		if jt.NumLeaves != len(t.LeafValue) {
			return nil, refuse(what, "tree %d: num_leaves %d, but it has %d leaves", i, jt.NumLeaves, len(t.LeafValue))
		}
		if err := m.ens.add(t, lim); err != nil {
			return nil, refuse(what, "%v", err)
		}
	}
	return m, nil
}

// lgbJSONTreeToArrays flattens a node tree into LightGBM's arrays:
// internal nodes numbered in preorder, leaves in the order met.
func lgbJSONTreeToArrays(root *lgbJSONNode, lim Limits, catWords *int) (*lgbTree, error) {
	t := &lgbTree{}
	type item struct {
		n      *lgbJSONNode
		parent int
		left   bool
	}
	stack := []item{{root, -1, false}}
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		n := it.n
		if n == nil {
			return nil, fmt.Errorf("missing child")
		}
		if len(n.LeafConst) > 0 || len(n.LeafCoeff) > 0 || len(n.LeafFeatures) > 0 {
			return nil, refuse("LightGBM linear-tree model (leaf_coeff)", "leaves cannot evaluate linear leaves; retrain without linear_tree")
		}
		var ref int32
		if n.LeafValue != nil {
			if n.SplitFeature != nil || n.LeftChild != nil || n.RightChild != nil {
				return nil, fmt.Errorf("a node is both a leaf and a split")
			}
			if len(t.LeafValue) >= lim.MaxLeaves {
				return nil, fmt.Errorf("more than %d leaves (limit)", lim.MaxLeaves)
			}
			ref = ^int32(len(t.LeafValue))
			t.LeafValue = append(t.LeafValue, *n.LeafValue)
		} else {
			if n.SplitFeature == nil || n.LeftChild == nil || n.RightChild == nil {
				return nil, fmt.Errorf("a node is neither a leaf (leaf_value) nor a split (split_feature, left_child, right_child)")
			}
			if len(t.SplitFeature) >= lim.MaxLeaves {
				return nil, fmt.Errorf("more than %d nodes (limit)", lim.MaxLeaves)
			}
			if *n.SplitFeature < 0 || *n.SplitFeature > math.MaxInt32 {
				return nil, fmt.Errorf("split_feature %d", *n.SplitFeature)
			}
			var d uint8
			switch n.MissingType {
			case "None":
			case "Zero":
				d |= 1 << 2
			case "NaN":
				d |= 2 << 2
			default:
				return nil, fmt.Errorf("unknown missing_type %q", n.MissingType)
			}
			if n.DefaultLeft {
				d |= 2
			}
			var th float64
			switch n.DecisionType {
			case "<=":
				if err := json.Unmarshal(n.Threshold, &th); err != nil {
					return nil, fmt.Errorf("numerical threshold %s is not a number", clip(n.Threshold))
				}
			case "==":
				d |= 1
				var s string
				if err := json.Unmarshal(n.Threshold, &s); err != nil {
					return nil, fmt.Errorf("categorical threshold %s is not a string", clip(n.Threshold))
				}
				bits, err := catBitset(s, lim.MaxCategory)
				if err != nil {
					return nil, err
				}
				*catWords += len(bits)
				if *catWords > maxCatWords {
					return nil, fmt.Errorf("categorical bitsets over %d words (limit)", maxCatWords)
				}
				if len(t.CatBoundaries) == 0 {
					t.CatBoundaries = []uint32{0}
				}
				th = float64(len(t.CatBoundaries) - 1)
				t.CatThreshold = append(t.CatThreshold, bits...)
				t.CatBoundaries = append(t.CatBoundaries, uint32(len(t.CatThreshold)))
			default:
				return nil, fmt.Errorf("unknown decision_type %q", n.DecisionType)
			}
			ref = int32(len(t.SplitFeature))
			t.SplitFeature = append(t.SplitFeature, int32(*n.SplitFeature))
			t.Threshold = append(t.Threshold, th)
			t.DecisionType = append(t.DecisionType, d)
			t.LeftChild = append(t.LeftChild, 0)
			t.RightChild = append(t.RightChild, 0)
			// Right first so that the left subtree is numbered first.
			stack = append(stack, item{n.RightChild, int(ref), false}, item{n.LeftChild, int(ref), true})
		}
		if it.parent >= 0 {
			if it.left {
				t.LeftChild[it.parent] = ref
			} else {
				t.RightChild[it.parent] = ref
			}
		}
	}
	if len(t.LeafValue) != len(t.SplitFeature)+1 {
		return nil, fmt.Errorf("%d leaves for %d splits", len(t.LeafValue), len(t.SplitFeature))
	}
	return t, nil
}

// catBitset parses "1||10||100" into a bitset.
func catBitset(s string, maxCat int) ([]uint32, error) {
	var cats []int
	hi := -1
	for _, tok := range strings.Split(s, "||") {
		v, err := strconv.Atoi(tok)
		if err != nil || v < 0 || v > maxCat {
			return nil, fmt.Errorf("category %q is not an integer in 0..%d", tok, maxCat)
		}
		cats = append(cats, v)
		hi = max(hi, v)
	}
	bits := make([]uint32, hi/32+1)
	for _, v := range cats {
		bits[v/32] |= 1 << (v % 32)
	}
	return bits, nil
}

// jsonProblem words a JSON decoding error.
func jsonProblem(err error) string {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return "truncated JSON"
	}
	var se *json.SyntaxError
	if ok := asSyntax(err, &se); ok {
		return fmt.Sprintf("invalid JSON at byte %d (truncated or corrupt): %v", se.Offset, err)
	}
	if strings.HasPrefix(err.Error(), "json: unknown field") {
		return strings.TrimPrefix(err.Error(), "json: ") + " (a LightGBM newer than 4.x?); not scored"
	}
	return err.Error()
}

func asSyntax(err error, se **json.SyntaxError) bool {
	s, ok := err.(*json.SyntaxError)
	if ok {
		*se = s
	}
	return ok
}
