package nightly

import (
	"testing"
	"time"

	"github.com/prevoir/prevoir/datasets"
)

func TestConfigDefaults(t *testing.T) {
	c := &Config{Tasks: map[string]*TaskConfig{"churn": nil, "demand": {Quantiles: []float64{0.9, 0.1}}, "propensity": {}}}
	if err := c.Defaults(); err != nil {
		t.Fatal(err)
	}
	ch, dm := c.Tasks["churn"], c.Tasks["demand"]
	if c.AsOf != "latest" || c.Format != "parquet" || time.Duration(c.LeaseTTL) != DefaultLeaseTTL || c.MemoryBudget != DefaultMemoryBudget ||
		time.Duration(c.GCMinAge) != time.Hour || ch.Model != "churn@champion" || ch.Horizon != "90d" || ch.TopN != 12 || dm.Horizon != "4w" || c.Tasks["propensity"].Horizon != "30d" ||
		ch.ServiceLevel != 0.95 || ch.BandHigh != 0.7 || ch.BandMedium != 0.4 || !ch.On() || dm.Quantiles[0] != 0.1 ||
		c.Retrain.Every != 0 || c.Retrain.Metric != "roc_auc" || c.Retrain.Cutoffs != 4 || c.Quality.ChurnAUCFloor != 0.65 {
		t.Errorf("defaults %+v %+v %+v", c, ch, dm)
	}
	for name, bad := range map[string]*Config{
		"tasks.churn.top_n":               {Tasks: map[string]*TaskConfig{"churn": {TopN: -1}}},
		"tasks.churn.quantiles":           {Tasks: map[string]*TaskConfig{"churn": {Quantiles: []float64{1}}}},
		"tasks.churn.horizon":             {Tasks: map[string]*TaskConfig{"churn": {Horizon: "soon"}}},
		"tasks.propensity.exclude_bought": {Tasks: map[string]*TaskConfig{"propensity": {ExcludeBought: "recently"}}},
		"tasks.churn.service_level":       {Tasks: map[string]*TaskConfig{"churn": {ServiceLevel: 1}}},
		"lease_ttl":                       {LeaseTTL: Duration(time.Millisecond)},
		"format":                          {Format: "xml"},
		"as_of":                           {AsOf: "yesterday"},
		"retrain.metric":                  {Retrain: RetrainConfig{Metric: "accuracy"}},
		"version":                         {Version: 2},
	} {
		fe, ok := datasets.AsFieldError(bad.Defaults())
		if !ok || fe.Field != name {
			t.Errorf("%s: %v", name, fe)
		}
	}
}

func TestDurationAndBytes(t *testing.T) {
	for in, want := range map[string]time.Duration{"2m": 2 * time.Minute, "7d": 7 * 24 * time.Hour, "2w": 14 * 24 * time.Hour, "1h30m": 90 * time.Minute} {
		var d Duration
		if err := d.UnmarshalText([]byte(in)); err != nil || time.Duration(d) != want {
			t.Errorf("%s: %v %v", in, time.Duration(d), err)
		}
	}
	var d Duration
	if d.UnmarshalText([]byte("soon")) == nil {
		t.Error("soon accepted")
	}
	for in, want := range map[string]int64{"512MiB": 512 << 20, "2GiB": 2 << 30, "1000": 1000, "1.5KiB": 1536, "1GB": 1e9} {
		if got, err := ParseBytes(in); err != nil || got != want {
			t.Errorf("%s: %d %v", in, got, err)
		}
	}
	if _, err := ParseBytes("lots"); err == nil {
		t.Error("lots accepted")
	}
}
