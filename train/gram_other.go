//go:build !amd64

package train

const haveFMA = false

func kernel4x8(k int, a, b, c []float64, ldc int) { kernel4x8Go(k, a, b, c, ldc) }
