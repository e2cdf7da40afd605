package xgbjson

import (
	"math"
)

// Typed array readers. Elements are appended as they are read, so memory
// grows with the bytes in the file, never with a declared count.

func (r *reader) ints(where string) ([]int64, error) {
	out := []int64{}
	err := r.d.array(func() error {
		n, err := r.d.num()
		if err != nil {
			return err
		}
		if !n.isInt && n.f64 != math.Trunc(n.f64) {
			return r.bad("%s holds %v, not an integer", where, n.f64)
		}
		v := n.i
		if !n.isInt {
			if math.Abs(n.f64) > 1<<53 {
				return r.bad("%s holds %v, out of range", where, n.f64)
			}
			v = int64(n.f64)
		}
		if v < math.MinInt32 || v > math.MaxUint32 {
			return r.bad("%s holds %d, out of range", where, v)
		}
		out = append(out, v)
		return nil
	})
	return out, err
}

func (r *reader) float32s(where string) ([]float32, error) {
	out := []float32{}
	err := r.d.array(func() error {
		n, err := r.d.num()
		out = append(out, n.f32)
		return err
	})
	return out, err
}

// bools reads an array of booleans, or of 0 and 1 (XGBoost 1.6 onwards).
func (r *reader) bools(where string) ([]bool, error) {
	out := []bool{}
	err := r.d.array(func() error {
		k, err := r.d.peek()
		if err != nil {
			return err
		}
		if k == kindBool {
			b, err := r.d.boolean()
			out = append(out, b)
			return err
		}
		n, err := r.d.num()
		if err != nil {
			return err
		}
		if n.f64 != 0 && n.f64 != 1 {
			return r.bad("%s holds %v, not 0 or 1", where, n.f64)
		}
		out = append(out, n.f64 == 1)
		return nil
	})
	return out, err
}

func (r *reader) strings(where string) ([]string, error) {
	out := []string{}
	err := r.d.array(func() error {
		s, err := r.d.str()
		out = append(out, s)
		return err
	})
	return out, err
}
