package xgbjson

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

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

// RefusedError is a file Read will not convert: what it is (or looks
// like) and why. It satisfies errors.Is(err, models.ErrUnsupported).
type RefusedError struct {
	// What the file is: "XGBoost multiclass model (num_class=3)",
	// "malformed XGBoost UBJSON file".
	What string
	// Reason says why, and what to do where there is something to do.
	Reason string
}

func (e *RefusedError) Error() string {
	if e.Reason == "" {
		return e.What
	}
	return e.What + ": " + e.Reason
}

// Unwrap makes a RefusedError a models.ErrUnsupported.
func (e *RefusedError) Unwrap() error { return models.ErrUnsupported }

// Read converts an XGBoost model saved as JSON or UBJSON (save_model with
// a .json or .ubj name), telling the two apart from the first bytes.
func Read(b []byte, lim Limits) (*Model, error) {
	t := bytes.TrimLeft(bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")), " \t\r\n")
	switch {
	case bytes.HasPrefix(b, []byte("binf")):
		return nil, &RefusedError{What: "XGBoost 1.0+ binary (binf header)",
			Reason: `re-save the model as JSON: booster.save_model("model.json")`}
	case len(t) >= 2 && t[0] == '{' && bytes.IndexByte([]byte("iUIlL$#N"), t[1]) >= 0 && len(t) == len(b):
		return ReadUBJSON(b, lim)
	case len(t) >= 1 && t[0] == '{':
		return ReadJSON(b, lim)
	}
	return nil, &RefusedError{What: "not an XGBoost JSON or UBJSON model", Reason: "it does not start with an object"}
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
			return nil, &RefusedError{What: "malformed " + format + " file", Reason: se.Error()}
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
	return &RefusedError{What: what, Reason: fmt.Sprintf(format, args...)}
}

// bad is a file that breaks the XGBoost model format.
func (r *reader) bad(format string, args ...any) error {
	return &RefusedError{What: "invalid " + r.format + " model", Reason: fmt.Sprintf(format, args...)}
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

func (r *reader) document() (*Model, error) {
	k, err := r.d.peek()
	if err != nil {
		return nil, err
	}
	if k != kindObject {
		return nil, r.refuse("not an XGBoost model", "the document is %s, not an object", k)
	}
	var learner *state
	haveVersion := false
	err = r.object("the document", func(k string) error {
		switch k {
		case "learner":
			s := r.d.save()
			learner = &s
			return skip(r.d)
		case "version":
			haveVersion = true
			return r.readVersion()
		}
		return r.unknown("the document", k)
	})
	if err != nil {
		return nil, err
	}
	if err := r.d.end(); err != nil {
		return nil, err
	}
	if !haveVersion || learner == nil {
		return nil, r.refuse(r.format+" document that is not an XGBoost model", "no \"learner\" and \"version\" fields")
	}
	if v := r.version[0]; v < 1 || v > 3 {
		return nil, r.refuse(fmt.Sprintf("XGBoost %s model", r.versionString()),
			"prevoir reads files from XGBoost 1.x, 2.x and 3.x")
	}
	r.d.restore(*learner)
	if err := r.readLearner(); err != nil {
		return nil, err
	}
	return r.model()
}

func (r *reader) versionString() string {
	return fmt.Sprintf("%d.%d.%d", r.version[0], r.version[1], r.version[2])
}

func (r *reader) readVersion() error {
	i := 0
	err := r.d.array(func() error {
		n, err := r.d.num()
		if err != nil {
			return err
		}
		if i >= 3 || !n.isInt || n.i < 0 {
			return r.bad("version is not [major, minor, patch]")
		}
		r.version[i] = n.i
		i++
		return nil
	})
	if err == nil && i != 3 {
		err = r.bad("version is not [major, minor, patch]")
	}
	return err
}

// readLearner reads everything but the trees first, so that a multiclass
// or gblinear model is refused by name before its trees are looked at.
func (r *reader) readLearner() error {
	var booster *state
	var haveParam, haveObjective bool
	var featureTypes []string
	err := r.object("learner", func(k string) error {
		var err error
		switch k {
		case "attributes":
			err = r.readAttributes()
		case "feature_names":
			r.featureNames, err = r.strings("learner.feature_names")
		case "feature_types":
			featureTypes, err = r.strings("learner.feature_types")
		case "gradient_booster":
			s := r.d.save()
			booster = &s
			err = skip(r.d)
		case "learner_model_param":
			haveParam = true
			err = r.readLearnerParam()
		case "objective":
			haveObjective = true
			err = r.readObjective()
		default:
			err = r.unknown("learner", k)
		}
		return err
	})
	if err != nil {
		return err
	}
	if booster == nil || !haveParam || !haveObjective {
		return r.bad("learner needs gradient_booster, learner_model_param and objective")
	}
	if r.objective == "" {
		return r.bad("learner.objective has no name")
	}
	if r.numClass > 1 || strings.HasPrefix(r.objective, "multi:") {
		return r.refuse(fmt.Sprintf("XGBoost multiclass model (num_class=%d, objective %s)", r.numClass, r.objective),
			"prevoir's tasks score one value per row")
	}
	if r.numTarget > 1 {
		return r.refuse(fmt.Sprintf("XGBoost multi-target model (num_target=%d)", r.numTarget),
			"prevoir's tasks score one value per row")
	}
	if _, ok := objectives[r.objective]; !ok {
		return r.refuse(fmt.Sprintf("XGBoost model with objective %s", r.objective),
			"supported objectives: %s", supportedObjectives())
	}
	if r.numFeature < 1 {
		return r.bad("learner_model_param.num_feature is %d", r.numFeature)
	}
	if r.numFeature > r.lim.MaxFeatures {
		return r.refuse(fmt.Sprintf("XGBoost model with %d features", r.numFeature),
			"more than the limit of %d", r.lim.MaxFeatures)
	}
	if n := len(r.featureNames); n != 0 && n != r.numFeature {
		return r.bad("%d feature_names for num_feature %d", n, r.numFeature)
	}
	if n := len(featureTypes); n != 0 && n != r.numFeature {
		return r.bad("%d feature_types for num_feature %d", n, r.numFeature)
	}
	for i, t := range featureTypes {
		switch t {
		case "float", "int", "i", "q":
		case "c":
			return r.refuse("XGBoost model with a categorical feature",
				"feature %s has type c; categorical splits are not supported", r.featureName(i))
		default:
			return r.refuse("XGBoost model with an unknown feature type",
				"feature %s has type %q", r.featureName(i), t)
		}
	}
	r.d.restore(*booster)
	return r.readBooster()
}

func (r *reader) featureName(i int) string {
	if i < len(r.featureNames) {
		return strconv.Quote(r.featureNames[i])
	}
	return fmt.Sprintf("%d", i)
}

// readAttributes reads learner.attributes, string values set by
// Booster.set_attr and early stopping. Only best_iteration means anything
// here, and only for a warning: Booster.predict scores every tree.
func (r *reader) readAttributes() error {
	return r.object("learner.attributes", func(k string) error {
		v, err := r.d.str()
		if err != nil {
			return err
		}
		if k == "best_iteration" {
			if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
				r.bestIteration = n
			}
		}
		return nil
	})
}

// readLearnerParam reads learner_model_param; every value is a string.
func (r *reader) readLearnerParam() error {
	const where = "learner.learner_model_param"
	return r.object(where, func(k string) error {
		v, err := r.d.str()
		if err != nil {
			return err
		}
		switch k {
		case "base_score":
			return r.parseBaseScore(v)
		case "num_class":
			r.numClass, err = r.count(where, k, v)
		case "num_feature":
			var n int64
			n, err = r.count(where, k, v)
			r.numFeature = int(min(n, math.MaxInt32))
		case "num_target": // 1.7 onwards; 1 unless multi-target
			r.numTarget, err = r.count(where, k, v)
		case "boost_from_average": // 1.7 onwards; training only
			if v != "0" && v != "1" {
				err = r.bad("%s.%s is %q", where, k, v)
			}
		default:
			err = r.unknown(where, k)
		}
		return err
	})
}

func (r *reader) count(where, k, v string) (int64, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, r.bad("%s.%s is %q, not a count", where, k, v)
	}
	return n, nil
}

