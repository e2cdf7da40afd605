package xgbjson_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/prevoir/prevoir/models/gbdt/internal/xgbjson"
)

func ExampleRead() {
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "..", "testdata", "xgboost", "tiny_dart.ubj"))
	if err != nil {
		panic(err)
	}
	m, err := xgbjson.Read(b, xgbjson.Limits{})
	if err != nil {
		panic(err)
	}
	fmt.Println(m.Version, m.Booster, m.Objective)
	fmt.Println(len(m.Trees), "trees,", m.NumFeatures, "features, base score", m.BaseScore)
	fmt.Println(m.FeatureNames[:3])
	// Output:
	// 1.7.4 dart binary:logistic
	// 3 trees, 8 features, base score 0.5
	// [age tenure spend]
}
