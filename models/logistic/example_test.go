package logistic_test

import (
	"fmt"

	"github.com/prevoir/prevoir/features"
	"github.com/prevoir/prevoir/models"
	"github.com/prevoir/prevoir/models/logistic"
)

// ExampleNew builds a model as package train does after fitting: a card
// with the inputs, the design columns, the coefficients in the
// standardised space and the preprocessing, then scores one row.
func ExampleNew() {
	intercept := -1.0
	card := &models.Card{
		Kind:   models.KindLogistic,
		Output: logistic.Output,
		Link:   logistic.Link,
		Inputs: features.Schema{Features: []features.Feature{
			{Name: "tenure", Kind: features.Numeric},
			{Name: "segment", Kind: features.Categorical},
		}},
		Intercept:    &intercept,
		Coefficients: map[string]float64{"tenure": 0.5, "tenure_missing": 2, "segment=gold": 1},
		Preprocessing: &models.Preprocessing{
			Features: []string{"tenure", "tenure_missing", "segment=gold"},
			Mean:     map[string]float64{"tenure": 10},
			Scale:    map[string]float64{"tenure": 2},
			Encoders: map[string][]string{"segment": {"gold", "silver"}},
			Impute:   map[string]float64{"tenure": 12},
		},
	}
	m, err := logistic.New(card)
	if err != nil {
		fmt.Println(err)
		return
	}
	// One row: tenure 14, segment "gold" (level 0 of the encoder).
	// raw = -1 + 0.5*(14-10)/2 + 1 = 1.
	row := models.Batch{Rows: 1, Cols: 2, Values: []float64{14, 0}}
	raw, p := make([]float64, 1), make([]float64, 1)
	m.Score(raw, row, models.Raw)
	m.Score(p, row, models.Response)
	fmt.Println(raw[0], p[0])
	// Output: 1 0.7310585786300049
}
