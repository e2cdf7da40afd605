package nightly

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/features"
	"github.com/prevoir/prevoir/serve/demand"
	"github.com/prevoir/prevoir/serve/offers"
)

// ConfigVersion is the version of the config file this code reads.
const ConfigVersion = 1

// Defaults of the config file (docs/NIGHTLY.md).
const (
	// DefaultAlias is the alias a task scores with: NAME@champion.
	DefaultAlias = "champion"
	// DefaultLeaseTTL is how long after its last heartbeat a run's lease
	// holds: a killed run blocks the next one at most that long.
	DefaultLeaseTTL = 2 * time.Minute
	// DefaultGCMinAge is the grace of the store gc the run ends with.
	DefaultGCMinAge = time.Hour
	// DefaultMemoryBudget is the memory the tasks running at once may use
	// together (their estimates).
	DefaultMemoryBudget = 2 << 30
	// MemoryHeadroom is what `prevoir run` adds to memory_budget for Go's
	// soft memory limit (unless GOMEMLIMIT is set): the runtime, the
	// lease, the triggers and the publications being written.
	MemoryHeadroom = 1 << 30
	// DefaultTaskMemory is a task's estimate when neither the config nor
	// its adapter gives one.
	DefaultTaskMemory = 512 << 20
	// DefaultTopN is the offers a propensity task keeps per customer
	// (serve/offers' default).
	DefaultTopN = offers.DefaultTop
	// DefaultServiceLevel is the service level a demand task plans stock
	// for (the quantile of demand covered).
	DefaultServiceLevel = 0.95
)

// DefaultQuantiles are the demand quantiles published by default.
var DefaultQuantiles = []float64{0.5, 0.9}

// Duration is a time.Duration read from YAML as "2m", "1h30m" or a span
// in days or weeks ("7d", "2w").
type Duration time.Duration

// UnmarshalText reads a Go duration or a day/week span.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := parseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalText writes the duration as Go prints it.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if strings.HasSuffix(s, "d") || strings.HasSuffix(s, "w") {
		sp, err := datasets.ParseSpan(s)
		if err != nil {
			return 0, err
		}
		return time.Duration(sp.Days) * 24 * time.Hour, nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q: want a duration (90s, 2m, 1h) or a span (7d, 2w)", s)
	}
	return v, nil
}

// Bytes is a size read from YAML as 512MiB, 2GiB or a plain number of
// bytes.
type Bytes int64

var bytesRE = regexp.MustCompile(`^([0-9]+(?:\.[0-9]+)?)\s*(B|KiB|MiB|GiB|TiB|KB|MB|GB|TB)?$`)

// UnmarshalText reads a size.
func (b *Bytes) UnmarshalText(t []byte) error {
	v, err := ParseBytes(string(t))
	if err != nil {
		return err
	}
	*b = Bytes(v)
	return nil
}

// ParseBytes parses a size: a number with an optional unit (B, KiB, MiB,
// GiB, TiB, or the decimal KB, MB, GB, TB).
func ParseBytes(s string) (int64, error) {
	m := bytesRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, fmt.Errorf("%q: want a size such as 512MiB or 2GiB", s)
	}
	f, _ := strconv.ParseFloat(m[1], 64)
	mult := map[string]float64{"": 1, "B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40,
		"KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12}[m[2]]
	return int64(f * mult), nil
}

// Config is the nightly job's config (docs/NIGHTLY.md documents every
// key and its default). cmd/prevoir reads it from a YAML file into this
// struct; the library reads no file. The zero value, after Defaults, runs
// every task that has a champion model.
type Config struct {
	// Version is the config format, 1 (the default).
	Version int `yaml:"version"`
	// Store is the store URL (a folder or s3://bucket/prefix); the
	// command's --store when empty.
	Store string `yaml:"store"`
	// Dataset is the dataset scored; the store's only dataset when empty.
	Dataset string `yaml:"dataset"`
	// AsOf is the date scored: YYYY-MM-DD, latest (the default) or today.
	AsOf string `yaml:"as_of"`
	// Format is the publications' part format: parquet (default) or csv.
	Format string `yaml:"format"`
	// LeaseTTL is how long the lease holds after the last heartbeat.
	LeaseTTL Duration `yaml:"lease_ttl"`
	// MemoryBudget bounds the summed memory estimates of the tasks
	// running at once.
	MemoryBudget Bytes `yaml:"memory_budget"`
	// GCMinAge is the grace of the store gc the run ends with.
	GCMinAge Duration `yaml:"gc_min_age"`
	// Tasks are the tasks to run, by name. Empty: every task with a
	// champion model.
	Tasks map[string]*TaskConfig `yaml:"tasks"`
	// Triggers is the rules file (relative to the config file's folder),
	// empty for no triggers.
	Triggers string `yaml:"triggers"`
	// Retrain is the retraining schedule.
	Retrain RetrainConfig `yaml:"retrain"`
	// Quality sets the after-the-fact checks' floors.
	Quality QualityConfig `yaml:"quality"`

	// Dir is the folder of the config file: a relative Triggers path is
	// read from there.
	Dir string `yaml:"-"`
}

