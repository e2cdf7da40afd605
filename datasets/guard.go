package datasets

import (
	"fmt"
	"runtime/debug"
)

// Guard runs fn, turning a panic into an error that names what was being
// done. It is the one guard put around every call into a third-party
// decoder of untrusted bytes (parquet-go, leaves, compression codecs):
// those libraries panic on some malformed input, and a malformed file must
// be refused with an error, never crash the process.
//
// what names the operation and the object ("read part datasets/x/...");
// the panic's value follows it. The stack is kept in the error for
// debugging (PanicError.Stack) but not printed.
func Guard(what string, fn func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &PanicError{What: what, Value: p, Stack: debug.Stack()}
		}
	}()
	return fn()
}

// PanicError is the error Guard returns for a panic.
type PanicError struct {
	What  string
	Value any
	Stack []byte
}

func (e *PanicError) Error() string {
	if e.What == "" {
		return fmt.Sprintf("malformed input: decoder failed: %v", e.Value)
	}
	return fmt.Sprintf("%s: malformed input: decoder failed: %v", e.What, e.Value)
}
