package gbdt

import (
	"encoding/binary"
	"math"
)

// xnode is a node of an XGBoost 0.90 binary tree.
type xnode struct {
	left, right int32
	feature     uint32 // high bit: default left
	value       float32
}

// xgbBinary builds an XGBoost <= 0.90 binary model, laid out as
// XGBoost's LearnerModelParam, GBTreeModelParam, TreeParam, Node and
// RTreeNodeStat structs (leaves' internal/xgbin mirrors them).
// declaredTrees overrides the tree count in the header when >= 0.
func xgbBinary(objective, booster string, numFeature uint32, base float32, trees [][]xnode, declaredTrees int64) []byte {
	le := binary.LittleEndian
	var b []byte
	u32 := func(v uint32) { b = le.AppendUint32(b, v) }
	str := func(s string) { b = le.AppendUint64(b, uint64(len(s))); b = append(b, s...) }
	u32(math.Float32bits(base))
	u32(numFeature)
	u32(0) // num_class
	u32(0) // contain_extra_attrs
	u32(0) // contain_eval_metrics
	b = append(b, make([]byte, 29*4)...)
	str(objective)
	str(booster)
	nt := uint32(len(trees))
	if declaredTrees >= 0 {
		nt = uint32(declaredTrees)
	}
	u32(nt)
	u32(1) // num_roots
	u32(numFeature)
	u32(0)
	b = le.AppendUint64(b, 0) // num_pbuffer
	u32(1)                    // num_output_group
	u32(0)                    // size_leaf_vector
	b = append(b, make([]byte, 32*4)...)
	for _, t := range trees {
		u32(1) // num_roots
		u32(uint32(len(t)))
		u32(0) // num_deleted
		u32(2) // max_depth
		u32(numFeature)
		u32(0) // size_leaf_vector
		b = append(b, make([]byte, 31*4)...)
		for _, n := range t {
			u32(math.MaxUint32) // parent (unused)
			u32(uint32(n.left))
			u32(uint32(n.right))
			u32(n.feature)
			u32(math.Float32bits(n.value))
		}
		b = append(b, make([]byte, len(t)*16)...)
	}
	b = append(b, make([]byte, 4*len(trees))...) // tree_info
	if booster == "dart" {
		b = le.AppendUint64(b, uint64(len(trees)))
		for range trees {
			u32(math.Float32bits(1))
		}
	}
	return b
}

// stumpTrees is one tree: x0 < 0.5 (missing right) gives -1, else 1;
// and a second: x1 < 2 (missing left) gives 0.25, else -0.25.
var stumpTrees = [][]xnode{
	{{1, 2, 0, 0.5}, {-1, -1, 0, -1}, {-1, -1, 0, 1}},
	{{1, 2, 1 | 1<<31, 2}, {-1, -1, 0, 0.25}, {-1, -1, 0, -0.25}},
}

// xgbRC1 turns an xgbBinary model into the legacy layout XGBoost
// 1.0.0rc1 wrote: num_output_group and the num_roots fields deprecated
// (0), and the extra attributes after the trees.
func xgbRC1(b []byte, objective, booster string, trees [][]xnode, attrs map[string]string) []byte {
	le := binary.LittleEndian
	b = append([]byte(nil), b...)
	gb := 136 + 8 + len(objective) + 8 + len(booster)
	le.PutUint32(b[gb+4:], 0)  // deprecated num_roots
	le.PutUint32(b[gb+24:], 0) // deprecated num_output_group
	off := gb + 160
	for _, t := range trees {
		le.PutUint32(b[off:], 0) // deprecated num_roots
		off += 148 + len(t)*36
	}
	if attrs != nil {
		le.PutUint32(b[12:], 1) // contain_extra_attrs
		b = le.AppendUint64(b, uint64(len(attrs)))
		for k, v := range attrs {
			b = le.AppendUint64(b, uint64(len(k)))
			b = append(b, k...)
			b = le.AppendUint64(b, uint64(len(v)))
			b = append(b, v...)
		}
	}
	return b
}