// parseBaseScore reads base_score, "5E-1" (1.x, 2.x) or "[5E-1]" (3.x,
// where it became a vector for multi-target models).
func (r *reader) parseBaseScore(v string) error {
	s := v
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		s = strings.TrimSpace(s[1 : len(s)-1])
		if strings.Contains(s, ",") {
			return r.refuse("XGBoost model with a vector base_score "+v, "multi-target models are not supported")
		}
	}
	f, err := strconv.ParseFloat(s, 32)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return r.bad("base_score %q is not a number", v)
	}
	r.baseScore = float32(f)
	return nil
}

// objectives are the objectives Read accepts, each with the parameter
// objects it saves (all training-only).
var objectives = map[string][]string{
	"binary:logistic":  {"reg_loss_param"},
	"reg:logistic":     {"reg_loss_param"},
	"reg:squarederror": {"reg_loss_param"},
	"reg:linear":       {"reg_loss_param"}, // reg:squarederror's old name
	"count:poisson":    {"poisson_regression_param"},
	"reg:tweedie":      {"tweedie_regression_param"},
	"reg:gamma":        nil,
}

// objectiveParams are the training-only parameters each parameter object
// may hold.
var objectiveParams = map[string][]string{
	"reg_loss_param":           {"scale_pos_weight"},
	"poisson_regression_param": {"max_delta_step"},
	"tweedie_regression_param": {"tweedie_variance_power"},
}

