package models_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"strings"
	"testing"

	"github.com/prevoir/prevoir/features"
	"github.com/prevoir/prevoir/models"
)

// sumModel scores the sum of its inputs (missing counts as 0), and fails
// on a row whose first input is 13.
type sumModel struct{ card *models.Card }

func (m sumModel) Card() *models.Card { return m.card }
func (m sumModel) Score(dst []float64, b models.Batch, _ models.OutputKind) error {
	if err := b.Check(len(m.card.Inputs.Features)); err != nil {
		return err
	}
	for r := 0; r < b.Rows; r++ {
		var s float64
		for i, v := range b.Row(r) {
			if i == 0 && v == 13 {
				return errors.New("unlucky")
			}
			if !math.IsNaN(v) {
				s += v
			}
		}
		dst[r] = s
	}
	return nil
}

func newSum(names ...string) sumModel {
	c := &models.Card{Name: "sum", Version: 1, Kind: "sum"}
	for _, n := range names {
		c.Inputs.Features = append(c.Inputs.Features, features.Feature{Name: n, Kind: features.Numeric})
	}
	return sumModel{c}
}

// rows is a RowReader over in-memory records.
type rows struct {
	header []string
	recs   [][]string
	i      int
}

func (r *rows) Header() []string { return r.header }
func (r *rows) Name() string     { return "t.csv" }
func (r *rows) Line() int        { return r.i + 1 }
func (r *rows) Next() ([]string, error) {
	if r.i >= len(r.recs) {
		return nil, io.EOF
	}
	r.i++
	return r.recs[r.i-1], nil
}
func (r *rows) At(col int, err error) error {
	return fmt.Errorf("t.csv:%d:%d: %w", r.Line(), col+1, err)
}

func TestPredict(t *testing.T) {
	in := &rows{header: []string{"id", "b", "a"}}
	var want strings.Builder
	want.WriteString("id,score\n")
	for i := range 10 {
		in.recs = append(in.recs, []string{fmt.Sprintf("r,%d", i), fmt.Sprint(i), "0.1"})
		fmt.Fprintf(&want, "\"r,%d\",%s\n", i, fmt.Sprint(0.1+float64(i)))
	}
	var out bytes.Buffer
	// A batch of 3 rows exercises full and partial batches.
	n, err := models.Predict(t.Context(), newSum("a", "b"), in, &out, models.PredictOptions{IDs: []string{"id"}, BatchRows: 3})
	if err != nil || n != 10 {
		t.Fatalf("Predict: %d rows, %v", n, err)
	}
	if out.String() != want.String() {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want.String())
	}
}

func TestPredictErrors(t *testing.T) {
	in := &rows{header: []string{"a", "b"}, recs: [][]string{{"1", "2"}, {"13", "1"}, {"1", "2"}}}
	_, err := models.Predict(t.Context(), newSum("a", "b"), in, io.Discard, models.PredictOptions{BatchRows: 2})
	if err == nil || err.Error() != "t.csv:3: unlucky" {
		t.Errorf("a failing row: err = %v, want it placed at t.csv:3", err)
	}
	in = &rows{header: []string{"a"}, recs: [][]string{{"1"}}}
	if _, err := models.Predict(t.Context(), newSum("a", "b", "c"), in, io.Discard, models.PredictOptions{}); !errors.Is(err, models.ErrSchemaMismatch) || !strings.Contains(err.Error(), `"b", "c"`) {
		t.Errorf("missing inputs: err = %v", err)
	}
	in = &rows{header: []string{"a"}, recs: [][]string{{"x"}}}
	if _, err := models.Predict(t.Context(), newSum("a"), in, io.Discard, models.PredictOptions{}); err == nil || !strings.HasPrefix(err.Error(), "t.csv:2:1: ") {
		t.Errorf("bad value: err = %v", err)
	}
}

func TestDiff(t *testing.T) {
	one, two := 1.0, 2.0
	a := &models.Card{Name: "m", Version: 1, Kind: "logistic", Intercept: &one,
		Coefficients: map[string]float64{"x": 1, "y": 2},
		Inputs:       features.Schema{Features: []features.Feature{{Name: "x", Kind: features.Numeric}, {Name: "y", Kind: features.Numeric}}}}
	b := &models.Card{Name: "m", Version: 2, Kind: "logistic", Intercept: &two,
		Coefficients: map[string]float64{"x": 1, "z": 3},
		Inputs:       features.Schema{Features: []features.Feature{{Name: "x", Kind: features.Numeric}, {Name: "z", Kind: features.Categorical}}}}
	changes, err := models.Diff(a, b)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range changes {
		got = append(got, fmt.Sprintf("%s:%v>%v", c.Path, c.A, c.B))
	}
	want := "coefficients.y:2><nil> coefficients.z:<nil>>3 input_order:x, y>x, z inputs.y.kind:numeric><nil> inputs.z.kind:<nil>>categorical intercept:1>2 version:1>2"
	if strings.Join(got, " ") != want {
		t.Errorf("Diff =\n%s\nwant\n%s", strings.Join(got, " "), want)
	}
	if c, _ := models.Diff(a, a); len(c) != 0 {
		t.Errorf("Diff(a, a) = %v", c)
	}
}

// TestPredictMemoryFollowsBatch: scoring 200 rows of a 5,010-column table
// allocates for those rows, not for a full DefaultBatchRows batch of
// 5,010 columns (164 MiB before: the batch was allocated up front).
func TestPredictMemoryFollowsBatch(t *testing.T) {
	const cols, n = 5010, 200
	names := make([]string, cols)
	rec := make([]string, cols)
	for i := range names {
		names[i] = fmt.Sprintf("c%d", i)
		rec[i] = "1"
	}
	in := &rows{header: names}
	for range n {
		in.recs = append(in.recs, rec)
	}
	m := newSum(names...)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	got, err := models.Predict(t.Context(), m, in, io.Discard, models.PredictOptions{})
	runtime.ReadMemStats(&after)
	if err != nil || got != n {
		t.Fatalf("Predict: %d rows, %v", got, err)
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("%d rows x %d columns: %.1f MiB allocated", n, cols, float64(alloc)/(1<<20))
	if limit := uint64(32 << 20); alloc > limit {
		t.Errorf("allocated %d MiB for %d rows of %d columns (limit %d MiB): memory does not follow the batch", alloc>>20, n, cols, limit>>20)
	}
}
