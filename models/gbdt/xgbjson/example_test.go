package xgbjson_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/prevoir/prevoir/models/gbdt/xgbjson"
)

func ExampleRead() {
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "testdata", "xgboost", "tiny_dart.ubj"))
	if err != nil {
		panic(err)
	}
	m, err := xgbjson.Read(b, xgbjson.Limits{})
	if err != nil {
		panic(err)
	}
	fmt.Println(m.Version, m.Booster, m.Objective, m.Link, m.Output)
	fmt.Println(len(m.Trees), "trees,", m.NumFeatures, "features, base margin", m.BaseMargin)
	fmt.Println(m.FeatureNames[:3])
	// Output:
	// 1.7.4 dart binary:logistic logit probability
	// 3 trees, 8 features, base margin 0
	// [age tenure spend]
}
