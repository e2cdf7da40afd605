package train

import (
	"math"
	"runtime"
	"sync"
	"sync/atomic"
)

// objective is F(beta, b) = C * sum_i w_i * logloss(y_i, z_i) + 1/2 ||beta||^2
// with z_i = x_i.beta + b, over a row-major design matrix. Parameters are
// laid out as beta followed by the intercept b (len d+1).
type objective struct {
	x       []float64 // n*d, row-major
	n, d    int
	y       []float64 // 0 or 1
	w       []float64 // nil: all 1
	c       float64
	threads int
	chunks  []span // row ranges; their bounds depend on n only

	z  []float64 // n: linear predictor at the last point evaluated
	hw []float64 // n: w_i p_i (1-p_i) there, the Hessian's row weights
	// per-chunk partial results, reduced in chunk order
	partLoss []float64
	partGrad [][]float64 // per chunk, d+1
	grams    []*gram     // per worker
	partGram [][]float64 // per chunk, (d+1)^2 upper triangle
}

type span struct{ lo, hi int }

// chunkSpans splits n rows into at most maxChunks chunks of at least
// minChunk rows. It depends on n only, never on the number of goroutines.
func chunkSpans(n int) []span {
	const minChunk, maxChunks = 4096, 64
	size := max(minChunk, (n+maxChunks-1)/maxChunks)
	var out []span
	for lo := 0; lo < n; lo += size {
		out = append(out, span{lo, min(n, lo+size)})
	}
	if len(out) == 0 {
		out = append(out, span{0, 0})
	}
	return out
}

func newObjective(x []float64, n, d int, y, w []float64, c float64, threads int) *objective {
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	o := &objective{x: x, n: n, d: d, y: y, w: w, c: c, threads: threads, chunks: chunkSpans(n)}
	o.z = make([]float64, n)
	o.hw = make([]float64, n)
	o.partLoss = make([]float64, len(o.chunks))
	o.partGrad = make([][]float64, len(o.chunks))
	for i := range o.partGrad {
		o.partGrad[i] = make([]float64, d+1)
	}
	return o
}

// parallel runs f(chunk index, worker index) for every chunk on up to
// o.threads goroutines.
func (o *objective) parallel(f func(ci, worker int)) {
	nw := min(o.threads, len(o.chunks))
	if nw <= 1 {
		for ci := range o.chunks {
			f(ci, 0)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < nw; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for {
				ci := int(next.Add(1)) - 1
				if ci >= len(o.chunks) {
					return
				}
				f(ci, w)
			}
		}(w)
	}
	wg.Wait()
}

func (o *objective) weight(i int) float64 {
	if o.w == nil {
		return 1
	}
	return o.w[i]
}

// logloss returns log(1+exp(z)) - y*z, the negative log-likelihood of a
// 0/1 label y under P(y=1) = sigmoid(z), computed without overflow.
func logloss(y, z float64) float64 {
	var sp float64
	if z > 0 {
		sp = z + math.Log1p(math.Exp(-z))
	} else {
		sp = math.Log1p(math.Exp(z))
	}
	return sp - y*z
}

// sigmoid returns 1/(1+exp(-z)) without overflow.
func sigmoid(z float64) float64 {
	if z >= 0 {
		return 1 / (1 + math.Exp(-z))
	}
	e := math.Exp(z)
	return e / (1 + e)
}

func dot(a, b []float64) float64 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// penalty returns 1/2 ||beta||^2 for params (beta, b).
func (o *objective) penalty(params []float64) float64 {
	var s float64
	for _, v := range params[:o.d] {
		s += v * v
	}
	return s / 2
}

