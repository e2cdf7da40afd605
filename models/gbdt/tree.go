package gbdt

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
)

// ensemble is a validated model on its way to leaves: its trees already
// re-encoded as canonical LightGBM text, plus what the Model needs.
type ensemble struct {
	numFeatures int
	trees       int
	nodes       int64
	// catFeature marks features split categorically (their NaN is
	// routed right, as LightGBM does on every platform).
	catFeature []bool
	// numFeature marks features split numerically.
	numFeature []bool
	// zeroMissing marks features with a zero-as-missing split.
	zeroMissing []bool
	body        bytes.Buffer // Tree= blocks, canonical
	// minLeaf and maxLeaf bound every leaf value.
	minLeaf, maxLeaf float64
}

func newEnsemble(numFeatures int) *ensemble {
	return &ensemble{
		numFeatures: numFeatures,
		catFeature:  make([]bool, numFeatures),
		numFeature:  make([]bool, numFeatures),
		zeroMissing: make([]bool, numFeatures),
		minLeaf:     math.Inf(1),
		maxLeaf:     math.Inf(-1),
	}
}

// add validates t and appends it, re-encoded, to the ensemble.
func (e *ensemble) add(t *lgbTree, lim Limits) error {
	i := e.trees
	if i >= lim.MaxTrees {
		return fmt.Errorf("more than %d trees (limit)", lim.MaxTrees)
	}
	if err := e.check(t, lim); err != nil {
		return fmt.Errorf("tree %d: %w", i, err)
	}
	e.trees++
	e.nodes += int64(2*len(t.LeafValue) - 1)
	if e.nodes > lim.MaxNodes {
		return fmt.Errorf("more than %d nodes over all trees (limit)", lim.MaxNodes)
	}
	for _, v := range t.LeafValue {
		e.minLeaf = math.Min(e.minLeaf, v)
		e.maxLeaf = math.Max(e.maxLeaf, v)
	}
	e.emit(t, i)
	return nil
}

// check validates one tree: lengths, indices, values, and that the
// children arrays form a tree rooted at node 0.
func (e *ensemble) check(t *lgbTree, lim Limits) error {
	nl := len(t.LeafValue)
	if nl < 1 {
		return fmt.Errorf("no leaves")
	}
	if nl > lim.MaxLeaves {
		return fmt.Errorf("%d leaves, over the limit of %d", nl, lim.MaxLeaves)
	}
	ni := nl - 1
	for _, a := range []struct {
		name string
		n    int
	}{{"split_feature", len(t.SplitFeature)}, {"threshold", len(t.Threshold)}, {"decision_type", len(t.DecisionType)},
		{"left_child", len(t.LeftChild)}, {"right_child", len(t.RightChild)}} {
		if a.n != ni {
			return fmt.Errorf("%s has %d values, want %d for %d leaves", a.name, a.n, ni, nl)
		}
	}
	for k, v := range t.LeafValue {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("leaf %d value is %v", k, v)
		}
	}
	numCat := 0
	if len(t.CatBoundaries) > 0 {
		numCat = len(t.CatBoundaries) - 1
		if t.CatBoundaries[0] != 0 {
			return fmt.Errorf("cat_boundaries must start at 0")
		}
		for k := 1; k < len(t.CatBoundaries); k++ {
			if t.CatBoundaries[k] <= t.CatBoundaries[k-1] {
				return fmt.Errorf("cat_boundaries not increasing at %d", k)
			}
		}
		if int(t.CatBoundaries[numCat]) != len(t.CatThreshold) {
			return fmt.Errorf("cat_boundaries ends at %d, cat_threshold has %d words", t.CatBoundaries[numCat], len(t.CatThreshold))
		}
		for k := 0; k < numCat; k++ {
			any := false
			for _, w := range t.CatThreshold[t.CatBoundaries[k]:t.CatBoundaries[k+1]] {
				any = any || w != 0
			}
			if !any {
				return fmt.Errorf("categorical bitset %d is empty", k)
			}
		}
	} else if len(t.CatThreshold) > 0 {
		return fmt.Errorf("cat_threshold without cat_boundaries")
	}
	if numCat > ni {
		return fmt.Errorf("%d categorical bitsets for %d nodes", numCat, ni)
	}
	for n := 0; n < ni; n++ {
		f := t.SplitFeature[n]
		if f < 0 || int(f) >= e.numFeatures {
			return fmt.Errorf("node %d splits on feature %d of %d", n, f, e.numFeatures)
		}
		d := t.DecisionType[n]
		if d&^0x0f != 0 || (d>>2)&3 == 3 {
			return fmt.Errorf("node %d: unknown decision_type %d", n, d)
		}
		th := t.Threshold[n]
		if math.IsNaN(th) {
			return fmt.Errorf("node %d threshold is NaN", n)
		}
		if d&1 != 0 {
			if numCat == 0 {
				return fmt.Errorf("node %d is categorical but the tree has no categorical bitsets", n)
			}
			if th < 0 || th >= float64(numCat) || th != math.Trunc(th) {
				return fmt.Errorf("node %d: categorical threshold %v is no bitset index (0..%d)", n, th, numCat-1)
			}
			if e.numFeature[f] {
				return fmt.Errorf("feature %d is split both numerically and categorically", f)
			}
			e.catFeature[f] = true
		} else {
			if e.catFeature[f] {
				return fmt.Errorf("feature %d is split both numerically and categorically", f)
			}
			e.numFeature[f] = true
			if (d>>2)&3 == 1 {
				e.zeroMissing[f] = true
			}
		}
	}
	// Each child reference must be distinct and in range: with 2*ni
	// references for ni-1 non-root nodes and nl leaves, each is then
	// referenced exactly once. Reachability from the root rules out
	// cycles.
	if ni == 0 {
		return nil
	}
	seenNode := make([]bool, ni)
	seenLeaf := make([]bool, nl)
	for n := 0; n < ni; n++ {
		for _, c := range [2]int32{t.LeftChild[n], t.RightChild[n]} {
			if c >= 0 {
				if c == 0 || int(c) >= ni {
					return fmt.Errorf("node %d has child node %d (of %d)", n, c, ni)
				}
				if seenNode[c] {
					return fmt.Errorf("node %d has two parents", c)
				}
				seenNode[c] = true
			} else {
				l := int(^c)
				if l >= nl {
					return fmt.Errorf("node %d has child leaf %d (of %d)", n, l, nl)
				}
				if seenLeaf[l] {
					return fmt.Errorf("leaf %d has two parents", l)
				}
				seenLeaf[l] = true
			}
		}
	}
	stack := []int32{0}
	visited := 0
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		visited++
		if visited > ni {
			return fmt.Errorf("children do not form a tree")
		}
		for _, c := range [2]int32{t.LeftChild[n], t.RightChild[n]} {
			if c > 0 {
				stack = append(stack, c)
			}
		}
	}
	if visited != ni {
		return fmt.Errorf("children do not form a tree (%d of %d nodes reachable)", visited, ni)
	}
	return nil
}

