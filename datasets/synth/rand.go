package synth

import (
	"math"
	"math/rand/v2"
)

// Stream tags: each customer has several independent random streams, so
// that skipping one output (web events in CSV mode) never changes another
// (the order lines).
const (
	streamWorld uint64 = 0x9e3779b97f4a7c15
	streamLife  uint64 = 0xbf58476d1ce4e5b9
	streamWeb   uint64 = 0x94d049bb133111eb
	streamAux   uint64 = 0xd6e8feb86659fd93
)

// splitmix64 scrambles x; used to turn (seed, customer index, tag) into
// well-separated PCG seeds.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// stream is a reseedable PCG random stream. Reseeding reuses the value, so
// a worker allocates its streams once.
type stream struct {
	pcg *rand.PCG
	*rand.Rand
}

func newStream() *stream {
	p := rand.NewPCG(0, 0)
	return &stream{pcg: p, Rand: rand.New(p)}
}

// seed positions the stream at the start of the sequence for (seed, index, tag).
func (s *stream) seed(seed, index, tag uint64) {
	s.pcg.Seed(splitmix64(seed^tag), splitmix64(index+splitmix64(tag^seed)))
}

// gamma draws from Gamma(shape, scale) (mean shape*scale) with
// Marsaglia and Tsang's method; shape < 1 uses the U^(1/shape) boost.
func (s *stream) gamma(shape, scale float64) float64 {
	if shape < 1 {
		u := s.Float64()
		for u == 0 {
			u = s.Float64()
		}
		return s.gamma(shape+1, scale) * math.Pow(u, 1/shape)
	}
	d := shape - 1.0/3
	c := 1 / math.Sqrt(9*d)
	for {
		x := s.NormFloat64()
		v := 1 + c*x
		if v <= 0 {
			continue
		}
		v = v * v * v
		u := s.Float64()
		if u < 1-0.0331*x*x*x*x {
			return d * v * scale
		}
		if math.Log(u) < 0.5*x*x+d*(1-v+math.Log(v)) {
			return d * v * scale
		}
	}
}

// beta draws from Beta(a, b).
func (s *stream) beta(a, b float64) float64 {
	x := s.gamma(a, 1)
	y := s.gamma(b, 1)
	if x+y == 0 {
		return 0
	}
	return x / (x + y)
}

// poisson draws from Poisson(mean): inversion below 30, a rounded normal
// approximation above (used only for large means where its error is far
// below the model's own noise).
func (s *stream) poisson(mean float64) int {
	if mean <= 0 {
		return 0
	}
	if mean >= 30 {
		k := int(math.Round(mean + math.Sqrt(mean)*s.NormFloat64()))
		if k < 0 {
			k = 0
		}
		return k
	}
	l := math.Exp(-mean)
	p := l
	k := 0
	u := s.Float64()
	for u > p {
		u -= p
		k++
		p *= mean / float64(k)
		if p == 0 {
			break
		}
	}
	return k
}

// geometric draws the number of failures before the first success with
// success probability p (0, 1, 2, ...; mean (1-p)/p).
func (s *stream) geometric(p float64) int {
	if p >= 1 {
		return 0
	}
	u := s.Float64()
	for u == 0 {
		u = s.Float64()
	}
	return int(math.Log(u) / math.Log1p(-p))
}

// pick returns an index drawn from cumulative weights cum (increasing,
// last element the total).
func (s *stream) pick(cum []float64) int {
	u := s.Float64() * cum[len(cum)-1]
	for i, c := range cum {
		if u < c {
			return i
		}
	}
	return len(cum) - 1
}

// alias is Vose's alias table: O(1) draws from a fixed discrete
// distribution.
type alias struct {
	prob  []float64
	alias []int32
}

func newAlias(w []float64) alias {
	n := len(w)
	a := alias{prob: make([]float64, n), alias: make([]int32, n)}
	var total float64
	for _, x := range w {
		total += x
	}
	scaled := make([]float64, n)
	small := make([]int, 0, n)
	large := make([]int, 0, n)
	for i, x := range w {
		scaled[i] = x * float64(n) / total
		if scaled[i] < 1 {
			small = append(small, i)
		} else {
			large = append(large, i)
		}
	}
	for len(small) > 0 && len(large) > 0 {
		l := small[len(small)-1]
		small = small[:len(small)-1]
		g := large[len(large)-1]
		large = large[:len(large)-1]
		a.prob[l] = scaled[l]
		a.alias[l] = int32(g)
		scaled[g] = scaled[g] + scaled[l] - 1
		if scaled[g] < 1 {
			small = append(small, g)
		} else {
			large = append(large, g)
		}
	}
	for _, i := range large {
		a.prob[i] = 1
		a.alias[i] = int32(i)
	}
	for _, i := range small {
		a.prob[i] = 1
		a.alias[i] = int32(i)
	}
	return a
}

func (a *alias) draw(s *stream) int {
	u := s.Float64() * float64(len(a.prob))
	i := int(u)
	if i >= len(a.prob) {
		i = len(a.prob) - 1
	}
	if u-float64(i) < a.prob[i] {
		return i
	}
	return int(a.alias[i])
}
