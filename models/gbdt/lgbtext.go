package gbdt

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// lgbModel is a validated LightGBM model.
type lgbModel struct {
	version       string
	numFeatures   int
	objective     string
	averageOutput bool
	// featureNames are the file's names, nil when it has none.
	featureNames []string
	// featureInfos are LightGBM's per-feature ranges or category lists.
	featureInfos []string
	// booster is gbdt, dart, rf or goss (from the parameters block or
	// average_output), "" when the file does not say.
	booster string
	ens     *ensemble
	// warnings go into the card.
	warnings []string
}

// lineReader reads lines no longer than max bytes.
type lineReader struct {
	br   *bufio.Reader
	max  int
	line int
	buf  []byte
	// partial is set when the last line read ended at EOF without a
	// line ending: in a header or a tree, the file is truncated.
	partial bool
}

var errLineTooLong = errors.New("line too long")

// next returns the next line without its line ending; io.EOF after the
// last one. The slice is valid until the next call.
func (lr *lineReader) next() ([]byte, error) {
	lr.buf = lr.buf[:0]
	for {
		s, err := lr.br.ReadSlice('\n')
		if len(lr.buf)+len(s) > lr.max {
			return nil, fmt.Errorf("line %d: %w (over %d bytes)", lr.line+1, errLineTooLong, lr.max)
		}
		if err == bufio.ErrBufferFull {
			if need := len(lr.buf) + len(s); need > cap(lr.buf) {
				// Double (append grows large slices by 1.25x, which
				// allocates several times the final size).
				nb := make([]byte, len(lr.buf), min(max(2*cap(lr.buf), need, 64<<10), lr.max))
				copy(nb, lr.buf)
				lr.buf = nb
			}
			lr.buf = append(lr.buf, s...)
			continue
		}
		if err == io.EOF && len(s) == 0 && len(lr.buf) == 0 {
			return nil, io.EOF
		}
		if err != nil && err != io.EOF {
			return nil, err
		}
		lr.line++
		lr.partial = err == io.EOF
		var out []byte
		if len(lr.buf) > 0 {
			lr.buf = append(lr.buf, s...)
			out = lr.buf
		} else {
			out = s
		}
		out = bytes.TrimRight(out, "\r\n")
		return out, nil
	}
}

var lgbHeaderKeys = map[string]bool{
	"version": true, "num_class": true, "num_tree_per_iteration": true, "label_index": true,
	"max_feature_idx": true, "objective": true, "average_output": true, "feature_names": true,
	"monotone_constraints": true, "feature_infos": true, "tree_sizes": true,
	// LightGBM 2.0: its first tree (per class) holds the average the
	// training started from; prediction sums it like any other tree.
	"boost_from_average": true,
}

// lgbTreeKeys are the Tree= block fields prevoir knows. The linear-tree
// fields are known so that they can be refused by name.
var lgbTreeKeys = map[string]bool{
	"num_leaves": true, "num_cat": true, "split_feature": true, "split_gain": true, "threshold": true,
	"decision_type": true, "left_child": true, "right_child": true, "leaf_value": true, "leaf_weight": true,
	"leaf_count": true, "internal_value": true, "internal_weight": true, "internal_count": true,
	"cat_boundaries": true, "cat_threshold": true, "is_linear": true, "shrinkage": true,
	"leaf_const": true, "num_features": true, "leaf_features": true, "leaf_coeff": true,
	// LightGBM 2.0: leaf_parent (a back link, unused in prediction),
	// has_categorical and default_value (checked in lgbTreeFromBlock).
	"leaf_parent": true, "has_categorical": true, "default_value": true,
}

const lgbWhat = "LightGBM text model"

// parseLightGBMText reads and validates a LightGBM text model (header
// v2, v3 or v4).
func parseLightGBMText(ctx context.Context, r io.Reader, lim Limits) (*lgbModel, error) {
	lr := &lineReader{br: bufio.NewReaderSize(r, 64<<10), max: lim.MaxLine}
	hdr, err := readLGBHeader(lr)
	if err != nil {
		return nil, err
	}
	m, declared, err := lgbModelFromHeader(hdr, lim)
	if err != nil {
		return nil, err
	}
	what := fmt.Sprintf("LightGBM text model %s", m.version)
	if err := m.readTrees(ctx, lr, lim, what, declared); err != nil {
		return nil, err
	}
	if err := m.readParameters(lr, what); err != nil {
		return nil, err
	}
	return m, nil
}

