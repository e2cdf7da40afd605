package train

import "golang.org/x/sys/cpu"

var haveFMA = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// kernel4x8AVX is kernel4x8Go with fused multiply-adds on AVX2 registers.
//
//go:noescape
func kernel4x8AVX(k int, a, b, c *float64, ldc int)

func kernel4x8(k int, a, b, c []float64, ldc int) {
	if !haveFMA || k == 0 {
		kernel4x8Go(k, a, b, c, ldc)
		return
	}
	_ = a[4*k-1]
	_ = b[8*k-1]
	_ = c[3*ldc+7]
	kernel4x8AVX(k, &a[0], &b[0], &c[0], ldc)
}
