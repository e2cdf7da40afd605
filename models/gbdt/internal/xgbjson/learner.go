package xgbjson

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

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