// malformed is the refusal for a syntax error at the line last read.
func (lr *lineReader) malformed(format string, args ...any) error {
	return refuse(lgbWhat, "malformed at line %d: %s", lr.line, fmt.Sprintf(format, args...))
}

// readLGBHeader reads the "tree" line and the header block up to its
// blank line, refusing unknown and repeated fields.
func readLGBHeader(lr *lineReader) (map[string]string, error) {
	first, err := lr.next()
	if err != nil || string(first) != "tree" {
		return nil, refuse(lgbWhat, "the first line must be \"tree\"")
	}
	hdr := map[string]string{}
	for {
		l, err := lr.next()
		if err == io.EOF {
			return nil, refuse(lgbWhat, "truncated in its header (no trees)")
		}
		if err != nil {
			return nil, refuse(lgbWhat, "%v", err)
		}
		if lr.partial {
			return nil, refuse(lgbWhat, "truncated in its header (no trees)")
		}
		if len(l) == 0 {
			break
		}
		k, v, _ := strings.Cut(string(l), "=")
		if !lgbHeaderKeys[k] {
			return nil, refuse(lgbWhat, "unknown header field %q (a LightGBM newer than 4.x?); not scored", k)
		}
		if _, dup := hdr[k]; dup {
			return nil, lr.malformed("header field %q twice", k)
		}
		hdr[k] = v
	}
	return hdr, nil
}

// lgbModelFromHeader validates the header fields and returns the model
// they describe (no trees yet) and the tree count tree_sizes declares:
// -1 when there is none (LightGBM 2.0: the trees end where the rest
// begins).
func lgbModelFromHeader(hdr map[string]string, lim Limits) (*lgbModel, int, error) {
	m := &lgbModel{version: hdr["version"], objective: hdr["objective"]}
	what := fmt.Sprintf("LightGBM text model %s", m.version)
	switch m.version {
	case "v2", "v3", "v4":
	case "":
		return nil, 0, refuse(lgbWhat, "no version= line in the header")
	default:
		return nil, 0, refuse(what, "unknown version (prevoir reads v2, v3 and v4)")
	}
	if err := lgbSingleOutput(what, hdr["num_class"], hdr["num_tree_per_iteration"], m.objective); err != nil {
		return nil, 0, err
	}
	mfi, err := strconv.Atoi(hdr["max_feature_idx"])
	if err != nil || mfi < 0 {
		return nil, 0, refuse(what, "bad max_feature_idx %q", hdr["max_feature_idx"])
	}
	if mfi >= lim.MaxFeatures {
		return nil, 0, refuse(what, "%d features, over the limit of %d", mfi+1, lim.MaxFeatures)
	}
	m.numFeatures = mfi + 1
	if _, err := lgbObjective(what, m.objective); err != nil {
		return nil, 0, err
	}
	_, m.averageOutput = hdr["average_output"]
	if v, ok := hdr["feature_names"]; ok {
		names := strings.Split(v, " ")
		if len(names) != m.numFeatures {
			return nil, 0, refuse(what, "%d feature_names for %d features", len(names), m.numFeatures)
		}
		m.featureNames = names
	}
	if v, ok := hdr["feature_infos"]; ok {
		infos := strings.Split(v, " ")
		if len(infos) == m.numFeatures {
			m.featureInfos = infos
		}
	}
	declared := -1
	if ts, ok := hdr["tree_sizes"]; ok {
		declared = strings.Count(ts, " ") + 1
		if declared > lim.MaxTrees {
			return nil, 0, refuse(what, "%d trees declared, over the limit of %d", declared, lim.MaxTrees)
		}
	} else if m.version != "v2" {
		return nil, 0, refuse(what, "no tree_sizes line in the header")
	}
	return m, declared, nil
}

