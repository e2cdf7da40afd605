package gbdt

import (
	"fmt"

	"github.com/prevoir/prevoir/models"
)

// RefusedError is a file Import will not score: what it looks like (or
// which part of a model is the problem) and why. It satisfies
// errors.Is(err, models.ErrUnsupported).
type RefusedError struct {
	// What the file is or looks like: "XGBoost 1.0+ binary (binf
	// header)", "LightGBM text model v4", "random bytes".
	What string
	// Reason says why it is refused and, where there is one, what to do.
	Reason string
}

func (e *RefusedError) Error() string {
	if e.Reason == "" {
		return e.What
	}
	return e.What + ": " + e.Reason
}

// Unwrap makes a RefusedError an models.ErrUnsupported.
func (e *RefusedError) Unwrap() error { return models.ErrUnsupported }

func refuse(what, format string, args ...any) error {
	return &RefusedError{What: what, Reason: fmt.Sprintf(format, args...)}
}
