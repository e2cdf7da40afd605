package xgbjson

import (
	"fmt"
)

// boosterName looks ahead for a gradient booster's name (it follows the
// model in XGBoost's sorted keys).
func (r *reader) boosterName(where string) (string, error) {
	start := r.d.save()
	defer r.d.restore(start)
	name := ""
	err := r.d.object(func(k string) error {
		if k == "name" {
			var err error
			name, err = r.d.str()
			return err
		}
		return skip(r.d)
	})
	if err == nil && name == "" {
		err = r.bad("%s has no name", where)
	}
	return name, err
}

func (r *reader) readBooster() error {
	const where = "learner.gradient_booster"
	name, err := r.boosterName(where)
	if err != nil {
		return err
	}
	r.booster = name
	switch name {
	case "gbtree":
		return r.readGBTree(where)
	case "dart":
		haveTrees := false
		err := r.object(where, func(k string) error {
			switch k {
			case "name":
				_, err := r.d.str()
				return err
			case "gbtree":
				inner, err := r.boosterName(where + ".gbtree")
				if err != nil {
					return err
				}
				if inner != "gbtree" {
					return r.bad("dart booster wraps %q, not gbtree", inner)
				}
				haveTrees = true
				return r.readGBTree(where + ".gbtree")
			case "weight_drop":
				r.haveWeights = true
				var err error
				r.weightDrop, err = r.float32s(where + ".weight_drop")
				return err
			}
			return r.unknown(where, k)
		})
		if err != nil {
			return err
		}
		if !haveTrees || !r.haveWeights {
			return r.bad("dart booster needs gbtree and weight_drop")
		}
		return nil
	case "gblinear":
		return r.refuse("XGBoost linear model (booster gblinear)", "only tree boosters (gbtree, dart) are supported")
	}
	return r.refuse(fmt.Sprintf("XGBoost model with booster %q", name), "unknown booster: only gbtree and dart are supported")
}

// readGBTree reads a gbtree booster object: {"model": ..., "name": "gbtree"}.
func (r *reader) readGBTree(where string) error {
	haveModel := false
	err := r.object(where, func(k string) error {
		switch k {
		case "name":
			_, err := r.d.str()
			return err
		case "model":
			haveModel = true
			return r.readTrees(where + ".model")
		}
		return r.unknown(where, k)
	})
	if err == nil && !haveModel {
		err = r.bad("%s has no model", where)
	}
	return err
}

func (r *reader) readTrees(where string) error {
	numTrees := int64(-1)
	var treeInfo []int64
	haveTrees := false
	r.parallel = 1
	err := r.object(where, func(k string) error {
		var err error
		switch k {
		case "gbtree_model_param":
			err = r.object(where+"."+k, func(p string) error {
				v, err := r.d.str()
				if err != nil {
					return err
				}
				switch p {
				case "num_trees":
					numTrees, err = r.count(where+"."+k, p, v)
				case "num_parallel_tree":
					r.parallel, err = r.count(where+"."+k, p, v)
					if err == nil && r.parallel < 1 {
						err = r.bad("%s.%s.%s is %s", where, k, p, v)
					}
				case "size_leaf_vector":
					err = r.leafVector(where+"."+k, v)
				default:
					err = r.unknown(where+"."+k, p)
				}
				return err
			})
		case "tree_info":
			treeInfo, err = r.ints(where + "." + k)
		case "iteration_indptr": // 2.0 onwards: where each boosting round's trees start
			r.iterationPtr, err = r.ints(where + "." + k)
		case "cats": // 3.1 onwards: category re-coding, empty without categorical features
			err = r.readCats(where + "." + k)
		case "trees":
			haveTrees = true
			err = r.d.array(func() error {
				if len(r.trees) >= r.lim.MaxTrees {
					return r.refuse(r.format+" model with too many trees", "more than the limit of %d", r.lim.MaxTrees)
				}
				t, err := r.readTree(len(r.trees))
				if err != nil {
					return err
				}
				r.trees = append(r.trees, t)
				return nil
			})
		default:
			err = r.unknown(where, k)
		}
		return err
	})
	if err != nil {
		return err
	}
	if !haveTrees || numTrees < 0 || treeInfo == nil {
		return r.bad("%s needs gbtree_model_param.num_trees, tree_info and trees", where)
	}
	n := int64(len(r.trees))
	if numTrees != n || int64(len(treeInfo)) != n {
		return r.bad("%s: num_trees is %d, with %d trees and %d tree_info entries", where, numTrees, n, len(treeInfo))
	}
	for i, g := range treeInfo {
		if g != 0 {
			return r.refuse("XGBoost model with several output groups",
				"tree %d belongs to output group %d (multiclass or multi-target); prevoir scores one value per row", i, g)
		}
	}
	if n%r.parallel != 0 {
		return r.bad("%d trees is not a multiple of num_parallel_tree %d", n, r.parallel)
	}
	if r.iterationPtr != nil {
		// 2.x: with one output group, round i's trees are [i*p, (i+1)*p),
		// exactly what 1.x implies from num_parallel_tree.
		ok := int64(len(r.iterationPtr)) == n/r.parallel+1
		for i, v := range r.iterationPtr {
			ok = ok && v == int64(i)*r.parallel
		}
		if !ok {
			return r.refuse(r.format+" model with irregular boosting rounds",
				"iteration_indptr does not split the %d trees into rounds of num_parallel_tree=%d", n, r.parallel)
		}
	}
	return nil
}

// readCats reads the category re-coding tables XGBoost 3.1 writes for
// every model: with no categorical feature they are empty, and say nothing
// a 1.x file does not.
func (r *reader) readCats(where string) error {
	return r.object(where, func(k string) error {
		switch k {
		case "enc", "feature_segments", "sorted_idx":
			n := 0
			err := r.d.array(func() error { n++; return skip(r.d) })
			if err == nil && n != 0 {
				err = r.refuse("XGBoost model with categorical features", "%s.%s re-codes categories; categorical splits are not supported", where, k)
			}
			return err
		}
		return r.unknown(where, k)
	})
}

// leafVector checks size_leaf_vector: 0 in 1.x, 1 from 2.0 for a scalar
// leaf; more is a vector leaf (multi-target tree).
func (r *reader) leafVector(where, v string) error {
	n, err := r.count(where, "size_leaf_vector", v)
	if err != nil {
		return err
	}
	if n > 1 {
		return r.refuse(fmt.Sprintf("XGBoost model with vector leaves (size_leaf_vector=%d)", n),
			"multi-target trees are not supported; prevoir scores one value per row")
	}
	return nil
}
