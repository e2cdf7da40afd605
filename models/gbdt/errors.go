package gbdt

import (
	"fmt"

	"github.com/prevoir/prevoir/models"
)

// RefusedError is a file Import will not score (models.RefusedError):
// errors.Is(err, models.ErrUnsupported).
type RefusedError = models.RefusedError

func refuse(what, format string, args ...any) error {
	return &RefusedError{What: what, Reason: fmt.Sprintf(format, args...)}
}