// TaskConfig is one task's settings.
type TaskConfig struct {
	// Model is NAME@ALIAS or NAME@VERSION; default <task>@champion.
	Model string `yaml:"model"`
	// Horizon is the prediction horizon (churn: the label window the
	// quality check waits for; propensity: the offers' window, likewise;
	// demand: the forecast span). Default per task: churn 90d,
	// propensity 30d, demand 4w.
	Horizon string `yaml:"horizon"`
	// TopN is the offers kept per customer (propensity), default 12.
	TopN int `yaml:"top_n"`
	// ExcludeBought leaves out of the offers the items a customer bought
	// in that span (propensity; "30d"), default off.
	ExcludeBought string `yaml:"exclude_bought"`
	// Rules is the offers' eligibility rules file (propensity;
	// docs/PUBLISHING.md), relative to the config file's folder.
	Rules string `yaml:"rules"`
	// Quantiles are the demand quantiles published (demand), default
	// [0.5, 0.9].
	Quantiles []float64 `yaml:"quantiles"`
	// ServiceLevel is the share of demand the stock plan covers
	// (demand), default 0.95.
	ServiceLevel float64 `yaml:"service_level"`
	// BandHigh and BandMedium are churn's band thresholds (defaults 0.7
	// and 0.4).
	BandHigh   float64 `yaml:"band_high"`
	BandMedium float64 `yaml:"band_medium"`
	// After names tasks whose publications this one needs first (besides
	// those its adapter declares).
	After []string `yaml:"after"`
	// Memory is the task's memory estimate for the budget.
	Memory Bytes `yaml:"memory"`
	// Enabled false leaves the task out (default true).
	Enabled *bool `yaml:"enabled"`
}

// RetrainConfig is the champion/challenger schedule.
type RetrainConfig struct {
	// Every is how often a challenger is trained (7d for weekly); zero
	// never retrains.
	Every Duration `yaml:"every"`
	// Tasks lists the tasks retrained (default: churn).
	Tasks []string `yaml:"tasks"`
	// Metric decides: roc_auc (default), average_precision, log_loss or
	// brier (the last two: lower wins).
	Metric string `yaml:"metric"`
	// Margin is how much better the challenger must be (default 0.005).
	Margin float64 `yaml:"margin"`
	// Cutoffs and Step are the training cutoffs (defaults 4 and 90d);
	// the latest is held out, as_of - horizon.
	Cutoffs int    `yaml:"cutoffs"`
	Step    string `yaml:"step"`
	// C is the list of C values searched (default 0.01, 0.1, 1, 10).
	C []float64 `yaml:"c"`
	// MinClass is the fewest positives and negatives the challenger's
	// training rows need (0: events per variable, as prevoir train).
	MinClass int `yaml:"min_class"`
}

// QualityConfig sets the floors below which the quality check warns.
type QualityConfig struct {
	// ChurnAUCFloor warns when churn's ROC AUC of one horizon ago falls
	// below it (default 0.65).
	ChurnAUCFloor float64 `yaml:"churn_auc_floor"`
	// ChurnCalibrationCeiling warns when churn's expected calibration
	// error (mean |predicted - observed| over deciles) exceeds it
	// (default 0.1).
	ChurnCalibrationCeiling float64 `yaml:"churn_calibration_ceiling"`
	// OffersHitRateFloor and OffersMAPFloor warn when the offers' hit
	// rate or MAP at N of one horizon ago fall below them (defaults 0.3
	// and 0.05).
	OffersHitRateFloor float64 `yaml:"offers_hit_rate_floor"`
	OffersMAPFloor     float64 `yaml:"offers_map_floor"`
	// DemandWAPECeiling warns when the forecasts' WAPE of one horizon ago
	// exceeds it (default 0.8); DemandP90CoverageFloor when their P90
	// coverage falls below it (default 0.8).
	DemandWAPECeiling      float64 `yaml:"demand_wape_ceiling"`
	DemandP90CoverageFloor float64 `yaml:"demand_p90_coverage_floor"`
}

