package train

import (
	"math"
	"math/rand/v2"
	"testing"
)

// naiveGram is sum_i h_i a_i a_i^T with a_i = (x_i, 1), (d+1)x(d+1).
func naiveGram(x, h []float64, d int) []float64 {
	m := d + 1
	out := make([]float64, m*m)
	a := make([]float64, m)
	for i := range h {
		copy(a, x[i*d:i*d+d])
		a[d] = 1
		for r := 0; r < m; r++ {
			for c := 0; c < m; c++ {
				out[r*m+c] += h[i] * a[r] * a[c]
			}
		}
	}
	return out
}

func TestGramMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct{ n, d int }{{1, 1}, {7, 3}, {300, 7}, {513, 8}, {1000, 33}, {260, 64}} {
		x := make([]float64, tc.n*tc.d)
		h := make([]float64, tc.n)
		for i := range x {
			x[i] = rng.NormFloat64()
		}
		for i := range h {
			h[i] = rng.Float64()
		}
		g := newGram(tc.d)
		g.add(x, h)
		m := tc.d + 1
		got := make([]float64, m*m)
		g.upper(got, 1)
		want := naiveGram(x, h, tc.d)
		for r := 0; r < m; r++ {
			for c := r; c < m; c++ {
				// Sums of n products of O(1) terms: rounding well under 1e-12 relative.
				if diff := math.Abs(got[r*m+c] - want[r*m+c]); diff > 1e-12*float64(tc.n) {
					t.Fatalf("n=%d d=%d: G[%d,%d] = %v, want %v", tc.n, tc.d, r, c, got[r*m+c], want[r*m+c])
				}
			}
		}
	}
}

// TestKernelAVXEqualsFMA checks the assembly kernel against the same sums
// written with math.FMA in Go: bit-for-bit.
func TestKernelAVXEqualsFMA(t *testing.T) {
	if !haveFMA {
		t.Skip("no AVX2+FMA on this CPU")
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, k := range []int{1, 2, 17, 256} {
		a := make([]float64, 4*k)
		b := make([]float64, 8*k)
		for i := range a {
			a[i] = rng.NormFloat64()
		}
		for i := range b {
			b[i] = rng.NormFloat64()
		}
		const ldc = 11
		c := make([]float64, 3*ldc+8)
		for i := range c {
			c[i] = rng.NormFloat64()
		}
		want := append([]float64(nil), c...)
		for r := 0; r < 4; r++ {
			for j := 0; j < 8; j++ {
				for tt := 0; tt < k; tt++ {
					want[r*ldc+j] = math.FMA(a[4*tt+r], b[8*tt+j], want[r*ldc+j])
				}
			}
		}
		kernel4x8(k, a, b, c, ldc)
		for i := range c {
			if c[i] != want[i] {
				t.Fatalf("k=%d: c[%d] = %v, want %v", k, i, c[i], want[i])
			}
		}
	}
}

func BenchmarkGram(b *testing.B) {
	for _, d := range []int{32, 128} {
		n := 20000
		x := make([]float64, n*d)
		h := make([]float64, n)
		for i := range x {
			x[i] = float64(i%17) * 0.1
		}
		for i := range h {
			h[i] = 0.25
		}
		g := newGram(d)
		b.Run("d="+itoa(d), func(b *testing.B) {
			for b.Loop() {
				g.reset()
				g.add(x, h)
			}
			flops := float64(n) * float64(d*d)
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFlop/s")
		})
	}
}
