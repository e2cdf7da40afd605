package features

import (
	"context"
	"os"
	"sync"
	"testing"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/datasets/local"
	"github.com/prevoir/prevoir/datasets/synth"
)

var (
	benchOnce  sync.Once
	benchStore datasets.Store
	benchErr   error
)

// benchData generates one dataset for the benchmarks (20,000 customers,
// seed 42, about 1.2M order lines), shared by every benchmark of a run.
func benchData(b *testing.B) datasets.Store {
	b.Helper()
	benchOnce.Do(func() {
		dir, err := mkdirTemp()
		if err != nil {
			benchErr = err
			return
		}
		st, err := local.New(dir)
		if err != nil {
			benchErr = err
			return
		}
		_, benchErr = synth.Generate(context.Background(), st, synth.Options{Name: "bench", Customers: 20000, Seed: 42}, synth.StoreOptions{})
		benchStore = st
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchStore
}

// BenchmarkBuildChurn is a labelled churn build (orders, events, loyalty)
// of the generated dataset: the reading path end to end.
func BenchmarkBuildChurn(b *testing.B) {
	st := benchData(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Build(context.Background(), st, Options{Dataset: "bench", AsOf: "2024-10-01", Labels: true, Force: true}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBuildRFM is the rfm-anchor set: orders only.
func BenchmarkBuildRFM(b *testing.B) {
	st := benchData(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Build(context.Background(), st, Options{Dataset: "bench", AsOf: "2024-10-01", Labels: true, FeatureSet: SetRFMAnchor, Force: true}); err != nil {
			b.Fatal(err)
		}
	}
}

func mkdirTemp() (string, error) { return os.MkdirTemp("", "prevoir-features-bench-") }