// emit writes t as a LightGBM text Tree= block that leaves reads.
func (e *ensemble) emit(t *lgbTree, i int) {
	b := &e.body
	fmt.Fprintf(b, "Tree=%d\nnum_leaves=%d\nnum_cat=%d\n", i, len(t.LeafValue), max(len(t.CatBoundaries)-1, 0))
	if len(t.LeafValue) > 1 {
		writeList(b, "split_feature", t.SplitFeature, appendInt32)
		writeList(b, "threshold", t.Threshold, appendFloat)
		b.WriteString("decision_type=")
		for k, d := range t.DecisionType {
			if k > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(strconv.Itoa(int(d)))
		}
		b.WriteByte('\n')
		writeList(b, "left_child", t.LeftChild, appendInt32)
		writeList(b, "right_child", t.RightChild, appendInt32)
	}
	writeList(b, "leaf_value", t.LeafValue, appendFloat)
	if len(t.CatBoundaries) > 1 {
		writeList(b, "cat_boundaries", t.CatBoundaries, appendUint32)
		writeList(b, "cat_threshold", t.CatThreshold, appendUint32)
	}
	b.WriteString("shrinkage=1\n\n")
}

// leavesText is the whole canonical model: a v3 header leaves accepts
// (objective "regression": leaves runs raw, prevoir applies the link)
// and the trees.
func (e *ensemble) leavesText() []byte {
	var h bytes.Buffer
	fmt.Fprintf(&h, "tree\nversion=v3\nnum_class=1\nnum_tree_per_iteration=1\nlabel_index=0\nmax_feature_idx=%d\nobjective=regression\ntree_sizes=", e.numFeatures-1)
	for k := 0; k < e.trees; k++ {
		if k > 0 {
			h.WriteByte(' ')
		}
		h.WriteByte('0')
	}
	h.WriteString("\n\n")
	out := make([]byte, 0, h.Len()+e.body.Len()+16)
	out = append(out, h.Bytes()...)
	out = append(out, e.body.Bytes()...)
	out = append(out, "end of trees\n"...)
	return out
}

// writeList writes key=v0 v1 ... with app formatting each value.
func writeList[E any](b *bytes.Buffer, key string, v []E, app func([]byte, E) []byte) {
	b.WriteString(key)
	b.WriteByte('=')
	var tmp [32]byte
	for k, x := range v {
		if k > 0 {
			b.WriteByte(' ')
		}
		b.Write(app(tmp[:0], x))
	}
	b.WriteByte('\n')
}

func appendInt32(dst []byte, x int32) []byte   { return strconv.AppendInt(dst, int64(x), 10) }
func appendUint32(dst []byte, x uint32) []byte { return strconv.AppendUint(dst, uint64(x), 10) }

// appendFloat writes the shortest round-trip decimal: leaves' ParseFloat
// gives back exactly this float64.
func appendFloat(dst []byte, x float64) []byte { return strconv.AppendFloat(dst, x, 'g', -1, 64) }
