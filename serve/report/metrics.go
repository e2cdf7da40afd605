package report

import (
	"encoding/json"
	"fmt"

	"github.com/prevoir/prevoir/models"
)

// classMetrics is a classifier's metrics on one set of rows as train
// records them on the card (metrics.holdout, metrics.train,
// metrics.baseline.holdout): the card's JSON is the contract, so this
// package reads it without importing train.
type classMetrics struct {
	Rows             int       `json:"rows"`
	Positives        float64   `json:"positives"`
	BaseRate         float64   `json:"base_rate"`
	AUC              float64   `json:"roc_auc"`
	AveragePrecision float64   `json:"average_precision"`
	LogLoss          float64   `json:"log_loss"`
	Brier            float64   `json:"brier"`
	Calibration      []calBin  `json:"calibration"`
	Deciles          []decile  `json:"deciles"`
	Curves           *curveSet `json:"curves"`
}

type calBin struct {
	Rows          int     `json:"rows"`
	MinP          float64 `json:"min_p"`
	MaxP          float64 `json:"max_p"`
	MeanPredicted float64 `json:"mean_predicted"`
	ObservedRate  float64 `json:"observed_rate"`
}

type decile struct {
	Decile         int     `json:"decile"`
	Rows           int     `json:"rows"`
	Positives      float64 `json:"positives"`
	Rate           float64 `json:"rate"`
	Lift           float64 `json:"lift"`
	CumulativeGain float64 `json:"cumulative_gain"`
	CumulativeLift float64 `json:"cumulative_lift"`
}

// curveSet is train.Curves: ROC and PR points by decreasing threshold,
// and the score histogram per class over equal bins of [0, 1].
type curveSet struct {
	Threshold []float64 `json:"threshold"`
	FPR       []float64 `json:"fpr"`
	TPR       []float64 `json:"tpr"`
	Precision []float64 `json:"precision"`
	Positives []float64 `json:"positives_per_bin"`
	Negatives []float64 `json:"negatives_per_bin"`
}

// baselineMetrics is metrics.baseline: the one-feature baseline a task
// model is compared with on the same holdout.
type baselineMetrics struct {
	Feature string        `json:"feature"`
	Holdout *classMetrics `json:"holdout"`
}

// cardMetrics is what a classifier report reads from a card's metrics.
type cardMetrics struct {
	Train    *classMetrics    `json:"train"`
	Holdout  *classMetrics    `json:"holdout"`
	Baseline *baselineMetrics `json:"baseline"`
	// CLVBaseline is churn's label-free baseline (train.CLVBaseline).
	CLVBaseline *struct {
		Name      string        `json:"name"`
		Score     string        `json:"score"`
		Cutoff    string        `json:"cutoff"`
		Missing   int           `json:"missing"`
		Holdout   *classMetrics `json:"holdout"`
		AUCPAlive float64       `json:"roc_auc_p_alive"`
		Note      string        `json:"note"`
	} `json:"clv_baseline"`
	Search *struct {
		Validation string `json:"validation_cutoff"`
		Points     []struct {
			C                float64 `json:"c"`
			AUC              float64 `json:"roc_auc"`
			AveragePrecision float64 `json:"average_precision"`
			LogLoss          float64 `json:"log_loss"`
			Brier            float64 `json:"brier"`
		} `json:"results"`
		Chosen float64 `json:"chosen"`
	} `json:"c_search"`
}

// readMetrics decodes the card's metrics into the shape above; fields the
// card does not have stay nil.
func readMetrics(c *models.Card) (*cardMetrics, error) {
	var m cardMetrics
	if len(c.Metrics) == 0 {
		return &m, nil
	}
	b, err := json.Marshal(c.Metrics)
	if err != nil {
		return nil, fmt.Errorf("%s: metrics: %w", ref(c), err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: metrics: %w", ref(c), err)
	}
	return &m, nil
}

// ref is NAME@VERSION.
func ref(c *models.Card) string { return fmt.Sprintf("%s@%d", c.Name, c.Version) }
