package train

// The weighted Gram matrix G = A^T diag(h) A of a row block A is the heavy
// part of a Newton step (n*d^2/2 multiply-adds against n*d for the
// gradient). It is computed like a BLAS-3 SYRK: rows are packed into
// column panels (4 wide for A, 8 wide for diag(h)A), and a register-blocked
// micro-kernel accumulates 4x8 tiles of the upper triangle. On amd64 with
// AVX2 and FMA the micro-kernel is assembly; elsewhere it is Go.

// gramBlockRows is the number of rows packed at a time: one 8-wide panel
// of diag(h)A (16 KiB) stays in L1 while the 4-wide panels stream by.
const gramBlockRows = 256

// gram accumulates the upper triangle of sum_i h_i a_i a_i^T over the rows
// a_i it is given, where a_i is a design row followed by a constant 1 (the
// intercept). Padded to p columns, a multiple of 8.
type gram struct {
	d     int       // design columns, without the intercept
	p     int       // padded width: (d+1) rounded up to 8
	c     []float64 // p*p, row-major; the upper triangle is meaningful
	apack []float64 // gramBlockRows*p: 4-wide panels of A
	bpack []float64 // gramBlockRows*p: 8-wide panels of diag(h)A
	ext   []float64 // p: one row with its intercept and padding
}

func newGram(d int) *gram {
	p := (d + 1 + 7) &^ 7
	return &gram{
		d:     d,
		p:     p,
		c:     make([]float64, p*p),
		apack: make([]float64, gramBlockRows*p),
		bpack: make([]float64, gramBlockRows*p),
		ext:   make([]float64, p),
	}
}

// reset zeroes the accumulator.
func (g *gram) reset() {
	clear(g.c)
}

// add accumulates rows [0, len(h)) of x (row-major, d columns) with
// weights h. Rows are taken gramBlockRows at a time.
func (g *gram) add(x []float64, h []float64) {
	for lo := 0; lo < len(h); lo += gramBlockRows {
		hi := min(lo+gramBlockRows, len(h))
		g.addBlock(x[lo*g.d:hi*g.d], h[lo:hi])
	}
}

func (g *gram) addBlock(x []float64, h []float64) {
	d, p, k := g.d, g.p, len(h)
	// Pack: panel q of apack holds columns 4q..4q+3 for the k rows,
	// row-major within the panel; likewise 8-wide panels in bpack.
	// Column d is the intercept's 1; columns beyond are 0.
	ap, bp := g.apack[:k*p], g.bpack[:k*p]
	ext := g.ext[:p]
	ext[d] = 1 // the intercept; ext[d+1:] stay 0
	for r := 0; r < k; r++ {
		copy(ext, x[r*d:r*d+d])
		hr := h[r]
		for q := 0; q < p/4; q++ {
			dst := ap[q*k*4+r*4 : q*k*4+r*4+4 : q*k*4+r*4+4]
			src := ext[4*q : 4*q+4 : 4*q+4]
			dst[0], dst[1], dst[2], dst[3] = src[0], src[1], src[2], src[3]
		}
		for q := 0; q < p/8; q++ {
			dst := bp[q*k*8+r*8 : q*k*8+r*8+8 : q*k*8+r*8+8]
			src := ext[8*q : 8*q+8 : 8*q+8]
			for j := range 8 {
				dst[j] = hr * src[j]
			}
		}
	}
	// Upper-triangle tiles: rows 4a..4a+3 against columns 8b..8b+7 with
	// 4a <= 8b+7.
	for b := 0; b < p/8; b++ {
		bpanel := bp[b*k*8 : (b+1)*k*8]
		for a := 0; 4*a < 8*b+8; a++ {
			apanel := ap[a*k*4 : (a+1)*k*4]
			kernel4x8(k, apanel, bpanel, g.c[4*a*p+8*b:], p)
		}
	}
}

// upper copies the accumulated matrix (d+1 x d+1, intercept last) into
// dst's upper triangle, row-major with stride d+1, scaled by s.
func (g *gram) upper(dst []float64, s float64) {
	m := g.d + 1
	for i := 0; i < m; i++ {
		for j := i; j < m; j++ {
			dst[i*m+j] = s * g.c[i*g.p+j]
		}
	}
}

// kernel4x8Go is the portable micro-kernel: for r in 0..3, j in 0..7,
// c[r*ldc+j] += sum_t a[4t+r] * b[8t+j], each accumulator updated in t
// order.
func kernel4x8Go(k int, a, b, c []float64, ldc int) {
	var c0, c1, c2, c3 [8]float64
	copy(c0[:], c[0:8])
	copy(c1[:], c[ldc:ldc+8])
	copy(c2[:], c[2*ldc:2*ldc+8])
	copy(c3[:], c[3*ldc:3*ldc+8])
	a = a[:4*k]
	b = b[:8*k]
	for t := 0; t < k; t++ {
		bt := b[8*t : 8*t+8 : 8*t+8]
		a0, a1, a2, a3 := a[4*t], a[4*t+1], a[4*t+2], a[4*t+3]
		for j := range 8 {
			bj := bt[j]
			c0[j] += a0 * bj
			c1[j] += a1 * bj
			c2[j] += a2 * bj
			c3[j] += a3 * bj
		}
	}
	copy(c[0:8], c0[:])
	copy(c[ldc:ldc+8], c1[:])
	copy(c[2*ldc:2*ldc+8], c2[:])
	copy(c[3*ldc:3*ldc+8], c3[:])
}
