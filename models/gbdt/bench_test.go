package gbdt_test

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/prevoir/prevoir/models"
	"github.com/prevoir/prevoir/models/gbdt"
)

// benchModel imports testdata/xgboost/f32_reg.json (500 trees, depth 3,
// 8 features) and returns it with its 1,000 scoring rows repeated to n.
func benchModel(b *testing.B, n int) (*gbdt.Model, models.Batch) {
	b.Helper()
	dir := filepath.Join("..", "..", "testdata", "xgboost")
	f, err := os.Open(filepath.Join(dir, "f32_reg.json"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		b.Fatal(err)
	}
	m, err := gbdt.Import(context.Background(), f, st.Size(), gbdt.Options{Threads: 1})
	if err != nil {
		b.Fatal(err)
	}
	rows := readRows(b, filepath.Join(dir, "f32_reg.csv"), 8)
	batch := models.Batch{Rows: n, Cols: 8, Values: make([]float64, 0, n*8)}
	for len(batch.Values) < n*8 {
		batch.Values = append(batch.Values, rows[:min(len(rows), n*8-len(batch.Values))]...)
	}
	return m, batch
}

// BenchmarkXGBoostBatch scores 10,000 rows with a 500-tree XGBoost model
// on one goroutine.
func BenchmarkXGBoostBatch(b *testing.B) {
	m, batch := benchModel(b, 10_000)
	dst := make([]float64, batch.Rows)
	b.ResetTimer()
	for range b.N {
		if err := m.Score(dst, batch, models.Response); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batch.Rows)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkXGBoostRow scores one row at a time.
func BenchmarkXGBoostRow(b *testing.B) {
	m, batch := benchModel(b, 1_000)
	var dst [1]float64
	b.ResetTimer()
	for i := range b.N {
		one := models.Batch{Rows: 1, Cols: 8, Values: batch.Row(i % batch.Rows)}
		if err := m.Score(dst[:], one, models.Response); err != nil {
			b.Fatal(err)
		}
	}
}

// readRows returns the first cols fields of every data row of a CSV, row
// after row (an empty field is NaN).
func readRows(b *testing.B, path string, cols int) []float64 {
	b.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	var out []float64
	for i, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if i == 0 {
			continue
		}
		for _, s := range strings.Split(line, ",")[:cols] {
			v := math.NaN()
			if s != "" {
				if v, err = strconv.ParseFloat(s, 64); err != nil {
					b.Fatal(err)
				}
			}
			out = append(out, v)
		}
	}
	return out
}
