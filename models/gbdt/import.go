package gbdt

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/dmitryikh/leaves"

	"github.com/prevoir/prevoir/features"
	"github.com/prevoir/prevoir/models"
)

// Options configure Import. The zero value sniffs the format, binds
// features by the file's own names and applies DefaultLimits.
type Options struct {
	// Format forces a format; "" or FormatAuto sniffs. A forced format
	// that the bytes contradict is refused.
	Format Format
	// Schema binds the model's features: by name when the file names
	// them, else by position. nil takes the file's names (f0, f1, ...
	// when it has none) and the model's own kinds.
	Schema *features.Schema
	// Task is recorded in the card.
	Task string
	// Objective is used only when the file does not say (LightGBM JSON
	// dumps before 3.0): binary, regression, poisson, gamma or tweedie.
	Objective string
	// Iterations, when > 0, scores with only the first Iterations trees
	// (LightGBM's num_iteration, XGBoost's ntree_limit).
	Iterations int
	// Limits bound what is read; zero fields take the defaults.
	Limits Limits
	// Threads is how many goroutines Score uses on a large batch;
	// 0 means GOMAXPROCS.
	Threads int

	// Reference, when set, is a table (CSV or Parquet, read by package
	// datasets/table) of feature columns plus a "prediction" column:
	// Import fails unless every score is within Tolerance of it (see
	// CheckReference).
	Reference Records
	// ReferenceName is the reference file's name for the card.
	ReferenceName string
	// ReferenceKind says what "prediction" holds: the response (default)
	// or the raw margin.
	ReferenceKind models.OutputKind
	// Tolerance is the reference check's relative tolerance; 0 means
	// 1e-6.
	Tolerance float64
}

// DefaultTolerance is the reference check's default tolerance.
const DefaultTolerance = 1e-6

// Import reads a LightGBM or XGBoost model of size bytes from r,
// validates it without trusting a byte, and returns it bound to
// opts.Schema with a filled card (kind, link, output, inputs, source).
// A file that is not a supported model is a *RefusedError
// (errors.Is models.ErrUnsupported); a schema that does not fit is
// models.ErrSchemaMismatch; a failed reference check is
// ErrReferenceMismatch, with the model's card still returned in the
// error's *ReferenceError.
func Import(ctx context.Context, r io.ReaderAt, size int64, opts Options) (*Model, error) {
	lim := opts.Limits.withDefaults()
	if size < 0 {
		return nil, fmt.Errorf("gbdt import: negative size %d", size)
	}
	if size > lim.MaxBytes {
		return nil, refuse(fmt.Sprintf("a %s file", humanBytes(size)), "over the %s limit (--max-bytes); not read", humanBytes(lim.MaxBytes))
	}
	head := make([]byte, min(size, SniffLen))
	if _, err := r.ReadAt(head, 0); err != nil && !(err == io.EOF) {
		return nil, fmt.Errorf("gbdt import: read: %w", err)
	}
	sniffed, err := Sniff(head, size)
	if err != nil {
		return nil, err
	}
	format := opts.Format
	if format == "" || format == FormatAuto {
		format = sniffed
	} else if format != sniffed {
		return nil, refuse(fmt.Sprintf("the file looks like %s", sniffed), "not %s as --format says", format)
	}
	p, sum, err := parse(ctx, r, size, format, opts, lim)
	if err != nil {
		return nil, err
	}
	m, err := p.model(opts)
	if err != nil {
		return nil, err
	}
	m.card.Source = &models.Source{
		Format:    string(format),
		SHA256:    sum,
		Size:      size,
		Version:   p.version,
		Objective: p.objective,
		Booster:   p.booster,
		Trees:     p.trees,
	}
	if opts.Reference != nil {
		tol := opts.Tolerance
		if tol == 0 {
			tol = DefaultTolerance
		}
		rc, err := CheckReference(ctx, m, opts.Reference, opts.ReferenceName, opts.ReferenceKind, tol)
		if rc != nil {
			m.card.Source.Reference = rc
		}
		if err != nil {
			return nil, err
		}
	}
	return m, nil
}