// readTrees reads the Tree= blocks into m's ensemble, up to "end of
// trees" (or, for v2, where the rest begins), checking their order and
// their count against declared (-1: not declared).
func (m *lgbModel) readTrees(ctx context.Context, lr *lineReader, lim Limits, what string, declared int) error {
	m.ens = newEnsemble(m.numFeatures)
	block := map[string][]byte{}
	ended := false
	for !ended {
		if err := ctx.Err(); err != nil {
			return err
		}
		l, err := lr.next()
		if err == io.EOF {
			if m.version == "v2" && m.ens.trees > 0 && (declared < 0 || m.ens.trees == declared) {
				break // LightGBM 2.0-2.1: no "end of trees", maybe nothing after
			}
			return refuse(what, "truncated after %d of %d trees (no \"end of trees\" line)", m.ens.trees, declared)
		}
		if err != nil {
			return refuse(lgbWhat, "%v", err)
		}
		switch {
		case len(l) == 0:
			continue
		case string(l) == "end of trees":
			ended = true
			continue
		case m.version == "v2" && (string(l) == "feature importances:" || string(l) == "parameters:"):
			// LightGBM 2.0 and 2.1 write no "end of trees": the tree
			// list ends where the feature importances or the
			// parameters begin.
			ended = true
			continue
		case !bytes.HasPrefix(l, []byte("Tree=")):
			return lr.malformed("want Tree= or \"end of trees\", got %q", clip(l))
		}
		if n, err := strconv.Atoi(string(l[5:])); err != nil || n != m.ens.trees {
			return lr.malformed("tree %q out of order (want Tree=%d)", clip(l), m.ens.trees)
		}
		if declared >= 0 && m.ens.trees >= declared {
			return refuse(what, "more trees than the %d tree_sizes declares", declared)
		}
		if err := readLGBTreeBlock(lr, block, lim, what, m.ens.trees); err != nil {
			return err
		}
		t, err := lgbTreeFromBlock(block, lim)
		if err != nil {
			if _, ok := err.(*RefusedError); ok {
				return err
			}
			return refuse(what, "tree %d: %v", m.ens.trees, err)
		}
		if err := m.ens.add(t, lim); err != nil {
			return refuse(what, "%v", err)
		}
	}
	if declared >= 0 && m.ens.trees != declared {
		return refuse(what, "%d trees, but tree_sizes declares %d", m.ens.trees, declared)
	}
	if m.ens.trees == 0 {
		return refuse(what, "no trees")
	}
	return nil
}

// readLGBTreeBlock reads the fields of tree number tree, up to its blank
// line, into block (cleared first), refusing unknown and repeated fields
// and a block over lim.MaxLine bytes.
func readLGBTreeBlock(lr *lineReader, block map[string][]byte, lim Limits, what string, tree int) error {
	clear(block)
	var blockBytes int
	for {
		l, err := lr.next()
		if err == io.EOF {
			return refuse(what, "truncated in tree %d", tree)
		}
		if err != nil {
			return refuse(lgbWhat, "%v", err)
		}
		if lr.partial {
			return refuse(what, "truncated in tree %d", tree)
		}
		if len(l) == 0 {
			return nil
		}
		k, v, found := bytes.Cut(l, []byte("="))
		key := string(k)
		if !found || !lgbTreeKeys[key] {
			return refuse(what, "tree %d: unknown field %q (a LightGBM newer than 4.x?); not scored", tree, clip(k))
		}
		if _, dup := block[key]; dup {
			return lr.malformed("tree %d: field %q twice", tree, key)
		}
		blockBytes += len(v)
		if blockBytes > lim.MaxLine {
			return lr.malformed("tree %d over %d bytes", tree, lim.MaxLine)
		}
		block[key] = append([]byte(nil), v...)
	}
}

// readParameters reads the rest: the feature importances and the
// parameters block, for the booster and for linear_tree, bounded like
// everything else; then checks the booster.
func (m *lgbModel) readParameters(lr *lineReader, what string) error {
	for {
		l, err := lr.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return refuse(lgbWhat, "%v", err)
		}
		if k, v, ok := paramLine(l); ok {
			switch k {
			case "boosting":
				m.booster = v
			case "linear_tree":
				if v == "1" || v == "true" {
					return refuse("LightGBM linear-tree model (linear_tree: 1)", "leaves cannot evaluate linear leaves; retrain without linear_tree")
				}
			}
		}
		if string(l) == "end of parameters" {
			break
		}
	}
	if m.booster == "" && m.averageOutput {
		m.booster = "rf"
	}
	switch m.booster {
	case "", "gbdt", "gbrt", "dart", "goss", "rf", "random_forest":
	default:
		return refuse(what, "boosting %q is not supported (gbdt, dart, rf)", m.booster)
	}
	return nil
}

// paramLine parses a "[key: value]" line of the parameters block.
func paramLine(l []byte) (k, v string, ok bool) {
	if len(l) < 3 || l[0] != '[' || l[len(l)-1] != ']' {
		return "", "", false
	}
	k, v, ok = strings.Cut(string(l[1:len(l)-1]), ": ")
	return k, v, ok
}

