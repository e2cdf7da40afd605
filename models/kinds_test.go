package models_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/models"
)

// TestKinds: a Kinds list loads the kinds it lists, and only those; an
// unknown kind is ErrUnsupported naming the kinds it knows.
func TestKinds(t *testing.T) {
	sum := newSum("a")
	load := func(_ context.Context, card *models.Card, _ datasets.Object) (models.Model, error) {
		return sumModel{card}, nil
	}
	kinds := models.Kinds{{Name: "sum", Load: load}, {Name: "avg", Load: load}}
	if got := strings.Join(kinds.Names(), ","); got != "avg,sum" {
		t.Errorf("Names() = %s", got)
	}
	m, err := kinds.Load(t.Context(), sum.Card(), nil)
	if err != nil || m.Card() != sum.Card() {
		t.Fatalf("Load: %v, %v", m, err)
	}
	for _, kind := range []string{"tensorflow", ""} {
		c := *sum.Card()
		c.Kind = kind
		_, err := kinds.Load(t.Context(), &c, nil)
		if !errors.Is(err, models.ErrUnsupported) || kind != "" && !strings.Contains(err.Error(), "avg, sum") {
			t.Errorf("kind %q: err = %v", kind, err)
		}
	}
	if models.Kinds(nil).Lookup("sum") != nil {
		t.Error("an empty list loads a kind")
	}
}
