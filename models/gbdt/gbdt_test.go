package gbdt

import "math"

var nan = math.NaN()