// parsed is a validated model before binding.
type parsed struct {
	kind                        string
	version, objective, booster string
	trees                       int
	numFeatures                 int
	names                       []string
	kinds                       []features.Kind
	catCols, zeroCols           []int
	ens                         *leaves.Ensemble
	link, output                string
	sigmoid                     float64
	average                     bool
	base                        float64
	float32In                   bool
	warnings                    []string
	params                      map[string]any
}

// parse reads and validates the file in format and loads it into leaves.
// sum is the file's SHA-256.
func parse(ctx context.Context, r io.ReaderAt, size int64, format Format, opts Options, lim Limits) (*parsed, string, error) {
	h := sha256.New()
	sr := io.NewSectionReader(r, 0, size)
	finish := func() (string, error) {
		if _, err := io.Copy(h, sr); err != nil {
			return "", fmt.Errorf("gbdt import: read: %w", err)
		}
		return hex.EncodeToString(h.Sum(nil)), nil
	}
	var p *parsed
	switch format {
	case FormatLightGBMText, FormatLightGBMJSON:
		tee := io.TeeReader(sr, h)
		var lm *lgbModel
		var err error
		if format == FormatLightGBMText {
			lm, err = parseLightGBMText(ctx, tee, lim)
		} else {
			lm, err = parseLightGBMJSON(ctx, tee, lim)
		}
		if err != nil {
			return nil, "", err
		}
		if p, err = fromLightGBM(lm, opts); err != nil {
			return nil, "", err
		}
	case FormatXGBoostBinary:
		data := make([]byte, size)
		if _, err := io.ReadFull(io.TeeReader(sr, h), data); err != nil {
			return nil, "", fmt.Errorf("gbdt import: read: %w", err)
		}
		xm, err := parseXGBoostBinary(data, lim)
		if err != nil {
			return nil, "", err
		}
		if p, err = fromXGBoostBinary(xm); err != nil {
			return nil, "", err
		}
	case FormatXGBoostJSON, FormatXGBoostUBJSON:
		conv := converter(format)
		if conv == nil {
			return nil, "", refuse(fmt.Sprintf("XGBoost %s model", strings.TrimPrefix(string(format), "xgb-")), "this build of prevoir has no converter for it")
		}
		c, err := conv(ctx, r, size, lim)
		if err != nil {
			return nil, "", err
		}
		if p, err = fromConverted(ctx, c, lim); err != nil {
			return nil, "", err
		}
	default:
		return nil, "", fmt.Errorf("gbdt import: unknown format %q (auto, lgb-text, lgb-json, xgb-bin, xgb-json, xgb-ubj)", format)
	}
	sum, err := finish()
	if err != nil {
		return nil, "", err
	}
	return p, sum, nil
}

// loadLeaves hands leaves the canonical LightGBM text. leaves only ever
// sees text prevoir wrote from validated trees; a panic is still caught.
func loadLeaves(text []byte) (e *leaves.Ensemble, err error) {
	defer func() {
		if r := recover(); r != nil {
			e, err = nil, fmt.Errorf("gbdt: leaves panicked loading a validated model: %v", r)
		}
	}()
	e, err = leaves.LGEnsembleFromReader(bufio.NewReader(bytes.NewReader(text)), false)
	if err != nil {
		return nil, fmt.Errorf("gbdt: leaves refused a validated model: %w", err)
	}
	return e, nil
}

