package gbdt

import (
	"context"
	"fmt"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/models"
)

// Kinds are the kinds gbdt loads, "lightgbm" and "xgboost", for a
// models.Kinds list; both load with Load.
func Kinds() models.Kinds {
	return models.Kinds{{Name: models.KindLightGBM, Load: Load}, {Name: models.KindXGBoost, Load: Load}}
}

// Load re-opens an imported model from its registry version: card is the
// stored card, file the stored model file. The file goes through the same
// checks as at import (its size may exceed the default limit if it was
// imported with a larger one) and must have the SHA-256 the card records;
// the features bind to card.Inputs exactly as they did at import. Load is
// the models.Loader of kinds lightgbm and xgboost (see Kinds).
func Load(ctx context.Context, card *models.Card, file datasets.Object) (models.Model, error) {
	if card == nil || card.Source == nil {
		return nil, fmt.Errorf("gbdt load: the card has no source section")
	}
	if file == nil {
		return nil, fmt.Errorf("gbdt load %s@%d: no model file", card.Name, card.Version)
	}
	opts := Options{
		Format: Format(card.Source.Format),
		Schema: &card.Inputs,
		Task:   card.Task,
	}
	if v, ok := card.Parameters["objective"].(string); ok {
		opts.Objective = v
	}
	switch v := card.Parameters["iterations"].(type) {
	case int:
		opts.Iterations = v
	case float64:
		opts.Iterations = int(v)
	}
	size := file.Size()
	opts.Limits.MaxBytes = max(DefaultLimits().MaxBytes, size)
	m, err := Import(ctx, file, size, opts)
	if err != nil {
		return nil, fmt.Errorf("gbdt load %s@%d: %w", card.Name, card.Version, err)
	}
	if got := m.card.Source.SHA256; card.Source.SHA256 != "" && got != card.Source.SHA256 {
		return nil, fmt.Errorf("gbdt load %s@%d: model file sha256 %s, the card records %s", card.Name, card.Version, got, card.Source.SHA256)
	}
	if m.card.Link != card.Link || m.card.Kind != card.Kind {
		return nil, fmt.Errorf("gbdt load %s@%d: the file reads as %s with link %s, the card says %s with link %s", card.Name, card.Version, m.card.Kind, m.card.Link, card.Kind, card.Link)
	}
	m.card = card
	return m, nil
}