// Objectives lists the objectives Read accepts, sorted.
func Objectives() []string {
	out := make([]string, 0, len(objectives))
	for k := range objectives {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func supportedObjectives() string {
	return "binary:logistic, reg:logistic, reg:squarederror, count:poisson, reg:tweedie, reg:gamma"
}

// readObjective reads learner.objective: its name and the objective's
// parameter objects, whose keys are checked and values ignored (they
// steer training, not prediction). Unknown objectives are refused after
// the whole learner is read, with num_class known.
func (r *reader) readObjective() error {
	const where = "learner.objective"
	var params []string
	var paramAt []state
	err := r.object(where, func(k string) error {
		if k == "name" {
			var err error
			r.objective, err = r.d.str()
			return err
		}
		params = append(params, k)
		paramAt = append(paramAt, r.d.save())
		return skip(r.d)
	})
	if err != nil {
		return err
	}
	objParams, ok := objectives[r.objective]
	if !ok {
		return nil
	}
	end := r.d.save()
	defer r.d.restore(end)
	for i, p := range params {
		if !contains(objParams, p) {
			return r.unknown(where, p)
		}
		r.d.restore(paramAt[i])
		err := r.object(where+"."+p, func(k string) error {
			if !contains(objectiveParams[p], k) {
				return r.unknown(where+"."+p, k)
			}
			_, err := r.d.str()
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

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

// Typed array readers. Elements are appended as they are read, so memory
// grows with the bytes in the file, never with a declared count.

func (r *reader) ints(where string) ([]int64, error) {
	out := []int64{}
	err := r.d.array(func() error {
		n, err := r.d.num()
		if err != nil {
			return err
		}
		if !n.isInt && n.f64 != math.Trunc(n.f64) {
			return r.bad("%s holds %v, not an integer", where, n.f64)
		}
		v := n.i
		if !n.isInt {
			if math.Abs(n.f64) > 1<<53 {
				return r.bad("%s holds %v, out of range", where, n.f64)
			}
			v = int64(n.f64)
		}
		if v < math.MinInt32 || v > math.MaxUint32 {
			return r.bad("%s holds %d, out of range", where, v)
		}
		out = append(out, v)
		return nil
	})
	return out, err
}

func (r *reader) float32s(where string) ([]float32, error) {
	out := []float32{}
	err := r.d.array(func() error {
		n, err := r.d.num()
		out = append(out, n.f32)
		return err
	})
	return out, err
}

// bools reads an array of booleans, or of 0 and 1 (XGBoost 1.6 onwards).
func (r *reader) bools(where string) ([]bool, error) {
	out := []bool{}
	err := r.d.array(func() error {
		k, err := r.d.peek()
		if err != nil {
			return err
		}
		if k == kindBool {
			b, err := r.d.boolean()
			out = append(out, b)
			return err
		}
		n, err := r.d.num()
		if err != nil {
			return err
		}
		if n.f64 != 0 && n.f64 != 1 {
			return r.bad("%s holds %v, not 0 or 1", where, n.f64)
		}
		out = append(out, n.f64 == 1)
		return nil
	})
	return out, err
}

func (r *reader) strings(where string) ([]string, error) {
	out := []string{}
	err := r.d.array(func() error {
		s, err := r.d.str()
		out = append(out, s)
		return err
	})
	return out, err
}
