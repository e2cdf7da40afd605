package gbdt

import (
	"fmt"
	"math"
	"runtime"
	"sync"

	"github.com/prevoir/prevoir/models"
	"github.com/prevoir/prevoir/models/gbdt/internal/xgbjson"
)

// node32 is one node of a forest32: a split (left >= 0) or a leaf, whose
// value is then in value.
type node32 struct {
	value float32 // split condition, or leaf value
	feat  int32
	// left and right are absolute node indices; left is -1 for a leaf.
	// miss is the child a missing value goes to.
	left, right, miss int32
}

// forest32 is an XGBoost model scored with XGBoost's own arithmetic:
// inputs as float32, `x < t` in float32, and the margin accumulated in
// float32 from the float32 base margin, tree by tree in order. Its raw
// margins are XGBoost's bit for bit.
type forest32 struct {
	nodes []node32
	roots []int32
	base  float32
	link  string
	// split marks the features some reachable split uses.
	split []bool
}

// newForest32 validates and flattens XGBoost trees: from each root, every
// node is reached at most once (no cycle, no shared child), children are
// in range, splits name a feature below numFeatures and a condition that
// is not NaN, leaves hold finite values. Nodes no path reaches (pruned
// ones) are kept as inert leaves.
func newForest32(trees []xgbjson.Tree, numFeatures int, base float32, link string, lim Limits) (*forest32, error) {
	const what = "XGBoost model"
	if len(trees) > lim.MaxTrees {
		return nil, refuse(what, "%d trees (limit %d)", len(trees), lim.MaxTrees)
	}
	total := int64(0)
	for _, t := range trees {
		total += int64(len(t.Left))
	}
	if total > lim.MaxNodes || total > math.MaxInt32 {
		return nil, refuse(what, "%d nodes over all trees (limit %d)", total, lim.MaxNodes)
	}
	f := &forest32{nodes: make([]node32, total), roots: make([]int32, len(trees)), base: base, link: link, split: make([]bool, numFeatures)}
	off := int32(0)
	var seen []bool
	var stack []int32
	for i, t := range trees {
		n := len(t.Left)
		if n == 0 || len(t.Right) != n || len(t.Feature) != n || len(t.Value) != n || len(t.DefaultLeft) != n {
			return nil, refuse(what, "tree %d: node arrays of different lengths", i)
		}
		f.roots[i] = off
		seen = append(seen[:0], make([]bool, n)...)
		for k := range n {
			f.nodes[off+int32(k)] = node32{left: -1, right: -1, miss: -1}
		}
		stack = append(stack[:0], 0)
		for len(stack) > 0 {
			k := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if k < 0 || int(k) >= n {
				return nil, refuse(what, "tree %d: child %d out of range [0, %d)", i, k, n)
			}
			if seen[k] {
				return nil, refuse(what, "tree %d: node %d is reached twice (not a tree)", i, k)
			}
			seen[k] = true
			v, l, r := t.Value[k], t.Left[k], t.Right[k]
			if l == -1 {
				if r != -1 {
					return nil, refuse(what, "tree %d: node %d has one child", i, k)
				}
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
					return nil, refuse(what, "tree %d: leaf %d has value %v", i, k, v)
				}
				f.nodes[off+k].value = v
				continue
			}
			if ft := t.Feature[k]; ft < 0 || int(ft) >= numFeatures {
				return nil, refuse(what, "tree %d: node %d splits feature %d of %d", i, k, ft, numFeatures)
			}
			if math.IsNaN(float64(v)) {
				return nil, refuse(what, "tree %d: node %d: split condition is NaN", i, k)
			}
			f.split[t.Feature[k]] = true
			nd := node32{value: v, feat: t.Feature[k], left: off + l, right: off + r, miss: off + r}
			if t.DefaultLeft[k] {
				nd.miss = nd.left
			}
			f.nodes[off+k] = nd
			stack = append(stack, r, l)
		}
		off += int32(n)
	}
	return f, nil
}

