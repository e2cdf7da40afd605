package gbdt

import (
	"encoding/binary"
	"fmt"
	"math"
)

// xgbModel is a validated XGBoost <= 0.90 binary model.
type xgbModel struct {
	objective   string
	booster     string
	numFeatures int
	trees       int
	nodes       int64
	baseScore   float32
	link        string
	output      string
	// patched is the file with every split threshold t replaced by the
	// largest float32 below t: leaves compares x <= t in float64, XGBoost
	// x < t in float32, and on float32 inputs the two then agree.
	patched []byte
}

// Sizes of XGBoost 0.90's binary structures.
const (
	xgbGBTreeParamSize = 160
	xgbTreeParamSize   = 148
	xgbNodeSize        = 20
	xgbStatSize        = 16
)

const xgbWhat = "XGBoost binary model (0.90 or older)"

// xgbObjectives maps the objectives prevoir scores to their link.
var xgbObjectives = map[string][2]string{
	"binary:logistic":  {LinkLogit, OutputProbability},
	"reg:logistic":     {LinkLogit, OutputProbability},
	"reg:linear":       {LinkIdentity, OutputValue},
	"reg:squarederror": {LinkIdentity, OutputValue},
	"count:poisson":    {LinkLog, OutputCount},
	"reg:gamma":        {LinkLog, OutputValue},
	"reg:tweedie":      {LinkLog, OutputValue},
}

// parseXGBoostBinary validates data, a whole XGBoost <= 0.90 binary
// model, walking every declared size against the bytes left before
// trusting it.
func parseXGBoostBinary(data []byte, lim Limits) (*xgbModel, error) {
	le := binary.LittleEndian
	size := int64(len(data))
	off := int64(0)
	need := func(n int64, what string) error {
		if n < 0 || n > size-off {
			return refuse(xgbWhat, "truncated: %s needs %d bytes at offset %d, the file has %d left", what, n, off, size-off)
		}
		return nil
	}
	if err := need(xgbLearnerParamSize, "the learner header"); err != nil {
		return nil, err
	}
	m := &xgbModel{}
	m.baseScore = math.Float32frombits(le.Uint32(data[0:]))
	numFeature := le.Uint32(data[4:])
	numClass := int32(le.Uint32(data[8:]))
	if major := le.Uint32(data[20:]); major != 0 {
		return nil, refuse(fmt.Sprintf("XGBoost %d.%d binary", major, le.Uint32(data[24:])), "re-save the model as JSON: booster.save_model(\"model.json\")")
	}
	if math.IsNaN(float64(m.baseScore)) || math.IsInf(float64(m.baseScore), 0) {
		return nil, refuse(xgbWhat, "base_score is %v", m.baseScore)
	}
	if numFeature == 0 || int64(numFeature) > int64(lim.MaxFeatures) {
		return nil, refuse(xgbWhat, "%d features (limit %d)", numFeature, lim.MaxFeatures)
	}
	m.numFeatures = int(numFeature)
	off = xgbLearnerParamSize
	str := func(what string, max uint64) (string, error) {
		if err := need(8, what+" length"); err != nil {
			return "", err
		}
		n := le.Uint64(data[off:])
		off += 8
		if n > max {
			return "", refuse(xgbWhat, "%s declared %d bytes long (limit %d)", what, n, max)
		}
		if err := need(int64(n), what); err != nil {
			return "", err
		}
		s := data[off : off+int64(n)]
		off += int64(n)
		if !printable(s) {
			return "", refuse(xgbWhat, "%s is not text", what)
		}
		return string(s), nil
	}
	var err error
	if m.objective, err = str("objective name", 256); err != nil {
		return nil, err
	}
	if m.booster, err = str("booster name", 64); err != nil {
		return nil, err
	}
	switch m.booster {
	case "gbtree", "dart":
	case "gblinear":
		return nil, refuse("XGBoost gblinear model", "linear boosters are not supported; prevoir imports tree boosters (gbtree, dart)")
	default:
		return nil, refuse(xgbWhat, "unknown booster %q (gbtree, dart)", m.booster)
	}
	if numClass > 1 || len(m.objective) > 6 && m.objective[:6] == "multi:" {
		return nil, refuse(fmt.Sprintf("XGBoost multiclass model (%d classes, objective %s)", numClass, m.objective), "prevoir's tasks score one value per row")
	}
	lo, ok := xgbObjectives[m.objective]
	if !ok {
		return nil, refuse(xgbWhat, "objective %q is not supported (binary:logistic, reg:logistic, reg:squarederror, count:poisson, reg:gamma, reg:tweedie)", m.objective)
	}
	m.link, m.output = lo[0], lo[1]

	if err := need(xgbGBTreeParamSize, "the gbtree header"); err != nil {
		return nil, err
	}
	numTrees := int32(le.Uint32(data[off:]))
	numRoots := int32(le.Uint32(data[off+4:]))
	gbFeature := int32(le.Uint32(data[off+8:]))
	outGroups := int32(le.Uint32(data[off+24:]))
	leafVec := int32(le.Uint32(data[off+28:]))
	off += xgbGBTreeParamSize
	if numTrees <= 0 || int64(numTrees) > int64(lim.MaxTrees) {
		return nil, refuse(xgbWhat, "declares %d trees (limit %d)", uint32(numTrees), lim.MaxTrees)
	}
	if minBytes := int64(numTrees) * (xgbTreeParamSize + xgbNodeSize + xgbStatSize + 4); minBytes > size-off {
		return nil, refuse(xgbWhat, "declares %d trees: that needs at least %d more bytes, the file has %d (truncated or corrupt)", numTrees, minBytes, size-off)
	}
	if numRoots != 1 {
		return nil, refuse(xgbWhat, "%d roots per tree (only 1 is supported)", numRoots)
	}
	if outGroups != 1 {
		return nil, refuse(fmt.Sprintf("XGBoost multiclass model (%d output groups)", outGroups), "prevoir's tasks score one value per row")
	}
	if leafVec != 0 {
		return nil, refuse(xgbWhat, "vector leaves (size_leaf_vector %d) are not supported", leafVec)
	}
	if gbFeature < 0 || uint32(gbFeature) > numFeature {
		return nil, refuse(xgbWhat, "gbtree has %d features, the header %d", gbFeature, numFeature)
	}
	m.patched = append([]byte(nil), data...)
	for i := int32(0); i < numTrees; i++ {
		if err := need(xgbTreeParamSize, fmt.Sprintf("tree %d header", i)); err != nil {
			return nil, err
		}
		tRoots := int32(le.Uint32(data[off:]))
		nNodes := int32(le.Uint32(data[off+4:]))
		tFeature := int32(le.Uint32(data[off+16:]))
		tLeafVec := int32(le.Uint32(data[off+20:]))
		off += xgbTreeParamSize
		if tRoots != 1 || tLeafVec != 0 || tFeature < 0 || uint32(tFeature) > numFeature {
			return nil, refuse(xgbWhat, "tree %d: unsupported header (roots %d, leaf vector %d, features %d)", i, tRoots, tLeafVec, tFeature)
		}
		if nNodes < 1 || int64(nNodes) > 2*int64(lim.MaxLeaves) {
			return nil, refuse(xgbWhat, "tree %d declares %d nodes (limit %d)", i, nNodes, 2*lim.MaxLeaves)
		}
		if err := need(int64(nNodes)*(xgbNodeSize+xgbStatSize), fmt.Sprintf("tree %d's %d nodes", i, nNodes)); err != nil {
			return nil, err
		}
		m.nodes += int64(nNodes)
		if m.nodes > lim.MaxNodes {
			return nil, refuse(xgbWhat, "more than %d nodes over all trees (limit)", lim.MaxNodes)
		}
		if err := m.checkTree(data[off:off+int64(nNodes)*xgbNodeSize], off, i); err != nil {
			return nil, err
		}
		off += int64(nNodes) * (xgbNodeSize + xgbStatSize)
	}
	if err := need(int64(numTrees)*4, "tree_info"); err != nil {
		return nil, err
	}
	for i := int64(0); i < int64(numTrees); i++ {
		if v := le.Uint32(data[off+4*i:]); v != 0 {
			return nil, refuse(xgbWhat, "tree %d belongs to output group %d (multiclass?)", i, v)
		}
	}
	off += int64(numTrees) * 4
	if m.booster == "dart" {
		if err := need(8, "dart weight_drop length"); err != nil {
			return nil, err
		}
		n := le.Uint64(data[off:])
		off += 8
		if n != uint64(numTrees) {
			return nil, refuse(xgbWhat, "dart: %d weight_drop values for %d trees", n, numTrees)
		}
		if err := need(int64(n)*4, "dart weight_drop"); err != nil {
			return nil, err
		}
		for k := int64(0); k < int64(n); k++ {
			w := math.Float32frombits(le.Uint32(data[off+4*k:]))
			if math.IsNaN(float64(w)) || math.IsInf(float64(w), 0) {
				return nil, refuse(xgbWhat, "dart weight_drop %d is %v", k, w)
			}
		}
	}
	m.trees = int(numTrees)
	return m, nil
}