// lossGrad evaluates F at params, stores the linear predictor in o.z and,
// if grad is not nil, the gradient in grad (len d+1).
func (o *objective) lossGrad(params, grad []float64) float64 {
	d := o.d
	beta, b := params[:d], params[d]
	o.parallel(func(ci, _ int) {
		s := o.chunks[ci]
		var loss float64
		g := o.partGrad[ci]
		if grad != nil {
			clear(g)
		}
		for i := s.lo; i < s.hi; i++ {
			row := o.x[i*d : i*d+d]
			z := dot(row, beta) + b
			o.z[i] = z
			wi := o.weight(i)
			// One exponential for the loss, the residual and the
			// Hessian weight: e = exp(-|z|).
			e := math.Exp(-math.Abs(z))
			sp := math.Log1p(e) // softplus(z) - max(z, 0)
			q := 1 / (1 + e)
			var p float64 // sigmoid(z)
			if z >= 0 {
				sp += z
				p = q
			} else {
				p = e * q
			}
			loss += wi * (sp - o.y[i]*z)
			o.hw[i] = wi * e * q * q // w p (1-p)
			if grad != nil {
				r := wi * (p - o.y[i])
				if r != 0 {
					axpy(r, row, g[:d])
					g[d] += r
				}
			}
		}
		o.partLoss[ci] = loss
	})
	var loss float64
	for ci := range o.chunks {
		loss += o.partLoss[ci]
	}
	if grad != nil {
		clear(grad)
		for ci := range o.chunks {
			g := o.partGrad[ci]
			for j := range grad {
				grad[j] += g[j]
			}
		}
		for j := range grad {
			grad[j] *= o.c
		}
		for j := 0; j < d; j++ {
			grad[j] += beta[j]
		}
	}
	return o.c*loss + o.penalty(params)
}

func axpy(a float64, x, y []float64) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] += a * v
	}
}

// hessian writes the Hessian of F at the point of the last lossGrad call
// into h, (d+1)x(d+1) row-major, both triangles.
func (o *objective) hessian(h []float64) {
	d := o.d
	m := d + 1
	if o.grams == nil {
		o.grams = make([]*gram, min(o.threads, len(o.chunks)))
		for i := range o.grams {
			o.grams[i] = newGram(d)
		}
		o.partGram = make([][]float64, len(o.chunks))
		for i := range o.partGram {
			o.partGram[i] = make([]float64, m*m)
		}
	}
	o.parallel(func(ci, worker int) {
		s := o.chunks[ci]
		g := o.grams[worker]
		g.reset()
		for lo := s.lo; lo < s.hi; lo += gramBlockRows {
			hi := min(s.hi, lo+gramBlockRows)
			g.addBlock(o.x[lo*d:hi*d], o.hw[lo:hi])
		}
		g.upper(o.partGram[ci], 1)
	})
	clear(h[:m*m])
	for ci := range o.chunks {
		pg := o.partGram[ci]
		for i := 0; i < m; i++ {
			for j := i; j < m; j++ {
				h[i*m+j] += pg[i*m+j]
			}
		}
	}
	for i := 0; i < m; i++ {
		for j := i; j < m; j++ {
			v := o.c * h[i*m+j]
			if i == j && i < d {
				v++
			}
			h[i*m+j] = v
			h[j*m+i] = v
		}
	}
}

// direction computes zd = X dbeta + db for a step (dbeta, db).
func (o *objective) direction(step, zd []float64) {
	d := o.d
	o.parallel(func(ci, _ int) {
		s := o.chunks[ci]
		for i := s.lo; i < s.hi; i++ {
			zd[i] = dot(o.x[i*d:i*d+d], step[:d]) + step[d]
		}
	})
}

// lossAlong returns C * sum_i w_i logloss(y_i, z_i + t*zd_i), the data
// part of F along a line from the point of the last lossGrad call.
func (o *objective) lossAlong(t float64, zd []float64) float64 {
	o.parallel(func(ci, _ int) {
		s := o.chunks[ci]
		var loss float64
		for i := s.lo; i < s.hi; i++ {
			loss += o.weight(i) * logloss(o.y[i], o.z[i]+t*zd[i])
		}
		o.partLoss[ci] = loss
	})
	var loss float64
	for ci := range o.chunks {
		loss += o.partLoss[ci]
	}
	return o.c * loss
}
