package xgbjson

import (
	"fmt"
	"math"
	"strconv"
)

// rawTree is a tree as XGBoost stores it: parallel arrays over nodes.
type rawTree struct {
	numNodes    int64
	numFeature  int64
	left, right []int64
	feature     []int64
	cond        []float32
	defaultLeft []bool
	splitType   []int64
}

func (r *reader) readTree(i int) (Tree, error) {
	where := fmt.Sprintf("tree %d", i)
	var t rawTree
	t.numNodes = -1
	haveParam := false
	err := r.object(where, func(k string) error {
		var err error
		switch k {
		case "left_children":
			t.left, err = r.ints(where + "." + k)
		case "right_children":
			t.right, err = r.ints(where + "." + k)
		case "split_indices":
			t.feature, err = r.ints(where + "." + k)
		case "split_conditions":
			t.cond, err = r.float32s(where + "." + k)
		case "default_left":
			t.defaultLeft, err = r.bools(where + "." + k)
		case "split_type":
			t.splitType, err = r.ints(where + "." + k)
		case "categories", "categories_nodes", "categories_segments", "categories_sizes":
			n := 0
			err = r.d.array(func() error { n++; return skip(r.d) })
			if err == nil && n != 0 {
				err = r.refuse("XGBoost model with categorical splits", "%s has %s; categorical splits are not supported", where, k)
			}
		case "base_weights", "loss_changes", "sum_hessian", "parents":
			// Training statistics and back links: prediction uses none.
			err = r.d.array(func() error { _, err := r.d.num(); return err })
		case "leaf_child_counts":
			// XGBoost 1.0 only: a training statistic per node, dropped
			// in 1.1. Accepted in 1.x files, where it means that.
			if r.version[0] != 1 {
				return r.unknown(where, k)
			}
			err = r.d.array(func() error { _, err := r.d.num(); return err })
		case "id":
			_, err = r.d.num()
		case "leaf_weights": // 2.0 onwards, multi-target trees only
			err = r.refuse("XGBoost model with vector leaves", "%s has leaf_weights (a multi-target tree); prevoir scores one value per row", where)
		case "tree_param":
			haveParam = true
			err = r.object(where+"."+k, func(p string) error {
				v, err := r.d.str()
				if err != nil {
					return err
				}
				switch p {
				case "num_nodes":
					t.numNodes, err = r.count(where+"."+k, p, v)
				case "num_feature":
					t.numFeature, err = r.count(where+"."+k, p, v)
				case "num_deleted": // pruned nodes, unreachable from the root
					_, err = r.count(where+"."+k, p, v)
				case "size_leaf_vector":
					err = r.leafVector(where+"."+k, v)
				default:
					err = r.unknown(where+"."+k, p)
				}
				return err
			})
		default:
			err = r.unknown(where, k)
		}
		return err
	})
	if err != nil {
		return Tree{}, err
	}
	if !haveParam || t.numNodes < 1 {
		return Tree{}, r.bad("%s: no tree_param.num_nodes", where)
	}
	n := t.numNodes
	for _, a := range []struct {
		name string
		len  int
	}{{"left_children", len(t.left)}, {"right_children", len(t.right)}, {"split_indices", len(t.feature)},
		{"split_conditions", len(t.cond)}, {"default_left", len(t.defaultLeft)}} {
		if int64(a.len) != n {
			return Tree{}, r.bad("%s: %s has %d entries for num_nodes %d", where, a.name, a.len, n)
		}
	}
	if t.splitType != nil && int64(len(t.splitType)) != n {
		return Tree{}, r.bad("%s: split_type has %d entries for num_nodes %d", where, len(t.splitType), n)
	}
	if t.numFeature > int64(r.numFeature) {
		return Tree{}, r.bad("%s: num_feature %d, more than the model's %d", where, t.numFeature, r.numFeature)
	}
	if r.nodes += n; r.nodes > r.lim.MaxNodes {
		return Tree{}, r.refuse(r.format+" model with too many nodes", "more than the limit of %d", r.lim.MaxNodes)
	}
	return r.convert(where, &t)
}