// lgbSingleOutput refuses multiclass models.
func lgbSingleOutput(what, numClass, perIter, objective string) error {
	nc, err := strconv.Atoi(numClass)
	if err != nil {
		return refuse(what, "bad num_class %q", numClass)
	}
	tpi, err := strconv.Atoi(perIter)
	if err != nil {
		return refuse(what, "bad num_tree_per_iteration %q", perIter)
	}
	if nc != 1 || tpi != 1 || strings.HasPrefix(objective, "multiclass") {
		return refuse(fmt.Sprintf("LightGBM multiclass model (%d classes, objective %q)", nc, objective),
			"prevoir's tasks score one value per row; train a binary or regression model")
	}
	return nil
}

// lgbLink is how a LightGBM objective turns raw scores into responses.
type lgbLink struct {
	link, output string
	sigmoid      float64 // binary: response = 1/(1+exp(-sigmoid*raw))
}

// lgbObjective maps the objective= line to a link.
func lgbObjective(what, objective string) (lgbLink, error) {
	f := strings.Fields(objective)
	if len(f) == 0 {
		return lgbLink{}, refuse(what, "no objective= line")
	}
	name, params := f[0], f[1:]
	switch name {
	case "binary":
		s := 1.0
		for _, p := range params {
			k, v, _ := strings.Cut(p, ":")
			if k != "sigmoid" {
				return lgbLink{}, refuse(what, "objective %q: unknown parameter %q", objective, p)
			}
			x, err := strconv.ParseFloat(v, 64)
			if err != nil || !(x > 0) || math.IsInf(x, 0) {
				return lgbLink{}, refuse(what, "objective %q: bad sigmoid", objective)
			}
			s = x
		}
		return lgbLink{LinkLogit, OutputProbability, s}, nil
	case "regression", "regression_l2", "regression_l1", "huber", "fair", "quantile", "mape":
		if len(params) > 0 {
			return lgbLink{}, refuse(what, "objective %q: parameter %q changes the output transform (sqrt) and is not supported", objective, strings.Join(params, " "))
		}
		return lgbLink{LinkIdentity, OutputValue, 0}, nil
	case "poisson":
		return lgbLink{LinkLog, OutputCount, 0}, nil
	case "gamma", "tweedie":
		return lgbLink{LinkLog, OutputValue, 0}, nil
	case "multiclass", "multiclassova":
		return lgbLink{}, refuse("LightGBM multiclass model", "prevoir's tasks score one value per row")
	case "lambdarank", "rank_xendcg":
		return lgbLink{}, refuse(fmt.Sprintf("LightGBM ranking model (objective %s)", name), "ranking scores are not supported")
	}
	return lgbLink{}, refuse(what, "objective %q is not supported (binary, regression, poisson, gamma, tweedie)", objective)
}