// DefaultConfig is the config without a file: every task with a
// champion model, with the defaults.
func DefaultConfig() *Config {
	c := &Config{}
	if err := c.Defaults(); err != nil {
		panic(err) // the zero config is valid
	}
	return c
}

// Defaults fills the defaults of the keys left out and checks every
// value; errors are *datasets.FieldError naming the key (tasks.churn.top_n).
func (c *Config) Defaults() error {
	if c.Version == 0 {
		c.Version = ConfigVersion
	}
	if c.Version != ConfigVersion {
		return datasets.Fieldf("version", strconv.Itoa(c.Version), "this prevoir reads config version %d", ConfigVersion)
	}
	if c.AsOf == "" {
		c.AsOf = datasets.AsOfLatest
	}
	if err := datasets.CheckAsOf(c.AsOf); err != nil {
		return datasets.Fieldf("as_of", c.AsOf, "want YYYY-MM-DD, latest or today")
	}
	if c.Format == "" {
		c.Format = "parquet"
	}
	if c.Format != "parquet" && c.Format != "csv" {
		return datasets.Fieldf("format", c.Format, "want parquet or csv")
	}
	if c.LeaseTTL == 0 {
		c.LeaseTTL = Duration(DefaultLeaseTTL)
	}
	if c.LeaseTTL < Duration(time.Second) {
		return datasets.Fieldf("lease_ttl", time.Duration(c.LeaseTTL).String(), "want at least 1s")
	}
	if c.MemoryBudget == 0 {
		c.MemoryBudget = DefaultMemoryBudget
	}
	if c.MemoryBudget < 0 {
		return datasets.Fieldf("memory_budget", strconv.FormatInt(int64(c.MemoryBudget), 10), "want a positive size")
	}
	if c.GCMinAge == 0 {
		c.GCMinAge = Duration(DefaultGCMinAge)
	}
	for _, name := range c.TaskNames() {
		t := c.Tasks[name]
		if t == nil {
			t = &TaskConfig{}
			c.Tasks[name] = t
		}
		if err := t.defaults(name); err != nil {
			return err
		}
	}
	if err := c.Retrain.defaults(); err != nil {
		return err
	}
	if c.Quality.ChurnAUCFloor == 0 {
		c.Quality.ChurnAUCFloor = 0.65
	}
	if c.Quality.OffersHitRateFloor == 0 {
		c.Quality.OffersHitRateFloor = 0.3
	}
	if c.Quality.OffersMAPFloor == 0 {
		c.Quality.OffersMAPFloor = 0.05
	}
	if c.Quality.DemandWAPECeiling == 0 {
		c.Quality.DemandWAPECeiling = 0.8
	}
	if c.Quality.DemandP90CoverageFloor == 0 {
		c.Quality.DemandP90CoverageFloor = 0.8
	}
	if c.Quality.ChurnCalibrationCeiling == 0 {
		c.Quality.ChurnCalibrationCeiling = 0.1
	}
	return nil
}

