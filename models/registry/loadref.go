package registry

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/models"
)

// Loaded is a model loaded by reference, with what a publication records
// of it.
type Loaded struct {
	Model   models.Model
	Name    string
	Version int
	// CardSHA256 is the hex SHA-256 of the card as stored: its
	// fingerprint in a publication's lineage.
	CardSHA256 string
}

// LoadForTask resolves ref (NAME@ALIAS, NAME@VERSION or NAME) and loads the
// model, refusing one whose card names another task than task (an empty
// task, or a card without one, is not checked).
func (r *Registry) LoadForTask(ctx context.Context, ref, task string) (*Loaded, error) {
	name, version, err := r.ResolveRef(ctx, ref)
	if err != nil {
		return nil, err
	}
	m, err := r.Load(ctx, name, version)
	if err != nil {
		return nil, err
	}
	if c := m.Card(); task != "" && c.Task != "" && c.Task != task {
		return nil, fmt.Errorf("model %s@%d is a %s model, not a %s model", name, version, c.Task, task)
	}
	b, err := datasets.ReadAll(ctx, r.st, versionKey(name, version, CardFile))
	if err != nil {
		return nil, fmt.Errorf("registry %s@%d: %w", name, version, err)
	}
	sum := sha256.Sum256(b)
	return &Loaded{Model: m, Name: name, Version: version, CardSHA256: hex.EncodeToString(sum[:])}, nil
}