// lgbTreeFromBlock parses one Tree= block's fields.
func lgbTreeFromBlock(b map[string][]byte, lim Limits) (*lgbTree, error) {
	if v, ok := b["is_linear"]; ok && string(v) != "0" {
		return nil, refuse("LightGBM linear-tree model (is_linear=1)", "leaves cannot evaluate linear leaves; retrain without linear_tree")
	}
	for _, k := range []string{"leaf_const", "num_features", "leaf_features", "leaf_coeff"} {
		if _, ok := b[k]; ok {
			return nil, refuse("LightGBM linear-tree model", "field %s present; leaves cannot evaluate linear leaves", k)
		}
	}
	nl, err := atoiField(b, "num_leaves")
	if err != nil {
		return nil, err
	}
	if nl < 1 || nl > lim.MaxLeaves {
		return nil, fmt.Errorf("num_leaves=%d (limit %d)", nl, lim.MaxLeaves)
	}
	if _, ok := b["default_value"]; ok {
		return nil, refuse("LightGBM text model from before 2.0.4 (default_value fields)",
			"its trees send values near zero to a per-node default_value, a missing-value rule prevoir does not implement; re-save the model with LightGBM 2.0.4 or later")
	}
	_, hasNumCat := b["num_cat"]
	if v, ok := b["has_categorical"]; ok && string(v) != "0" && !hasNumCat {
		return nil, refuse("LightGBM text model with categorical splits of the pre-2.0.5 form (has_categorical=1)",
			"re-save the model with LightGBM 2.0.5 or later")
	}
	numCat := 0
	if hasNumCat { // absent in LightGBM 2.0's trees without categorical splits
		var err error
		if numCat, err = atoiField(b, "num_cat"); err != nil {
			return nil, err
		}
	}
	if numCat < 0 || numCat > nl-1 {
		return nil, fmt.Errorf("num_cat=%d for %d leaves", numCat, nl)
	}
	t := &lgbTree{}
	if t.LeafValue, err = floatsField(b, "leaf_value", nl); err != nil {
		return nil, err
	}
	if nl > 1 {
		ni := nl - 1
		if t.SplitFeature, err = int32sField(b, "split_feature", ni); err != nil {
			return nil, err
		}
		if t.Threshold, err = floatsField(b, "threshold", ni); err != nil {
			return nil, err
		}
		dt, err := int32sField(b, "decision_type", ni)
		if err != nil {
			return nil, err
		}
		t.DecisionType = make([]uint8, ni)
		for k, d := range dt {
			if d < 0 || d > 255 {
				return nil, fmt.Errorf("decision_type %d", d)
			}
			t.DecisionType[k] = uint8(d)
		}
		if t.LeftChild, err = int32sField(b, "left_child", ni); err != nil {
			return nil, err
		}
		if t.RightChild, err = int32sField(b, "right_child", ni); err != nil {
			return nil, err
		}
	}
	if numCat > 0 {
		cb, err := int32sField(b, "cat_boundaries", numCat+1)
		if err != nil {
			return nil, err
		}
		words := int(cb[numCat])
		if words < 0 || words > len(b["cat_threshold"]) {
			return nil, fmt.Errorf("cat_boundaries ends at %d, more words than cat_threshold can hold", words)
		}
		ct, err := uint32sField(b, "cat_threshold", words)
		if err != nil {
			return nil, err
		}
		t.CatBoundaries = make([]uint32, len(cb))
		for k, x := range cb {
			if x < 0 {
				return nil, fmt.Errorf("negative cat_boundaries")
			}
			t.CatBoundaries[k] = uint32(x)
		}
		t.CatThreshold = ct
	}
	return t, nil
}

func atoiField(b map[string][]byte, k string) (int, error) {
	v, ok := b[k]
	if !ok {
		return 0, fmt.Errorf("no %s field", k)
	}
	n, err := strconv.Atoi(string(v))
	if err != nil {
		return 0, fmt.Errorf("%s=%q is not an integer", k, clip(v))
	}
	return n, nil
}

// fields splits v on single spaces into exactly n tokens, without
// allocating more than n.
func fields(b map[string][]byte, k string, n int, each func(i int, tok []byte) error) error {
	v, ok := b[k]
	if !ok {
		return fmt.Errorf("no %s field", k)
	}
	if len(v) == 0 {
		if n == 0 {
			return nil
		}
		return fmt.Errorf("%s is empty, want %d values", k, n)
	}
	i := 0
	for len(v) > 0 {
		tok, rest, _ := bytes.Cut(v, []byte(" "))
		if i >= n {
			return fmt.Errorf("%s has more than %d values", k, n)
		}
		if err := each(i, tok); err != nil {
			return fmt.Errorf("%s value %d: %w", k, i, err)
		}
		i++
		v = rest
	}
	if i != n {
		return fmt.Errorf("%s has %d values, want %d", k, i, n)
	}
	return nil
}

func floatsField(b map[string][]byte, k string, n int) ([]float64, error) {
	out := make([]float64, n)
	err := fields(b, k, n, func(i int, tok []byte) error {
		x, err := strconv.ParseFloat(string(tok), 64)
		if err != nil {
			return fmt.Errorf("%q is not a number", clip(tok))
		}
		out[i] = x
		return nil
	})
	return out, err
}

func int32sField(b map[string][]byte, k string, n int) ([]int32, error) {
	out := make([]int32, n)
	err := fields(b, k, n, func(i int, tok []byte) error {
		x, err := strconv.ParseInt(string(tok), 10, 32)
		if err != nil {
			return fmt.Errorf("%q is not a 32-bit integer", clip(tok))
		}
		out[i] = int32(x)
		return nil
	})
	return out, err
}

func uint32sField(b map[string][]byte, k string, n int) ([]uint32, error) {
	out := make([]uint32, n)
	err := fields(b, k, n, func(i int, tok []byte) error {
		x, err := strconv.ParseUint(string(tok), 10, 32)
		if err != nil {
			return fmt.Errorf("%q is not a 32-bit unsigned integer", clip(tok))
		}
		out[i] = uint32(x)
		return nil
	})
	return out, err
}

// clip shortens b for an error message.
func clip(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "..."
	}
	return string(b)
}