func fromLightGBM(lm *lgbModel, opts Options) (*parsed, error) {
	what := fmt.Sprintf("LightGBM model %s", lm.version)
	obj := lm.objective
	p := &parsed{kind: models.KindLightGBM, version: lm.version, objective: obj, booster: lm.booster,
		trees: lm.ens.trees, numFeatures: lm.numFeatures, params: map[string]any{}, warnings: lm.warnings}
	if obj == "" {
		if opts.Objective == "" {
			return nil, refuse(what, "the file names no objective (a dump from LightGBM before 3.0?): give it with --objective binary|regression|poisson|gamma|tweedie")
		}
		obj = opts.Objective
		if obj == "binary" {
			obj = "binary sigmoid:1"
		}
		p.warnings = append(p.warnings, fmt.Sprintf("the model file names no objective; %q was given at import", opts.Objective))
		p.params["objective"] = opts.Objective
	}
	ll, err := lgbObjective(what, obj)
	if err != nil {
		return nil, err
	}
	p.link, p.output, p.sigmoid = ll.link, ll.output, ll.sigmoid
	if p.sigmoid != 1 && p.link == LinkLogit {
		p.params["sigmoid"] = p.sigmoid
	}
	p.average = lm.averageOutput
	if p.average && lm.version == "v2" && p.link != LinkIdentity {
		// Before LightGBM 2.2.3 (PR #1906) an rf model's trees held
		// transformed outputs and its prediction was their plain mean.
		// Such trees lie in the response range; trees of later
		// versions hold raw scores (log-odds, logs) of either sign.
		lo, hi := lm.ens.minLeaf, lm.ens.maxLeaf
		legacy := (p.link == LinkLogit && lo >= 0 && hi <= 1) || (p.link == LinkLog && lo > 0)
		if legacy {
			p.link = LinkIdentity
			p.params["rf_legacy_output"] = true
			p.warnings = append(p.warnings, "LightGBM rf model from before 2.2.3: its trees hold transformed outputs, so the response is their plain mean (as that LightGBM predicted) and raw is their sum")
		} else {
			p.warnings = append(p.warnings, "LightGBM rf model with a v2 header: scored with the semantics of LightGBM 2.2.3 and later (link applied to the mean of the trees)")
		}
	}
	if !generatedNames(lm.featureNames) {
		p.names = lm.featureNames
	} else if len(lm.featureNames) == lm.numFeatures {
		p.names = lm.featureNames
	}
	p.kinds = make([]features.Kind, lm.numFeatures)
	for j := range p.kinds {
		p.kinds[j] = features.Numeric
		if lm.ens.catFeature[j] {
			p.kinds[j] = features.Categorical
			p.catCols = append(p.catCols, j)
		} else if j < len(lm.featureInfos) && !lm.ens.numFeature[j] {
			// Unused in splits: LightGBM lists a categorical
			// feature's categories ("1:4:7"), a numeric one's range.
			if info := lm.featureInfos[j]; info != "none" && !strings.HasPrefix(info, "[") {
				p.kinds[j] = features.Categorical
			}
		}
		if lm.ens.zeroMissing[j] {
			p.zeroCols = append(p.zeroCols, j)
		}
	}
	if p.ens, err = loadLeaves(lm.ens.leavesText()); err != nil {
		return nil, err
	}
	return p, nil
}

func fromXGBoostBinary(xm *xgbModel) (p *parsed, err error) {
	p = &parsed{kind: models.KindXGBoost, version: "0.90 or older (legacy binary)", objective: xm.objective, booster: xm.booster,
		trees: xm.trees, numFeatures: xm.numFeatures, link: xm.link, output: xm.output, sigmoid: 1, float32In: true, params: map[string]any{}}
	p.kinds = make([]features.Kind, xm.numFeatures)
	for j := range p.kinds {
		p.kinds[j] = features.Numeric
	}
	defer func() {
		if r := recover(); r != nil {
			p, err = nil, fmt.Errorf("gbdt: leaves panicked loading a validated XGBoost model: %v", r)
		}
	}()
	p.ens, err = leaves.XGEnsembleFromReader(bufio.NewReader(bytes.NewReader(xm.patched)), false)
	if err != nil {
		return nil, fmt.Errorf("gbdt: leaves refused a validated XGBoost model: %w", err)
	}
	return p, nil
}

