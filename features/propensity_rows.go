package features

import (
	"cmp"
	"context"
	"math"
	"slices"
	"strings"
)

// The propensity rows: each target's candidates from its own items, the
// associations and popularity, and their features (propensity.go has
// the task, the scan and the global statistics).

// candidate is one candidate item of the customer being evaluated.
type candidate struct {
	item      int32
	name      string
	stat      int32 // -1: not bought
	score     float64
	lift      float64
	hasLift   bool
	source    int8 // 0 own, 1 associated, 2 popular
	candidate bool
}

// rows evaluates every target's candidates and emits them customer by
// customer, sorted by customer then item.
func (s *propState) rows(ctx context.Context, assocK int, labels bool, emit func([]outRow) error) (*Balance, *Candidates, error) {
	order := make([]int32, len(s.targets))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int { return strings.Compare(s.targets[a].cust, s.targets[b].cust) })
	cands := &Candidates{Customers: int64(len(s.targets))}
	var bal *Balance
	if labels {
		bal = &Balance{}
		for k := range s.future {
			s.targets[k>>32].future++
		}
	}
	nf := len(propensityColumns(s.events))
	width := nf
	if labels {
		width++
	}
	byItem := map[int32]int{}
	var cs []candidate
	for n, ti := range order {
		if n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, nil, err
			}
		}
		t := &s.targets[ti]
		clear(byItem)
		cs = cs[:0]
		get := func(it int32) *candidate {
			if i, ok := byItem[it]; ok {
				return &cs[i]
			}
			byItem[it] = len(cs)
			cs = append(cs, candidate{item: it, stat: -1})
			return &cs[len(cs)-1]
		}
		// Own items in name order: the association sums below add in an
		// order that does not depend on symbol ids.
		slices.SortFunc(t.stats, func(a, b int32) int {
			return strings.Compare(s.c.syms.Name(s.stats[a].item), s.c.syms.Name(s.stats[b].item))
		})
		for _, si := range t.stats {
			c := get(s.stats[si].item)
			c.stat, c.candidate, c.source = si, true, 0
		}
		for _, si := range t.stats {
			for _, e := range s.assoc[s.stats[si].item] {
				c := get(e.item)
				c.score += e.conf
				if !c.hasLift || e.lift > c.lift {
					c.lift, c.hasLift = e.lift, true
				}
			}
		}
		if assocK > 0 {
			var extra []int
			for i := range cs {
				if !cs[i].candidate {
					cs[i].name = s.c.syms.Name(cs[i].item)
					extra = append(extra, i)
				}
			}
			slices.SortFunc(extra, func(a, b int) int {
				if c := cmp.Compare(cs[b].score, cs[a].score); c != 0 {
					return c
				}
				return strings.Compare(cs[a].name, cs[b].name)
			})
			for _, i := range extra[:min(len(extra), assocK)] {
				cs[i].candidate, cs[i].source = true, 1
			}
		}
		for _, it := range s.popular {
			if c := get(it); !c.candidate {
				c.candidate, c.source = true, 2
			}
		}
		cs = slices.DeleteFunc(cs, func(c candidate) bool { return !c.candidate })
		for i := range cs {
			cs[i].name = s.c.syms.Name(cs[i].item)
		}
		slices.SortFunc(cs, func(a, b candidate) int { return strings.Compare(a.name, b.name) })
		vals := make([]float64, len(cs)*width)
		valid := make([]bool, len(cs)*width)
		keys := make([]string, len(cs))
		rows := make([]outRow, 0, len(cs))
		var covered int64
		for i := range cs {
			c := &cs[i]
			switch c.source {
			case 0:
				cands.Own++
			case 1:
				cands.Associated++
			default:
				cands.Popular++
			}
			keys[i] = c.name
			r := outRow{cust: t.cust, keys: keys[i : i+1 : i+1], vals: vals[i*width : (i+1)*width : (i+1)*width], valid: valid[i*width : (i+1)*width : (i+1)*width]}
			s.features(t, c, r.vals[:nf], r.valid[:nf])
			if s.events {
				ev := s.ev[pairKey(ti, c.item)]
				b := len(propensityDefs)
				r.vals[b], r.vals[b+1], r.vals[b+2], r.vals[b+3] = float64(ev[0]), float64(ev[1]), float64(ev[2]), float64(ev[3])
			}
			if labels {
				y := s.future[pairKey(ti, c.item)]
				r.vals[nf], r.valid[nf] = float64(b2i(y)), true
				if y {
					bal.Positives++
					covered++
				} else {
					bal.Negatives++
				}
			}
			rows = append(rows, r)
		}
		if labels {
			cands.Purchases += int64(t.future)
			cands.Covered += covered
		}
		if err := emit(rows); err != nil {
			return nil, nil, err
		}
	}
	if bal != nil && bal.Positives+bal.Negatives > 0 {
		bal.Rate = float64(bal.Positives) / float64(bal.Positives+bal.Negatives)
	}
	cands.share()
	return bal, cands, nil
}

// features evaluates one candidate row (propensityDefs order).
func (s *propState) features(t *propTarget, c *candidate, v []float64, ok []bool) {
	for i := range ok {
		ok[i] = true
	}
	v, ok = v[:len(propensityDefs)], ok[:len(propensityDefs)]
	it := &s.items[c.item]
	v[0] = float64(floorDays(s.asOf - t.last))
	v[1] = float64(t.nOrd)
	v[2] = t.spend
	v[3] = float64(len(t.stats))
	ok[5], ok[6], ok[7], ok[8] = false, false, false, false
	if c.stat >= 0 {
		st := &s.stats[c.stat]
		v[4] = float64(st.orders)
		v[5], ok[5] = float64(floorDays(s.asOf-st.last)), true
		if t.spend > 0 {
			v[6], ok[6] = st.spend/t.spend, true
		}
		if st.orders >= 2 {
			cyc := float64(st.last-st.first) / dayF / float64(st.orders-1)
			v[7], ok[7] = cyc, true
			if cyc > 0 {
				v[8], ok[8] = float64(s.asOf-st.last)/dayF/cyc, true
			}
		}
	} else if t.spend > 0 {
		v[6], ok[6] = 0, true
	}
	v[9], v[10] = float64(it.b30), float64(it.b90)
	if sum := it.b30 + it.bPrev30; sum > 0 {
		v[11] = float64(it.b30-it.bPrev30) / float64(sum)
	} else {
		ok[11] = false
	}
	if it.priceWeight > 0 {
		v[12] = it.priceSum / it.priceWeight
	} else {
		ok[12] = false
	}
	v[13], ok[13] = c.lift, c.hasLift
	v[14] = c.score
	v[15] = 0
	if c.stat >= 0 {
		v[15] = float64(s.stats[c.stat].orders90)
	}
	for i := range v {
		if ok[i] && (math.IsNaN(v[i]) || math.IsInf(v[i], 0)) {
			ok[i] = false
		}
	}
}
