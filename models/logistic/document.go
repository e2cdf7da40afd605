package logistic

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/prevoir/prevoir/features"
	"github.com/prevoir/prevoir/models"
)

// Document is the JSON a logistic model fitted elsewhere is registered
// from (`prevoir models register --file model.json`):
//
//	{
//	  "kind": "logistic",
//	  "features": ["tenure_days", "orders_90d", "segment=gold"],
//	  "intercept": -1.2,
//	  "coefficients": {"tenure_days": -0.4, "orders_90d": 0.8, "segment=gold": 0.3},
//	  "preprocessing": {"mean": {"tenure_days": 400}, "scale": {"tenure_days": 120},
//	                    "encoders": {"segment": ["gold", "silver"]}, "impute": {"orders_90d": 0}}
//	}
//
// features are the design columns in order (see the package
// documentation); preprocessing is optional. The raw inputs are derived
// from them: a "c=level" column whose c has an encoder makes c a
// categorical input, an "x_missing" column whose x is another input is a
// flag, any other column is a numeric input. "inputs" may list them
// explicitly instead ([{"name", "kind"}...], in table order).
type Document struct {
	Kind          string                `json:"kind"`
	Features      []string              `json:"features"`
	Intercept     *float64              `json:"intercept"`
	Coefficients  map[string]float64    `json:"coefficients"`
	Preprocessing *models.Preprocessing `json:"preprocessing,omitempty"`
	Inputs        []features.Feature    `json:"inputs,omitempty"`
	Task          string                `json:"task,omitempty"`
	Parameters    map[string]any        `json:"parameters,omitempty"`
	Metrics       map[string]any        `json:"metrics,omitempty"`
	Lineage       *models.Lineage       `json:"lineage,omitempty"`
}

// ParseDocument reads a register document and returns the card it
// describes (without name or version), validated by New. Unknown fields
// are errors, so a misspelt field is not silently ignored.
func ParseDocument(data []byte) (*models.Card, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var doc Document
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%w: model document: %v", ErrInvalid, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: model document: data after the JSON object", ErrInvalid)
	}
	return doc.Card()
}

// Card builds and validates the card the document describes.
func (doc *Document) Card() (*models.Card, error) {
	if doc.Kind != models.KindLogistic {
		if doc.Kind == "" {
			return nil, invalid(`model document has no "kind" (want %q)`, models.KindLogistic)
		}
		return nil, invalid("model document kind %q: only %q models are registered from a document", doc.Kind, models.KindLogistic)
	}
	if len(doc.Features) == 0 {
		return nil, invalid(`model document has no "features"`)
	}
	if doc.Intercept == nil {
		return nil, invalid(`model document has no "intercept"`)
	}
	if doc.Coefficients == nil {
		return nil, invalid(`model document has no "coefficients"`)
	}
	pp := models.Preprocessing{}
	if doc.Preprocessing != nil {
		pp = *doc.Preprocessing
		if len(pp.Features) > 0 && strings.Join(pp.Features, "\x00") != strings.Join(doc.Features, "\x00") {
			return nil, invalid(`preprocessing.features differs from "features"`)
		}
	}
	pp.Features = append([]string(nil), doc.Features...)
	inputs := doc.Inputs
	if len(inputs) == 0 {
		inputs = deriveInputs(doc.Features, pp.Encoders)
	}
	intercept := *doc.Intercept
	card := &models.Card{
		Kind:          models.KindLogistic,
		Task:          doc.Task,
		Output:        Output,
		Link:          Link,
		Inputs:        features.Schema{Features: inputs},
		Coefficients:  doc.Coefficients,
		Intercept:     &intercept,
		Preprocessing: &pp,
		Parameters:    doc.Parameters,
		Metrics:       doc.Metrics,
		Lineage:       doc.Lineage,
	}
	card.SchemaFingerprint = card.Inputs.Fingerprint()
	if _, err := New(card); err != nil {
		return nil, err
	}
	return card, nil
}

// deriveInputs lists the raw inputs behind design columns, in order of
// first appearance.
func deriveInputs(design []string, enc map[string][]string) []features.Feature {
	var out []features.Feature
	seen := map[string]bool{}
	add := func(name string, kind features.Kind) {
		if !seen[name] {
			seen[name] = true
			out = append(out, features.Feature{Name: name, Kind: kind})
		}
	}
	isDesign := make(map[string]bool, len(design))
	for _, d := range design {
		isDesign[d] = true
	}
	for _, d := range design {
		if name, _, ok := strings.Cut(d, "="); ok {
			if _, ok := enc[name]; ok {
				add(name, features.Categorical)
				continue
			}
		}
		if name, ok := strings.CutSuffix(d, "_missing"); ok {
			if _, ok := enc[name]; ok || isDesign[name] {
				continue // a flag of an input added by its own column
			}
		}
		add(d, features.Numeric)
	}
	// A categorical input whose encoder is used only by flags.
	names := make([]string, 0, len(enc))
	for name := range enc {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if !seen[name] && isDesign[name+"_missing"] {
			add(name, features.Categorical)
		}
	}
	return out
}
