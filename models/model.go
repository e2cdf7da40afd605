package models

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/prevoir/prevoir/datasets"
)

// Batch is a block of rows to score: Rows rows of Cols float64 values each,
// row-major in Values (len(Values) == Rows*Cols). The columns are the
// model card's Inputs, in order, for every kind of model. NaN is a missing
// value. A numeric input is its value; a categorical input is coded as
// described by Binder (the index of its level in the card's encoder, -1
// for a level the encoder does not know). Preprocessing (imputation,
// one-hot encoding, standardisation) happens inside Score, never in the
// caller.
type Batch struct {
	Rows   int
	Cols   int
	Values []float64
}

// Row returns row i.
func (b Batch) Row(i int) []float64 { return b.Values[i*b.Cols : (i+1)*b.Cols] }

// Check reports a malformed batch.
func (b Batch) Check(cols int) error {
	if b.Cols != cols {
		return fmt.Errorf("%w: batch has %d columns, model wants %d", ErrSchemaMismatch, b.Cols, cols)
	}
	if b.Rows < 0 || len(b.Values) != b.Rows*b.Cols {
		return fmt.Errorf("batch: %d values for %d rows of %d columns", len(b.Values), b.Rows, b.Cols)
	}
	return nil
}

// OutputKind selects what Score writes.
type OutputKind int

const (
	// Response is the model's prediction on the scale of its output:
	// a probability, a count or a value.
	Response OutputKind = iota
	// Raw is the framework's raw margin before the link's inverse (for a
	// LightGBM random forest, the sum over trees as LightGBM reports it).
	Raw
)

// Model scores rows. Implementations are immutable and safe for concurrent
// use: the native logistic model, and imported LightGBM/XGBoost models.
// Batch scoring and the server never care which one they hold.
type Model interface {
	// Card describes the model: name, version, kind, schema, lineage.
	Card() *Card
	// Score writes one value per row of b into dst[:b.Rows]. dst is
	// allocated by the caller and must hold at least b.Rows values.
	Score(dst []float64, b Batch, kind OutputKind) error
}

// Sentinel errors callers branch on; the HTTP layer maps them to status
// codes in one place.
var (
	ErrNotFound       = errors.New("not found")
	ErrSchemaMismatch = errors.New("schema mismatch")
	ErrUnsupported    = errors.New("unsupported model")
)

// RefusedError is a model file a loader will not read: what the file is
// (or looks like, or which part of it is the problem) and why. It is
// models.ErrUnsupported for errors.Is. Packages gbdt and its XGBoost
// reader return it.
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

// Unwrap makes a RefusedError an ErrUnsupported.
func (e *RefusedError) Unwrap() error { return ErrUnsupported }

// Loader builds a Model of one kind from its card and, when the card names
// a model file (Card.File), that file opened from the registry; file is nil
// otherwise. A Loader must validate what it reads (a malformed card or file
// is an error, never a panic) and must not keep file after it returns.
type Loader func(ctx context.Context, card *Card, file datasets.Object) (Model, error)

// Kind is a kind of model a binary can load: its name (Card.Kind) and
// the Loader that builds it.
type Kind struct {
	Name string
	Load Loader
}

// Kinds is the explicit list of kinds a caller can load, built where it
// is used (cmd/prevoir lists logistic.Kind() and gbdt.Kinds()); there is
// no global registry of kinds.
type Kinds []Kind

// Names returns the kinds' names, sorted.
func (ks Kinds) Names() []string {
	out := make([]string, 0, len(ks))
	for _, k := range ks {
		out = append(out, k.Name)
	}
	sort.Strings(out)
	return out
}

// Lookup returns the Loader of kind, nil when ks has none.
func (ks Kinds) Lookup(kind string) Loader {
	for _, k := range ks {
		if k.Name == kind && kind != "" {
			return k.Load
		}
	}
	return nil
}

// Load builds the Model a card describes with the Loader of card.Kind.
// file is the version's model file, or nil when the card names none. A
// kind ks does not list is ErrUnsupported.
func (ks Kinds) Load(ctx context.Context, card *Card, file datasets.Object) (Model, error) {
	load := ks.Lookup(card.Kind)
	if load == nil {
		if card.Kind == "" {
			return nil, fmt.Errorf("%w: card has no kind", ErrUnsupported)
		}
		return nil, fmt.Errorf("%w: kind %q (this binary knows %s)", ErrUnsupported, card.Kind, strings.Join(ks.Names(), ", "))
	}
	return load(ctx, card, file)
}