// convert validates an XGBoost tree and compacts it, walking from the
// root so that every node is reached at most once (a cycle or a shared
// child is refused) and nodes no path reaches (pruned ones) are dropped.
// Nodes are renumbered in the order the walk reaches them.
func (r *reader) convert(where string, t *rawTree) (Tree, error) {
	n := t.numNodes
	var out Tree
	add := func(left, right, feature int32, v float32, defaultLeft bool) int32 {
		out.Left = append(out.Left, left)
		out.Right = append(out.Right, right)
		out.Feature = append(out.Feature, feature)
		out.Value = append(out.Value, v)
		out.DefaultLeft = append(out.DefaultLeft, defaultLeft)
		return int32(len(out.Left) - 1)
	}
	leaves := 0
	type item struct {
		node   int64
		parent int32
		left   bool
	}
	visited := make([]bool, n)
	stack := []item{{node: 0, parent: -1}}
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		v := it.node
		if v < 0 || v >= n {
			return Tree{}, r.bad("%s: child index %d out of range [0, %d)", where, v, n)
		}
		if visited[v] {
			return Tree{}, r.bad("%s: node %d is reached twice (not a tree)", where, v)
		}
		visited[v] = true
		var ref int32
		if t.left[v] == -1 || t.right[v] == -1 {
			if t.left[v] != t.right[v] {
				return Tree{}, r.bad("%s: node %d has one child", where, v)
			}
			x := t.cond[v]
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return Tree{}, r.bad("%s: leaf %d has value %v", where, v, x)
			}
			if leaves++; leaves > r.lim.MaxLeaves {
				return Tree{}, r.refuse(r.format+" model with a tree too large", "%s has more than the limit of %d leaves", where, r.lim.MaxLeaves)
			}
			ref = add(-1, -1, 0, x, false)
		} else {
			if t.splitType != nil && t.splitType[v] != 0 {
				return Tree{}, r.refuse("XGBoost model with categorical splits",
					"%s node %d splits feature %s by category; categorical splits are not supported", where, v, r.featureName(int(t.feature[v])))
			}
			f := t.feature[v]
			if f < 0 || f >= int64(r.numFeature) {
				return Tree{}, r.bad("%s: node %d splits feature %d of %d", where, v, f, r.numFeature)
			}
			if c := t.cond[v]; math.IsNaN(float64(c)) || math.IsInf(float64(c), -1) {
				return Tree{}, r.bad("%s: node %d: split condition is %v", where, v, c)
			}
			ref = add(0, 0, int32(f), t.cond[v], t.defaultLeft[v])
			stack = append(stack, item{t.right[v], ref, false}, item{t.left[v], ref, true})
		}
		if it.parent >= 0 {
			if it.left {
				out.Left[it.parent] = ref
			} else {
				out.Right[it.parent] = ref
			}
		}
	}
	return out, nil
}

func (r *reader) model() (*Model, error) {
	n := len(r.trees)
	if n == 0 {
		return nil, r.refuse("XGBoost model with no trees", "nothing to score")
	}
	if r.haveWeights {
		if len(r.weightDrop) != n {
			return nil, r.bad("dart weight_drop has %d weights for %d trees", len(r.weightDrop), n)
		}
		for i, w := range r.weightDrop {
			if math.IsNaN(float64(w)) || math.IsInf(float64(w), 0) {
				return nil, r.bad("dart weight_drop[%d] is %v", i, w)
			}
			// XGBoost adds each dart tree's output times its weight,
			// the product rounded to float32.
			t := r.trees[i]
			for j, l := range t.Left {
				if l == -1 {
					t.Value[j] = float32(t.Value[j] * w)
				}
			}
		}
	}
	switch b := r.baseScore; r.objective {
	case "binary:logistic", "reg:logistic":
		if !(b > 0 && b < 1) {
			return nil, r.bad("base_score %v is not a probability in (0, 1), as %s needs", b, r.objective)
		}
	case "count:poisson", "reg:tweedie", "reg:gamma":
		if !(b > 0) {
			return nil, r.bad("base_score %v is not positive, as %s needs", b, r.objective)
		}
	}
	m := &Model{
		Version:      r.versionString(),
		Booster:      r.booster,
		Objective:    r.objective,
		BaseScore:    r.baseScore,
		NumFeatures:  r.numFeature,
		FeatureNames: r.featureNames,
		Trees:        r.trees,
	}
	if generatedNames(m.FeatureNames) {
		m.FeatureNames = nil
	}
	if rounds := int64(n) / r.parallel; r.bestIteration >= 0 && r.bestIteration+1 < rounds {
		m.Warnings = append(m.Warnings, fmt.Sprintf(
			"the file records best_iteration=%d (early stopping) but holds %d boosting rounds: prevoir scores every tree, as Booster.predict does",
			r.bestIteration, rounds))
	}
	return m, nil
}

// generatedNames reports XGBoost's default names f0, f1, ...
func generatedNames(names []string) bool {
	for i, s := range names {
		if s != "f"+strconv.Itoa(i) {
			return false
		}
	}
	return true
}
