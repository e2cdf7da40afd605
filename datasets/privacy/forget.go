package privacy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/prevoir/prevoir/datasets"
)

// IDs is a set of customer ids, as stored (datasets.NormalizeID).
type IDs map[string]struct{}

// NewIDs returns the set of the normalised, non-empty ids.
func NewIDs(ids ...string) IDs {
	s := IDs{}
	for _, id := range ids {
		if id = datasets.NormalizeID(id); id != "" {
			s[id] = struct{}{}
		}
	}
	return s
}

// Has reports whether id is in the set.
func (s IDs) Has(id string) bool {
	_, ok := s[id]
	return ok
}

// Sorted returns the ids in order.
func (s IDs) Sorted() []string {
	out := make([]string, 0, len(s))
	for id := range s {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// Rewrite says what a Rewriter changed in one stored object set: a table,
// a feature table, a publication, a truth file.
type Rewrite struct {
	// Layer is the rewriter's layer: "datasets", "latent", "features", ...
	Layer string `json:"layer"`
	// Object names what was rewritten, typically its manifest's key.
	Object string `json:"object"`
	// Written are the keys of objects written in place of others.
	Written []string `json:"written,omitempty"`
	// Deleted are the keys of objects removed.
	Deleted []string `json:"deleted,omitempty"`
	// Rows is the number of rows removed.
	Rows int64 `json:"rows_removed"`
}

// Rewriter is one layer of the store that holds customer rows, declaring
// how they are found and forgotten. Forget calls each rewriter once with
// every id being forgotten; a rewriter that finds none of them changes
// nothing and returns no Rewrite, so running Forget again is harmless.
// Show asks each where the customer's rows are.
type Rewriter interface {
	// Layer names the part of the store the rewriter covers.
	Layer() string
	// Forget removes every row of the customers in ids.
	Forget(ctx context.Context, ids IDs) ([]Rewrite, error)
	// Find returns the keys of the objects holding a row of one of ids.
	Find(ctx context.Context, ids IDs) ([]string, error)
}

// RewriterFunc adapts functions to a Rewriter.
type RewriterFunc struct {
	Name     string
	Func     func(ctx context.Context, ids IDs) ([]Rewrite, error)
	FindFunc func(ctx context.Context, ids IDs) ([]string, error)
}

// Layer returns f.Name.
func (f RewriterFunc) Layer() string { return f.Name }

// Forget calls f.Func.
func (f RewriterFunc) Forget(ctx context.Context, ids IDs) ([]Rewrite, error) {
	return f.Func(ctx, ids)
}

// Find calls f.FindFunc.
func (f RewriterFunc) Find(ctx context.Context, ids IDs) ([]string, error) {
	return f.FindFunc(ctx, ids)
}

// ForgetReport is what Forget did.
type ForgetReport struct {
	// Customers is the number of distinct ids forgotten.
	Customers int `json:"customers"`
	// NewTombstones counts the ids not forgotten before.
	NewTombstones int `json:"new_tombstones"`
	// Tombstones are the HMACs recorded (in the order of the sorted ids).
	Tombstones []string `json:"tombstones"`
	// Rewrites lists every object set rewritten, layer by layer.
	Rewrites []Rewrite `json:"rewrites"`
	// Rows is the total number of rows removed.
	Rows int64 `json:"rows_removed"`
}

// Forget forgets customers: it records their tombstones first (so that an
// import running meanwhile already drops their lines), then has each
// rewriter remove their rows, in order. Ids are normalised as imports
// store them (datasets.NormalizeID); empty ids are refused. Running it
// again is harmless: the tombstones exist and the rewriters find nothing.
// rewriters is the list of every layer holding customer rows (serve.Layers
// builds it); an empty list is an error, since it would forget no row.
func Forget(ctx context.Context, st datasets.Store, ids []string, at time.Time, rewriters ...Rewriter) (ForgetReport, error) {
	if len(rewriters) == 0 {
		return ForgetReport{}, errors.New("forget: no layer to forget from (empty rewriter list)")
	}
	for _, id := range ids {
		if datasets.NormalizeID(id) == "" {
			return ForgetReport{}, errors.New("forget: empty customer id")
		}
	}
	set := NewIDs(ids...)
	if len(set) == 0 {
		return ForgetReport{}, errors.New("forget: no customer id given")
	}
	sorted := set.Sorted()
	macs, added, err := addTombstones(ctx, st, sorted, at)
	if err != nil {
		return ForgetReport{}, fmt.Errorf("forget: %w", err)
	}
	rep := ForgetReport{Customers: len(sorted), NewTombstones: added, Tombstones: macs, Rewrites: []Rewrite{}}
	for _, r := range rewriters {
		rw, err := r.Forget(ctx, set)
		rep.Rewrites = append(rep.Rewrites, rw...)
		for _, x := range rw {
			rep.Rows += x.Rows
		}
		if err != nil {
			return rep, fmt.Errorf("forget %s: %w", r.Layer(), err)
		}
	}
	return rep, nil
}

func sortStrings(s []string) { slices.Sort(s) }