// checkTree validates one tree's nodes (at file offset base) and patches
// its thresholds in m.patched.
func (m *xgbModel) checkTree(nodes []byte, base int64, tree int32) error {
	le := binary.LittleEndian
	n := int32(len(nodes) / xgbNodeSize)
	bad := func(format string, args ...any) error {
		return refuse(xgbWhat, "tree %d: %s", tree, fmt.Sprintf(format, args...))
	}
	node := func(k int32) (left, right int32, sindex uint32, info float32) {
		b := nodes[k*xgbNodeSize:]
		return int32(le.Uint32(b[4:])), int32(le.Uint32(b[8:])), le.Uint32(b[12:]), math.Float32frombits(le.Uint32(b[16:]))
	}
	if l, _, _, v := node(0); l == -1 {
		if n != 1 {
			return bad("root is a leaf but the tree has %d nodes", n)
		}
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return bad("leaf value %v", v)
		}
		return nil
	}
	seen := make([]bool, n)
	seen[0] = true
	stack := []int32{0}
	for len(stack) > 0 {
		k := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		l, r, sindex, v := node(k)
		if l == -1 {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return bad("leaf %d value %v", k, v)
			}
			continue
		}
		if l <= 0 || l >= n || r <= 0 || r >= n || l == r {
			return bad("node %d has children %d, %d (of %d nodes)", k, l, r, n)
		}
		if f := sindex & (1<<31 - 1); f >= uint32(m.numFeatures) {
			return bad("node %d splits on feature %d of %d", k, f, m.numFeatures)
		}
		if math.IsNaN(float64(v)) {
			return bad("node %d threshold is NaN", k)
		}
		for _, c := range [2]int32{l, r} {
			if seen[c] {
				return bad("node %d is reached twice", c)
			}
			seen[c] = true
			stack = append(stack, c)
		}
		t := math.Nextafter32(v, float32(math.Inf(-1)))
		le.PutUint32(m.patched[base+int64(k)*xgbNodeSize+16:], math.Float32bits(t))
	}
	return nil
}
