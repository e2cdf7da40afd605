package models

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Change is one field that differs between two cards. Path is the field's
// JSON path ("coefficients.tenure", "inputs.segment.kind"); A and B are its
// values in each card, nil where absent.
type Change struct {
	Path string `json:"path"`
	A    any    `json:"a"`
	B    any    `json:"b"`
}

// Diff compares two cards field by field, sorted by path. Inputs are
// compared by name (a kind change, an added or removed input) and by
// order; maps are compared by key; lists of plain values as a whole.
func Diff(a, b *Card) ([]Change, error) {
	fa, err := flattenCard(a)
	if err != nil {
		return nil, err
	}
	fb, err := flattenCard(b)
	if err != nil {
		return nil, err
	}
	var out []Change
	for p, va := range fa {
		vb, ok := fb[p]
		if !ok || !equalJSON(va, vb) {
			out = append(out, Change{Path: p, A: va, B: vb})
		}
	}
	for p, vb := range fb {
		if _, ok := fa[p]; !ok {
			out = append(out, Change{Path: p, A: nil, B: vb})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

func flattenCard(c *Card) (map[string]any, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	// Inputs by name, plus their order.
	delete(m, "inputs")
	in := map[string]any{}
	for _, f := range c.Inputs.Features {
		in[f.Name] = map[string]any{"kind": string(f.Kind)}
	}
	m["inputs"] = in
	m["input_order"] = strings.Join(c.Inputs.Names(), ", ")
	out := map[string]any{}
	flatten("", m, out)
	return out, nil
}

func flatten(prefix string, v any, out map[string]any) {
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 0 && prefix != "" {
			return
		}
		for k, e := range x {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			flatten(p, e, out)
		}
	case []any:
		plain := true
		for _, e := range x {
			switch e.(type) {
			case map[string]any, []any:
				plain = false
			}
		}
		if plain {
			out[prefix] = x
			return
		}
		for i, e := range x {
			flatten(fmt.Sprintf("%s[%d]", prefix, i), e, out)
		}
	default:
		out[prefix] = x
	}
}

func equalJSON(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}
