// Package register plugs package xgbjson into gbdt's converter seam, so
// that gbdt.Import reads XGBoost JSON and UBJSON models. Import it for its
// side effect:
//
//	import _ "github.com/prevoir/prevoir/models/gbdt/xgbjson/register"
//
// xgbjson itself imports neither gbdt nor leaves; this package adapts its
// Model to a gbdt.Converted.
package register

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/prevoir/prevoir/models"
	"github.com/prevoir/prevoir/models/gbdt"
	"github.com/prevoir/prevoir/models/gbdt/xgbjson"
)

func init() {
	gbdt.RegisterConverter(gbdt.FormatXGBoostJSON, converter(xgbjson.ReadJSON))
	gbdt.RegisterConverter(gbdt.FormatXGBoostUBJSON, converter(xgbjson.ReadUBJSON))
}

// converter makes a gbdt.Converter of one of xgbjson's readers.
func converter(read func([]byte, xgbjson.Limits) (*xgbjson.Model, error)) gbdt.Converter {
	return func(ctx context.Context, r io.ReaderAt, size int64, lim gbdt.Limits) (*gbdt.Converted, error) {
		if size < 0 || lim.MaxBytes > 0 && size > lim.MaxBytes {
			return nil, &gbdt.RefusedError{What: fmt.Sprintf("a %d-byte file", size), Reason: fmt.Sprintf("over the limit of %d bytes", lim.MaxBytes)}
		}
		b := make([]byte, size)
		if n, err := r.ReadAt(b, 0); n != len(b) {
			return nil, fmt.Errorf("xgboost import: read: %w", err)
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		m, err := read(b, xgbjson.Limits{MaxTrees: lim.MaxTrees, MaxLeaves: lim.MaxLeaves, MaxNodes: lim.MaxNodes, MaxFeatures: lim.MaxFeatures})
		if err != nil {
			var re *xgbjson.RefusedError
			if errors.As(err, &re) {
				return nil, &gbdt.RefusedError{What: re.What, Reason: re.Reason}
			}
			return nil, err
		}
		return Converted(m), nil
	}
}

// Converted adapts a converted XGBoost model to gbdt's seam. Inputs are
// rounded to float32 (the trees' thresholds assume it) and the base margin
// is added by the gbdt.Model.
func Converted(m *xgbjson.Model) *gbdt.Converted {
	trees := make([]gbdt.Tree, len(m.Trees))
	for i, t := range m.Trees {
		trees[i] = gbdt.Tree{
			SplitFeature: t.SplitFeature,
			Threshold:    t.Threshold,
			DecisionType: t.DecisionType,
			LeftChild:    t.LeftChild,
			RightChild:   t.RightChild,
			LeafValue:    t.LeafValue,
		}
	}
	return &gbdt.Converted{
		Trees:         trees,
		Kind:          models.KindXGBoost,
		Version:       m.Version,
		Booster:       m.Booster,
		Objective:     m.Objective,
		Link:          m.Link,
		Output:        m.Output,
		NumFeatures:   m.NumFeatures,
		FeatureNames:  m.FeatureNames,
		Float32Inputs: true,
		BaseMargin:    m.BaseMargin,
		Warnings:      m.Warnings,
	}
}
