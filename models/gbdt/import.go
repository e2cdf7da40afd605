package gbdt

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"strings"

	"github.com/dmitryikh/leaves"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/datasets/table"
	"github.com/prevoir/prevoir/features"
	"github.com/prevoir/prevoir/models"
	"github.com/prevoir/prevoir/models/gbdt/internal/xgbjson"
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

	// Reference, when set, is a table (CSV, gzip-compressed CSV or
	// Parquet, opened with datasets/table) of feature columns plus a
	// "prediction" column: Import fails unless every score is within
	// Tolerance of it (see CheckReference). Its Name goes into the card.
	Reference *table.Reader
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
		return nil, refuse(fmt.Sprintf("a %s file", humanBytes(size)), "over the %s limit on model files (Limits.MaxBytes); not read", humanBytes(lim.MaxBytes))
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
		return nil, &datasets.FieldError{Field: "Format", Value: string(format), Msg: fmt.Sprintf("the file looks like %s", sniffed), Err: models.ErrUnsupported}
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
		rc, err := CheckReference(ctx, m, opts.Reference, opts.ReferenceKind, tol)
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
	split                       []bool // features some split uses
	catCols, zeroCols           []int
	ens                         *leaves.Ensemble
	link, output                string
	sigmoid                     float64
	average                     bool
	f32                         *forest32
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
	case FormatXGBoostBinary, FormatXGBoostJSON, FormatXGBoostUBJSON:
		data := make([]byte, size)
		if _, err := io.ReadFull(io.TeeReader(sr, h), data); err != nil {
			return nil, "", fmt.Errorf("gbdt import: read: %w", err)
		}
		if err := ctx.Err(); err != nil {
			return nil, "", err
		}
		var xm *xgbjson.Model
		var err error
		if format == FormatXGBoostBinary {
			xm, err = parseXGBoostBinary(data, lim)
		} else {
			xm, err = readXGBoostJSON(data, format, lim)
		}
		if err != nil {
			return nil, "", err
		}
		if p, err = fromXGBoost(xm, format, lim); err != nil {
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
	err = datasets.Guard("gbdt: leaves loading a validated model", func() error {
		e, err = leaves.LGEnsembleFromReader(bufio.NewReader(bytes.NewReader(text)), false)
		if err != nil {
			return fmt.Errorf("gbdt: leaves refused a validated model: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
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
			return nil, &datasets.FieldError{Field: "Objective", Msg: fmt.Sprintf("%s names no objective (a dump from LightGBM before 3.0?): give one of binary, regression, poisson, gamma, tweedie", what), Err: models.ErrUnsupported}
		}
		obj = opts.Objective
		if obj == "binary" {
			obj = "binary sigmoid:1"
		}
		p.warnings = append(p.warnings, fmt.Sprintf("the model file names no objective; %q was given at import", opts.Objective))
		p.objective = opts.Objective
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
	p.split = make([]bool, lm.numFeatures)
	for j := range p.kinds {
		p.kinds[j] = features.Numeric
		p.split[j] = lm.ens.catFeature[j] || lm.ens.numFeature[j]
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

// readXGBoostJSON reads an XGBoost JSON or UBJSON model with xgbjson
// (its refusals are models.RefusedErrors, as gbdt's are).
func readXGBoostJSON(data []byte, format Format, lim Limits) (*xgbjson.Model, error) {
	read := xgbjson.ReadJSON
	if format == FormatXGBoostUBJSON {
		read = xgbjson.ReadUBJSON
	}
	return read(data, xgbjson.Limits{MaxTrees: lim.MaxTrees, MaxLeaves: lim.MaxLeaves, MaxNodes: lim.MaxNodes, MaxFeatures: lim.MaxFeatures})
}

// fromXGBoost builds the float32 scorer of a validated XGBoost model.
func fromXGBoost(xm *xgbjson.Model, format Format, lim Limits) (*parsed, error) {
	what := fmt.Sprintf("XGBoost %s model", xm.Version)
	lo, ok := xgbObjectives[xm.Objective]
	if !ok {
		return nil, refuse(what, "objective %q is not supported (binary:logistic, reg:logistic, reg:squarederror, count:poisson, reg:gamma, reg:tweedie)", xm.Objective)
	}
	if xm.NumFeatures < 1 || xm.NumFeatures > lim.MaxFeatures {
		return nil, refuse(what, "%d features (limit %d)", xm.NumFeatures, lim.MaxFeatures)
	}
	// A legacy binary stores base_score as a margin already (XGBoost up
	// to 0.90 saved it after ProbToMargin); JSON files store the
	// response-scale value.
	base := xm.BaseScore
	if format != FormatXGBoostBinary {
		var err error
		if base, err = xgbBaseMargin(lo[0], xm.BaseScore); err != nil {
			return nil, refuse(what, "%v, as %s needs", err, xm.Objective)
		}
	}
	f, err := newForest32(xm.Trees, xm.NumFeatures, base, lo[0], lim)
	if err != nil {
		return nil, err
	}
	p := &parsed{kind: models.KindXGBoost, version: xm.Version, objective: xm.Objective, booster: xm.Booster,
		trees: len(xm.Trees), numFeatures: xm.NumFeatures, link: lo[0], output: lo[1], sigmoid: 1,
		f32: f, params: map[string]any{}, warnings: xm.Warnings}
	p.kinds = make([]features.Kind, xm.NumFeatures)
	for j := range p.kinds {
		p.kinds[j] = features.Numeric
	}
	p.split = f.split
	if len(xm.FeatureNames) > 0 {
		if len(xm.FeatureNames) != xm.NumFeatures {
			return nil, refuse(what, "%d feature names for %d features", len(xm.FeatureNames), xm.NumFeatures)
		}
		p.names = xm.FeatureNames
	}
	if base != 0 {
		p.params["base_margin"] = float64(base)
	}
	p.params["float32_arithmetic"] = true
	return p, nil
}

// model binds p's features and builds the Model and its card.
func (p *parsed) model(opts Options) (*Model, error) {
	b, err := bind(p.names, p.kinds, p.split, opts.Schema)
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
		catCols: p.catCols, zeroCols: p.zeroCols, f32: p.f32,
		link: p.link, sigmoid: p.sigmoid, threads: opts.Threads,
	}
	if p.average {
		m.average = float64(used)
		p.params["average_output"] = true
	}
	if p.names != nil && !b.identity {
		p.params["model_features"] = p.names
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