func (t *TaskConfig) defaults(name string) error {
	field := func(f string) string { return "tasks." + name + "." + f }
	if err := datasets.ValidDatasetName(name); err != nil {
		return datasets.Fieldf("tasks", name, "a task name: letters, digits, '.', '_' and '-'")
	}
	if t.Model == "" {
		t.Model = name + "@" + DefaultAlias
	}
	if t.Horizon == "" {
		t.Horizon = defaultHorizon(name).String()
	}
	if t.ExcludeBought != "" {
		if _, err := datasets.ParseSpan(t.ExcludeBought); err != nil {
			return datasets.Fieldf(field("exclude_bought"), t.ExcludeBought, "want a span such as 30d")
		}
	}
	if _, err := datasets.ParseSpan(t.Horizon); err != nil {
		return datasets.Fieldf(field("horizon"), t.Horizon, "want a span such as 90d")
	}
	if t.TopN == 0 {
		t.TopN = DefaultTopN
	}
	if t.TopN < 1 {
		return datasets.Fieldf(field("top_n"), strconv.Itoa(t.TopN), "want at least 1")
	}
	if t.Quantiles == nil {
		t.Quantiles = append([]float64(nil), DefaultQuantiles...)
	}
	for _, q := range t.Quantiles {
		if !(q > 0 && q < 1) {
			return datasets.Fieldf(field("quantiles"), strconv.FormatFloat(q, 'g', -1, 64), "want quantiles strictly between 0 and 1")
		}
	}
	sort.Float64s(t.Quantiles)
	if t.ServiceLevel == 0 {
		t.ServiceLevel = DefaultServiceLevel
	}
	if !(t.ServiceLevel > 0 && t.ServiceLevel < 1) {
		return datasets.Fieldf(field("service_level"), strconv.FormatFloat(t.ServiceLevel, 'g', -1, 64), "want a level strictly between 0 and 1")
	}
	if t.BandHigh == 0 && t.BandMedium == 0 {
		t.BandHigh, t.BandMedium = 0.7, 0.4
	}
	if !(t.BandMedium >= 0 && t.BandMedium <= t.BandHigh && t.BandHigh <= 1) {
		return datasets.Fieldf(field("band_high"), fmt.Sprintf("%v/%v", t.BandHigh, t.BandMedium), "want 0 <= band_medium <= band_high <= 1")
	}
	if t.Memory < 0 {
		return datasets.Fieldf(field("memory"), strconv.FormatInt(int64(t.Memory), 10), "want a positive size")
	}
	return nil
}

// defaultHorizon is a task's horizon when the config gives none.
func defaultHorizon(task string) datasets.Span {
	switch task {
	case features.TaskPropensity:
		return features.DefaultPropensityHorizon
	case demand.Task:
		return datasets.Span{Days: 28}
	}
	return features.DefaultHorizon
}

// On reports whether the task is enabled.
func (t *TaskConfig) On() bool { return t.Enabled == nil || *t.Enabled }

// HorizonSpan is the parsed horizon.
func (t *TaskConfig) HorizonSpan() datasets.Span {
	s, _ := datasets.ParseSpan(t.Horizon) // checked by defaults
	return s
}

func (r *RetrainConfig) defaults() error {
	if r.Every < 0 {
		return datasets.Fieldf("retrain.every", time.Duration(r.Every).String(), "want a positive span (7d) or nothing")
	}
	if len(r.Tasks) == 0 {
		r.Tasks = []string{features.TaskChurn}
	}
	if r.Metric == "" {
		r.Metric = "roc_auc"
	}
	switch r.Metric {
	case "roc_auc", "average_precision", "log_loss", "brier":
	default:
		return datasets.Fieldf("retrain.metric", r.Metric, "want roc_auc, average_precision, log_loss or brier")
	}
	if r.Margin == 0 {
		r.Margin = 0.005
	}
	if r.Margin < 0 {
		return datasets.Fieldf("retrain.margin", strconv.FormatFloat(r.Margin, 'g', -1, 64), "want 0 or more")
	}
	if r.Cutoffs == 0 {
		r.Cutoffs = 4
	}
	if r.Cutoffs < 2 {
		return datasets.Fieldf("retrain.cutoffs", strconv.Itoa(r.Cutoffs), "want at least 2 (the latest is held out)")
	}
	if r.Step == "" {
		r.Step = "90d"
	}
	if _, err := datasets.ParseSpan(r.Step); err != nil {
		return datasets.Fieldf("retrain.step", r.Step, "want a span such as 90d")
	}
	if r.MinClass < 0 {
		return datasets.Fieldf("retrain.min_class", strconv.Itoa(r.MinClass), "want 0 (events per variable) or a positive count")
	}
	if len(r.C) == 0 {
		r.C = []float64{0.01, 0.1, 1, 10}
	}
	for _, c := range r.C {
		if !(c > 0) {
			return datasets.Fieldf("retrain.c", strconv.FormatFloat(c, 'g', -1, 64), "want positive values")
		}
	}
	return nil
}

// TaskNames returns the configured task names, sorted.
func (c *Config) TaskNames() []string {
	names := make([]string, 0, len(c.Tasks))
	for n := range c.Tasks {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
