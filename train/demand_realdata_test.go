package train

import (
	"context"
	"testing"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/features"
)

// TestOnlineRetailDemand is the protocol on UCI Online Retail:
// weekly periods from the origin 2011-11-01 (a Tuesday), a 4-week
// horizon, the 500 products with most units before it, valid sale lines;
// 2,000 product x week values. The count model, trained on the 40 weekly
// origins before (those whose horizon ends by 2011-11-01), must beat MA(4)
// on WAPE (0.585 measured with pandas on the same protocol; 0.588 here).
// Measured here: WAPE 0.568, weighted quantile loss at 0.9 0.422, P90
// coverage 0.884.
func TestOnlineRetailDemand(t *testing.T) {
	if testing.Short() {
		t.Skip("builds 40 feature tables and trains; skipped under -short")
	}
	st := importRetail(t)
	out, err := TrainDemand(context.Background(), st, DemandOptions{
		Features: features.Options{Dataset: "retail", AsOf: "2011-11-01", TopProducts: 500},
		Cutoffs:  40, Step: datasets.Span{Days: 7},
	})
	if err != nil {
		t.Fatal(err)
	}
	var model, ma4 ForecastMetrics
	for _, m := range out.Backtest.Product {
		switch m.Method {
		case MethodModel:
			model = m.Overall
		case MethodMA4:
			ma4 = m.Overall
		}
	}
	t.Logf("product level, %d points: model WAPE %.3f bias %.3f MASE %.3f wQL50 %.3f wQL90 %.3f P90 coverage %.3f; MA(4) WAPE %.3f wQL90 %.3f coverage %.3f",
		model.Points, model.WAPE, model.Bias, model.MASE, model.WQL50, model.WQL90, model.Coverage90, ma4.WAPE, ma4.WQL90, ma4.Coverage90)
	if model.Points != 2000 {
		t.Errorf("%d product x week values, want 2000", model.Points)
	}
	if model.WAPE >= 0.585 || model.WAPE >= ma4.WAPE {
		t.Errorf("model WAPE %.3f: want below MA(4)'s 0.585 (%.3f here)", model.WAPE, ma4.WAPE)
	}
	if model.Coverage90 < 0.85 || model.Coverage90 > 0.95 {
		t.Errorf("P90 coverage %.3f, want 0.85-0.95", model.Coverage90)
	}
}