// margin is the raw margin of x (the model's features, as float32) over
// the first nTrees trees.
func (f *forest32) margin(x []float32, nTrees int) float32 {
	s := f.base
	nodes := f.nodes
	for _, r := range f.roots[:nTrees] {
		n := &nodes[r]
		for n.left >= 0 {
			v := x[n.feat]
			switch {
			case v < n.value:
				n = &nodes[n.left]
			case v >= n.value:
				n = &nodes[n.right]
			default: // NaN
				n = &nodes[n.miss]
			}
		}
		s += n.value
	}
	return s
}

// response is XGBoost's transform of a margin, in float32 as XGBoost
// computes it (1.x's PredTransform: 1/(1+expf(-x)), expf(x)).
func (f *forest32) response(m float32) float32 {
	switch f.link {
	case LinkLogit:
		e := float32(math.Exp(-float64(m)))
		return float32(1) / (float32(1) + e)
	case LinkLog:
		return float32(math.Exp(float64(m)))
	}
	return m
}

// score32Chunk is how many rows one goroutine of score32 takes at a time.
const score32Chunk = 64

// score32 scores b with m's forest32, on up to threads goroutines.
func (m *Model) score32(dst []float64, b models.Batch, kind models.OutputKind, threads int) {
	nTrees := len(m.f32.roots)
	if m.nEst > 0 {
		nTrees = m.nEst
	}
	chunks := (b.Rows + score32Chunk - 1) / score32Chunk
	threads = min(threads, chunks)
	if threads <= 1 {
		var stack [64]float32 // no allocation for a narrow model
		x := stack[:0]
		if m.nFeat > len(stack) {
			x = make([]float32, 0, m.nFeat)
		}
		m.scoreRows(dst, b, kind, nTrees, x[:m.nFeat], 0, b.Rows)
		return
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	next, n := 0, nTrees
	for range threads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			x := make([]float32, m.nFeat)
			for {
				mu.Lock()
				lo := next
				next += score32Chunk
				mu.Unlock()
				if lo >= b.Rows {
					return
				}
				m.scoreRows(dst, b, kind, n, x, lo, min(lo+score32Chunk, b.Rows))
			}
		}()
	}
	wg.Wait()
}

// scoreRows scores rows [lo, hi) of b into dst, with x (len nFeat) as
// the float32 feature buffer.
func (m *Model) scoreRows(dst []float64, b models.Batch, kind models.OutputKind, nTrees int, x []float32, lo, hi int) {
	for i := lo; i < hi; i++ {
		row := b.Row(i)
		for j, c := range m.bind.perm {
			x[j] = float32(row[c])
		}
		s := m.f32.margin(x, nTrees)
		if kind == models.Response {
			s = m.f32.response(s)
		}
		dst[i] = float64(s)
	}
}

// xgbObjectives maps the XGBoost objectives prevoir scores (xgbjson's
// Objectives) to their link and output.
var xgbObjectives = map[string][2]string{
	"binary:logistic":  {LinkLogit, OutputProbability},
	"reg:logistic":     {LinkLogit, OutputProbability},
	"reg:linear":       {LinkIdentity, OutputValue},
	"reg:squarederror": {LinkIdentity, OutputValue},
	"count:poisson":    {LinkLog, OutputCount},
	"reg:gamma":        {LinkLog, OutputValue},
	"reg:tweedie":      {LinkLog, OutputValue},
}

// xgbBaseMargin is base_score through the objective's link, in float32
// as XGBoost's ProbToMargin computes it.
func xgbBaseMargin(link string, b float32) (float32, error) {
	switch link {
	case LinkLogit:
		if !(b > 0 && b < 1) {
			return 0, fmt.Errorf("base_score %v is not a probability in (0, 1)", b)
		}
		one := float32(1)
		return -float32(math.Log(float64(one/b-one))) + 0, nil // + 0: no -0 for b = 0.5
	case LinkLog:
		if !(b > 0) {
			return 0, fmt.Errorf("base_score %v is not positive", b)
		}
		return float32(math.Log(float64(b))), nil
	}
	return b, nil
}

// threadsFor is how many goroutines Score uses.
func threadsFor(n int) int {
	if n <= 0 {
		return runtime.GOMAXPROCS(0)
	}
	return n
}