func fromConverted(ctx context.Context, c *Converted, lim Limits) (*parsed, error) {
	what := "converted model"
	if c == nil {
		return nil, errors.New("gbdt: converter returned nil")
	}
	var p *parsed
	switch {
	case len(c.Trees) > 0:
		if c.NumFeatures < 1 || c.NumFeatures > lim.MaxFeatures {
			return nil, refuse(what, "%d features (limit %d)", c.NumFeatures, lim.MaxFeatures)
		}
		e := newEnsemble(c.NumFeatures)
		for i := range c.Trees {
			if err := e.add(&c.Trees[i], lim); err != nil {
				return nil, refuse(what, "%v", err)
			}
		}
		lm := &lgbModel{version: c.Version, numFeatures: c.NumFeatures, objective: "regression", ens: e}
		var err error
		if p, err = fromLightGBM(lm, Options{}); err != nil {
			return nil, err
		}
	case c.Format == FormatLightGBMText:
		lm, err := parseLightGBMText(ctx, bytes.NewReader(c.Bytes), lim)
		if err != nil {
			return nil, err
		}
		lm.objective = "regression"
		if p, err = fromLightGBM(lm, Options{}); err != nil {
			return nil, err
		}
	case c.Format == FormatXGBoostBinary:
		xm, err := parseXGBoostBinary(c.Bytes, lim)
		if err != nil {
			return nil, err
		}
		if p, err = fromXGBoostBinary(xm); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("gbdt: converter returned neither trees nor bytes of a known format (%q)", c.Format)
	}
	if c.NumFeatures > 0 && p.numFeatures != c.NumFeatures {
		return nil, refuse(what, "trees index %d features, the converter says %d", p.numFeatures, c.NumFeatures)
	}
	switch c.Link {
	case LinkLogit, LinkLog, LinkIdentity:
	default:
		return nil, fmt.Errorf("gbdt: converter returned link %q", c.Link)
	}
	p.kind = c.Kind
	if p.kind == "" {
		p.kind = models.KindXGBoost
	}
	p.version, p.objective, p.booster = c.Version, c.Objective, c.Booster
	p.link, p.output, p.sigmoid = c.Link, c.Output, 1
	p.base, p.float32In = c.BaseMargin, c.Float32Inputs
	p.average = false
	p.names = nil
	if len(c.FeatureNames) > 0 {
		if len(c.FeatureNames) != p.numFeatures {
			return nil, refuse(what, "%d feature names for %d features", len(c.FeatureNames), p.numFeatures)
		}
		p.names = c.FeatureNames
	}
	if p.base != 0 {
		p.params["base_margin"] = p.base
	}
	p.warnings = append(p.warnings, c.Warnings...)
	return p, nil
}

// model binds p's features and builds the Model and its card.
func (p *parsed) model(opts Options) (*Model, error) {
	b, err := bind(p.names, p.kinds, opts.Schema)
	if err != nil {
		return nil, err
	}
	nEst := 0
	if opts.Iterations > 0 && opts.Iterations < p.trees {
		nEst = opts.Iterations
		p.params["iterations"] = nEst
	}
	used := p.trees
	if nEst > 0 {
		used = nEst
	}
	m := &Model{
		ens: p.ens, nFeat: p.numFeatures, nEst: nEst, bind: b,
		catCols: p.catCols, zeroCols: p.zeroCols, float32In: p.float32In,
		base: p.base, link: p.link, sigmoid: p.sigmoid, threads: opts.Threads,
	}
	if p.average {
		m.average = float64(used)
		p.params["average_output"] = true
	}
	if p.names != nil && !b.identity {
		p.params["model_features"] = p.names
	}
	if p.float32In {
		p.params["float32_inputs"] = true
	}
	if len(p.params) == 0 {
		p.params = nil
	}
	warnings := append(append([]string(nil), p.warnings...), b.warnings...)
	m.card = &models.Card{
		Kind:              p.kind,
		Task:              opts.Task,
		Output:            p.output,
		Link:              p.link,
		Inputs:            b.inputs,
		SchemaFingerprint: b.inputs.Fingerprint(),
		Parameters:        p.params,
		Warnings:          warnings,
	}
	return m, nil
}

// humanBytes prints n as KiB/MiB/GiB.
func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
