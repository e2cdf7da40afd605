package main

import (
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/stat/distuv"
)

// rng adds the distributions the generators need to math/rand/v2; src is
// its source, shared with gonum's samplers.
type rng struct {
	*rand.Rand
	src rand.Source
}

func newRNG(seed, stream uint64) rng {
	src := rand.NewPCG(seed, stream)
	return rng{rand.New(src), src}
}

// gamma draws Gamma(shape, scale) (mean shape*scale) with gonum's sampler.
func (r rng) gamma(shape, scale float64) float64 {
	return distuv.Gamma{Alpha: shape, Beta: 1 / scale, Src: r.src}.Rand()
}

// geometric draws the number of trials up to the first success (1, 2, ...).
func (r rng) geometric(p float64) int {
	u := 1 - r.Float64() // (0, 1]
	return 1 + int(math.Floor(math.Log(u)/math.Log(1-p)))
}

// categorical draws an index with probability proportional to w (cdf is
// the running sum of w).
func (r rng) categorical(cdf []float64) int {
	u := r.Float64() * cdf[len(cdf)-1]
	lo, hi := 0, len(cdf)-1
	for lo < hi {
		m := (lo + hi) / 2
		if cdf[m] > u {
			hi = m
		} else {
			lo = m + 1
		}
	}
	return lo
}

func cumsum(w []float64) []float64 {
	out := make([]float64, len(w))
	s := 0.0
	for i, x := range w {
		s += x
		out[i] = s
	}
	return out
}

// alias is Vose's alias table: O(1) draws from a fixed discrete
// distribution over many outcomes.
type alias struct {
	prob []float64
	alt  []int32
}

func newAlias(w []float64) alias {
	n := len(w)
	sum := 0.0
	for _, x := range w {
		sum += x
	}
	a := alias{prob: make([]float64, n), alt: make([]int32, n)}
	scaled := make([]float64, n)
	var small, large []int32
	for i, x := range w {
		scaled[i] = x * float64(n) / sum
		if scaled[i] < 1 {
			small = append(small, int32(i))
		} else {
			large = append(large, int32(i))
		}
	}
	for len(small) > 0 && len(large) > 0 {
		s, l := small[len(small)-1], large[len(large)-1]
		small = small[:len(small)-1]
		a.prob[s], a.alt[s] = scaled[s], l
		scaled[l] -= 1 - scaled[s]
		if scaled[l] < 1 {
			large = large[:len(large)-1]
			small = append(small, l)
		}
	}
	for _, i := range append(small, large...) {
		a.prob[i], a.alt[i] = 1, i
	}
	return a
}

func (a alias) draw(r rng) int {
	i := r.IntN(len(a.prob))
	if r.Float64() < a.prob[i] {
		return i
	}
	return int(a.alt[i])
}
