package datasets_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/datasets/local"
	"github.com/prevoir/prevoir/datasets/privacy"
)

// BenchmarkImportSuppressions imports 256Ki order lines (about 13k
// customers) into a store without tombstones and into one with 100
// tombstones, so the cost of the writer's suppression check shows.
func BenchmarkImportSuppressions(b *testing.B) {
	dir := b.TempDir()
	src := filepath.Join(dir, "orders.csv")
	if err := os.WriteFile(src, []byte(datasets.BenchOrdersCSV(1<<18)), 0o644); err != nil {
		b.Fatal(err)
	}
	srcs, err := datasets.LocalSources([]string{src})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for _, n := range []int{0, 100} {
		b.Run(fmt.Sprintf("tombstones=%d", n), func(b *testing.B) {
			var ids []string
			for i := range n {
				ids = append(ids, fmt.Sprint(i*7+1))
			}
			for b.Loop() {
				b.StopTimer()
				st, err := local.New(b.TempDir())
				if err != nil {
					b.Fatal(err)
				}
				if n > 0 {
					if _, err := privacy.Forget(ctx, st, ids, time.Now(), privacy.RewriterFunc{Name: "none",
						Func: func(context.Context, privacy.IDs) ([]privacy.Rewrite, error) { return nil, nil }}); err != nil {
						b.Fatal(err)
					}
				}
				b.StartTimer()
				res, err := datasets.Import(ctx, st, srcs, datasets.ImportOptions{Dataset: "bench"})
				if err != nil {
					b.Fatal(err)
				}
				if n > 0 && res.Suppressed == 0 {
					b.Fatal("nothing suppressed")
				}
			}
		})
	}
}
