package gbdt

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/prevoir/prevoir/models/gbdt/internal/xgbjson"
)

// Sizes of XGBoost 0.90's binary structures.
const (
	xgbGBTreeParamSize = 160
	xgbTreeParamSize   = 148
	xgbNodeSize        = 20
	xgbStatSize        = 16
)

const xgbWhat = "XGBoost binary model (0.90 or older)"

// xgbRC1What names the legacy binary XGBoost 1.0.0rc1 wrote: the 0.90
// layout without a binf header, num_output_group deprecated (0).
const xgbRC1What = "XGBoost 1.0.0rc1 legacy binary model (no binf header)"

// xgbBin is a cursor over a whole XGBoost legacy binary model: every read
// checks the bytes left first.
type xgbBin struct {
	data []byte
	off  int64
	what string // names the model in refusals; changes once 1.0.0rc1 is recognised
}

// need refuses unless n bytes are left at the cursor; part names what
// needs them.
func (b *xgbBin) need(n int64, part string) error {
	left := int64(len(b.data)) - b.off
	if n < 0 || n > left {
		return refuse(b.what, "truncated: %s needs %d bytes at offset %d, the file has %d left", part, n, b.off, left)
	}
	return nil
}

// str reads a uint64-length-prefixed string of at most max bytes of
// printable text; name says which.
func (b *xgbBin) str(name string, max uint64) (string, error) {
	le := binary.LittleEndian
	if err := b.need(8, name+" length"); err != nil {
		return "", err
	}
	n := le.Uint64(b.data[b.off:])
	b.off += 8
	if n > max {
		return "", refuse(name, "%s declared %d bytes long (limit %d)", name, n, max)
	}
	if err := b.need(int64(n), name); err != nil {
		return "", err
	}
	s := b.data[b.off : b.off+int64(n)]
	b.off += int64(n)
	if !printable(s) {
		return "", refuse(name, "%s is not text", name)
	}
	return string(s), nil
}

