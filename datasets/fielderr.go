package datasets

import (
	"errors"
	"fmt"
)

// FieldError is an error about one option a caller passed to a library
// function: a value out of range, a malformed span, an unknown name, two
// options that do not combine. Libraries return it, naming the option by
// its field (the Go name in the options struct, for example "Horizon");
// they never name command-line flags. cmd/prevoir maps the field to the
// flag the user typed and exits with the usage status (2).
type FieldError struct {
	// Field is the option's field name, as in the options struct.
	Field string
	// Value is the value as the caller gave it (may be empty).
	Value string
	// Msg says what is wrong, without the field's name.
	Msg string
	// With names other fields involved (for "does not combine with").
	With []string
	// Err is an underlying cause, if any.
	Err error
}

// Error reads "Field VALUE: msg" with field names as they are; cmd
// rewrites it with flag names.
func (e *FieldError) Error() string {
	s := e.Field
	if e.Value != "" {
		s += " " + e.Value
	}
	return s + ": " + e.Msg
}

func (e *FieldError) Unwrap() error { return e.Err }

// Fieldf returns a *FieldError for field with value and a formatted message.
func Fieldf(field, value, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Value: value, Msg: fmt.Sprintf(format, args...)}
}

// AsFieldError returns the *FieldError in err's chain, if any.
func AsFieldError(err error) (*FieldError, bool) {
	var fe *FieldError
	ok := errors.As(err, &fe)
	return fe, ok
}