// parseXGBoostBinary validates data, a whole XGBoost <= 0.90 binary
// model, walking every declared size against the bytes left before
// trusting it.
func parseXGBoostBinary(data []byte, lim Limits) (*xgbjson.Model, error) {
	le := binary.LittleEndian
	b := &xgbBin{data: data, what: xgbWhat}
	m, numFeature, numClass, err := b.learnerHeader(lim)
	if err != nil {
		return nil, err
	}
	if err := b.names(m, numClass); err != nil {
		return nil, err
	}
	numTrees, rc1, err := b.gbtreeHeader(m, lim, numFeature, numClass)
	if err != nil {
		return nil, err
	}
	if err := b.trees(m, lim, numTrees, numFeature, rc1); err != nil {
		return nil, err
	}
	if err := b.treeInfo(numTrees); err != nil {
		return nil, err
	}
	if m.Booster == "dart" {
		if err := b.dartWeights(m, numTrees); err != nil {
			return nil, err
		}
	}
	if rc1 {
		if err := xgbTrailer(data, b.off, le.Uint32(data[12:]) != 0, le.Uint32(data[16:]) != 0, m); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// learnerHeader reads the learner parameters: the base score and the
// feature and class counts; a 1.x major version is refused.
func (b *xgbBin) learnerHeader(lim Limits) (m *xgbjson.Model, numFeature uint32, numClass int32, err error) {
	le := binary.LittleEndian
	data := b.data
	if err := b.need(xgbLearnerParamSize, "the learner header"); err != nil {
		return nil, 0, 0, err
	}
	m = &xgbjson.Model{Version: "0.90 or older (legacy binary)"}
	m.BaseScore = math.Float32frombits(le.Uint32(data[0:]))
	numFeature = le.Uint32(data[4:])
	numClass = int32(le.Uint32(data[8:]))
	if major := le.Uint32(data[20:]); major != 0 {
		return nil, 0, 0, refuse(fmt.Sprintf("XGBoost %d.%d binary", major, le.Uint32(data[24:])), "re-save the model as JSON: booster.save_model(\"model.json\")")
	}
	if math.IsNaN(float64(m.BaseScore)) || math.IsInf(float64(m.BaseScore), 0) {
		return nil, 0, 0, refuse(b.what, "base_score is %v", m.BaseScore)
	}
	if numFeature == 0 || int64(numFeature) > int64(lim.MaxFeatures) {
		return nil, 0, 0, refuse(b.what, "%d features (limit %d)", numFeature, lim.MaxFeatures)
	}
	m.NumFeatures = int(numFeature)
	b.off = xgbLearnerParamSize
	return m, numFeature, numClass, nil
}

// names reads the objective and booster names and refuses what prevoir
// cannot score: linear and unknown boosters, multiclass and unsupported
// objectives.
func (b *xgbBin) names(m *xgbjson.Model, numClass int32) error {
	var err error
	if m.Objective, err = b.str("objective name", 256); err != nil {
		return err
	}
	if m.Booster, err = b.str("booster name", 64); err != nil {
		return err
	}
	switch m.Booster {
	case "gbtree", "dart":
	case "gblinear":
		return refuse("XGBoost gblinear model", "linear boosters are not supported; prevoir imports tree boosters (gbtree, dart)")
	default:
		return refuse(b.what, "unknown booster %q (gbtree, dart)", m.Booster)
	}
	if numClass > 1 || len(m.Objective) > 6 && m.Objective[:6] == "multi:" {
		return refuse(fmt.Sprintf("XGBoost multiclass model (%d classes, objective %s)", numClass, m.Objective), "prevoir's tasks score one value per row")
	}
	if _, ok := xgbObjectives[m.Objective]; !ok {
		return refuse(b.what, "objective %q is not supported (binary:logistic, reg:logistic, reg:squarederror, count:poisson, reg:gamma, reg:tweedie)", m.Objective)
	}
	return nil
}

// gbtreeHeader reads the gbtree parameters and returns the tree count and
// whether the file is XGBoost 1.0.0rc1's legacy binary (which wrote 0 for
// the deprecated num_output_group and num_roots).
func (b *xgbBin) gbtreeHeader(m *xgbjson.Model, lim Limits, numFeature uint32, numClass int32) (numTrees int32, rc1 bool, err error) {
	le := binary.LittleEndian
	data, off := b.data, b.off
	if err := b.need(xgbGBTreeParamSize, "the gbtree header"); err != nil {
		return 0, false, err
	}
	numTrees = int32(le.Uint32(data[off:]))
	numRoots := int32(le.Uint32(data[off+4:]))
	gbFeature := int32(le.Uint32(data[off+8:]))
	outGroups := int32(le.Uint32(data[off+24:]))
	leafVec := int32(le.Uint32(data[off+28:]))
	b.off += xgbGBTreeParamSize
	left := int64(len(data)) - b.off
	if numTrees <= 0 || int64(numTrees) > int64(lim.MaxTrees) {
		return 0, false, refuse(b.what, "declares %d trees (limit %d)", uint32(numTrees), lim.MaxTrees)
	}
	if minBytes := int64(numTrees) * (xgbTreeParamSize + xgbNodeSize + xgbStatSize + 4); minBytes > left {
		return 0, false, refuse(b.what, "declares %d trees: that needs at least %d more bytes, the file has %d (truncated or corrupt)", numTrees, minBytes, left)
	}
	// XGBoost 1.0.0rc1 deprecated num_output_group (and num_roots) in
	// this header and wrote 0: its output groups are then num_class's.
	rc1 = outGroups == 0 && numClass <= 1
	if rc1 {
		b.what = xgbRC1What
		m.Version = "1.0.0rc1 (legacy binary)"
		outGroups = 1
	}
	if numRoots != 1 && !(rc1 && numRoots == 0) {
		return 0, false, refuse(b.what, "%d roots per tree (only 1 is supported)", numRoots)
	}
	if outGroups != 1 {
		return 0, false, refuse(fmt.Sprintf("XGBoost multiclass model (%d output groups)", outGroups), "prevoir's tasks score one value per row")
	}
	if leafVec != 0 {
		return 0, false, refuse(b.what, "vector leaves (size_leaf_vector %d) are not supported", leafVec)
	}
	if gbFeature < 0 || uint32(gbFeature) > numFeature {
		return 0, false, refuse(b.what, "gbtree has %d features, the header %d", gbFeature, numFeature)
	}
	return numTrees, rc1, nil
}

// trees reads numTrees trees (header, nodes, stats) into m.Trees, within
// lim's node limits.
func (b *xgbBin) trees(m *xgbjson.Model, lim Limits, numTrees int32, numFeature uint32, rc1 bool) error {
	le := binary.LittleEndian
	data := b.data
	m.Trees = make([]xgbjson.Tree, 0, numTrees)
	nodes := int64(0)
	for i := int32(0); i < numTrees; i++ {
		if err := b.need(xgbTreeParamSize, fmt.Sprintf("tree %d header", i)); err != nil {
			return err
		}
		off := b.off
		tRoots := int32(le.Uint32(data[off:]))
		nNodes := int32(le.Uint32(data[off+4:]))
		tFeature := int32(le.Uint32(data[off+16:]))
		tLeafVec := int32(le.Uint32(data[off+20:]))
		b.off += xgbTreeParamSize
		if (tRoots != 1 && !(rc1 && tRoots == 0)) || tLeafVec != 0 || tFeature < 0 || uint32(tFeature) > numFeature {
			return refuse(b.what, "tree %d: unsupported header (roots %d, leaf vector %d, features %d)", i, tRoots, tLeafVec, tFeature)
		}
		if nNodes < 1 || int64(nNodes) > 2*int64(lim.MaxLeaves) {
			return refuse(b.what, "tree %d declares %d nodes (limit %d)", i, nNodes, 2*lim.MaxLeaves)
		}
		if err := b.need(int64(nNodes)*(xgbNodeSize+xgbStatSize), fmt.Sprintf("tree %d's %d nodes", i, nNodes)); err != nil {
			return err
		}
		nodes += int64(nNodes)
		if nodes > lim.MaxNodes {
			return refuse(b.what, "more than %d nodes over all trees (limit)", lim.MaxNodes)
		}
		m.Trees = append(m.Trees, xgbTree(data[b.off:b.off+int64(nNodes)*xgbNodeSize]))
		b.off += int64(nNodes) * (xgbNodeSize + xgbStatSize)
	}
	return nil
}

// treeInfo reads tree_info, each tree's output group, refusing any but 0.
func (b *xgbBin) treeInfo(numTrees int32) error {
	le := binary.LittleEndian
	if err := b.need(int64(numTrees)*4, "tree_info"); err != nil {
		return err
	}
	for i := int64(0); i < int64(numTrees); i++ {
		if v := le.Uint32(b.data[b.off+4*i:]); v != 0 {
			return refuse(b.what, "tree %d belongs to output group %d (multiclass?)", i, v)
		}
	}
	b.off += int64(numTrees) * 4
	return nil
}

// dartWeights reads a dart booster's weight_drop, one per tree, and
// scales each tree's leaves by it as XGBoost does.
func (b *xgbBin) dartWeights(m *xgbjson.Model, numTrees int32) error {
	le := binary.LittleEndian
	if err := b.need(8, "dart weight_drop length"); err != nil {
		return err
	}
	n := le.Uint64(b.data[b.off:])
	b.off += 8
	if n != uint64(numTrees) {
		return refuse(b.what, "dart: %d weight_drop values for %d trees", n, numTrees)
	}
	if err := b.need(int64(n)*4, "dart weight_drop"); err != nil {
		return err
	}
	for k := int64(0); k < int64(n); k++ {
		w := math.Float32frombits(le.Uint32(b.data[b.off+4*k:]))
		if math.IsNaN(float64(w)) || math.IsInf(float64(w), 0) {
			return refuse(b.what, "dart weight_drop %d is %v", k, w)
		}
		// XGBoost adds each dart tree's output times its weight,
		// the product rounded to float32.
		t := m.Trees[k]
		for j, l := range t.Left {
			if l == -1 {
				t.Value[j] = float32(t.Value[j] * w)
			}
		}
	}
	b.off += int64(n) * 4
	return nil
}

// xgbTrailer reads what follows the trees of a 1.0.0rc1 legacy binary:
// the extra attributes (contain_extra_attrs) and the evaluation metrics
// (contain_eval_metrics), each a uint64 count then uint64-length-prefixed
// strings. Anything else is refused: the file is read only when every
// byte is understood.
func xgbTrailer(data []byte, off int64, attrs, metrics bool, m *xgbjson.Model) error {
	le := binary.LittleEndian
	size := int64(len(data))
	str := func(part string) (string, error) {
		if size-off < 8 {
			return "", refuse(xgbRC1What, "truncated in %s", part)
		}
		n := le.Uint64(data[off:])
		off += 8
		if n > 1<<20 || int64(n) > size-off {
			return "", refuse(xgbRC1What, "%s declared %d bytes long, %d left", part, n, size-off)
		}
		s := data[off : off+int64(n)]
		off += int64(n)
		if !printable(s) {
			return "", refuse(xgbRC1What, "%s is not text", part)
		}
		return string(s), nil
	}
	count := func(part string, each int64) (int64, error) {
		if size-off < 8 {
			return 0, refuse(xgbRC1What, "truncated in %s", part)
		}
		n := le.Uint64(data[off:])
		off += 8
		if n > uint64(size-off)/uint64(each) {
			return 0, refuse(xgbRC1What, "%d %s declared, %d bytes left", n, part, size-off)
		}
		return int64(n), nil
	}
	if attrs {
		n, err := count("attributes", 16)
		if err != nil {
			return err
		}
		for range n {
			k, err := str("an attribute name")
			if err != nil {
				return err
			}
			v, err := str("attribute " + k)
			if err != nil {
				return err
			}
			if k == "best_iteration" {
				m.Warnings = append(m.Warnings, fmt.Sprintf("the file records best_iteration=%s (early stopping): prevoir scores every tree, as Booster.predict does", v))
			}
		}
	}
	if metrics {
		n, err := count("evaluation metrics", 8)
		if err != nil {
			return err
		}
		for range n {
			if _, err := str("an evaluation metric"); err != nil {
				return err
			}
		}
	}
	if off != size {
		return refuse(xgbRC1What, "%d bytes after the model that prevoir does not understand", size-off)
	}
	return nil
}

// xgbTree decodes one tree's nodes (parent, left, right, split index
// with the default-left bit, split condition or leaf value); newForest32
// validates them.
func xgbTree(nodes []byte) xgbjson.Tree {
	le := binary.LittleEndian
	n := len(nodes) / xgbNodeSize
	t := xgbjson.Tree{Left: make([]int32, n), Right: make([]int32, n), Feature: make([]int32, n), Value: make([]float32, n), DefaultLeft: make([]bool, n)}
	for k := range n {
		b := nodes[k*xgbNodeSize:]
		t.Left[k], t.Right[k] = int32(le.Uint32(b[4:])), int32(le.Uint32(b[8:]))
		sindex := le.Uint32(b[12:])
		t.Feature[k], t.DefaultLeft[k] = int32(sindex&(1<<31-1)), sindex>>31 != 0
		t.Value[k] = math.Float32frombits(le.Uint32(b[16:]))
		if t.Left[k] == -1 {
			t.Right[k], t.Feature[k] = -1, 0
		}
	}
	return t
}
