package train

import (
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prevoir/prevoir/datasets/datatest"
)

// csvRecords is a minimal Records over encoding/csv for tests (package
// datasets/table is what the command uses).
type csvRecords struct {
	name   string
	r      *csv.Reader
	header []string
}

func openCSV(t testing.TB, path string, comma rune) *csvRecords {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	r := csv.NewReader(f)
	r.Comma = comma
	r.ReuseRecord = true
	h, err := r.Read()
	if err != nil {
		t.Fatal(err)
	}
	return &csvRecords{name: path, r: r, header: append([]string(nil), h...)}
}

func (c *csvRecords) Header() []string        { return c.header }
func (c *csvRecords) Next() ([]string, error) { return c.r.Read() }
func (c *csvRecords) At(col int, err error) error {
	line, column := c.r.FieldPos(col)
	return fmt.Errorf("%s:%d:%d: %w", c.name, line, column, err)
}

type parityFit struct {
	Name          string             `json:"name"`
	Table         string             `json:"table"`
	SHA256        string             `json:"sha256"`
	C             float64            `json:"C"`
	Standardize   bool               `json:"standardize"`
	ClassWeight   string             `json:"class_weight"`
	Features      []string           `json:"features"`
	Coefficients  map[string]float64 `json:"coefficients"`
	Intercept     float64            `json:"intercept"`
	Mean          map[string]float64 `json:"mean"`
	Scale         map[string]float64 `json:"scale"`
	Probabilities []float64          `json:"probabilities"`
	Label         string             `json:"label"`
	Positive      string             `json:"positive"`
	IDs           []string           `json:"ids"`
	Drop          []string           `json:"drop"`
	Weight        string             `json:"weight"`
	Categorical   []string           `json:"categorical"`
	Missing       string             `json:"missing"`
	GradMaxAbs    float64            `json:"grad_max_abs"`
}

// Parity tolerances (issue 7): coefficients and intercept within 1e-5 of
// scikit-learn 1.2.1 newton-cholesky at tol 1e-12, probabilities within
// 1e-6.
const (
	coefTol = 1e-5
	probTol = 1e-6
)

// checkParity compares an Outcome with a scikit-learn fit and returns the
// largest differences.
func checkParity(t *testing.T, name string, out *Outcome, want parityFit) (coefErr, probErr float64) {
	t.Helper()
	pp := out.Card.Preprocessing
	if strings.Join(pp.Features, ",") != strings.Join(want.Features, ",") {
		t.Fatalf("%s: design columns\n got %v\nwant %v", name, pp.Features, want.Features)
	}
	for _, f := range want.Features {
		coefErr = max(coefErr, math.Abs(out.Card.Coefficients[f]-want.Coefficients[f]))
		if want.Mean != nil {
			if d := math.Abs(pp.Mean[f] - want.Mean[f]); d > 1e-9*max(1, math.Abs(want.Mean[f])) {
				t.Errorf("%s: mean of %s = %v, scikit-learn %v", name, f, pp.Mean[f], want.Mean[f])
			}
			if d := math.Abs(pp.Scale[f] - want.Scale[f]); d > 1e-9*max(1, want.Scale[f]) {
				t.Errorf("%s: scale of %s = %v, scikit-learn %v", name, f, pp.Scale[f], want.Scale[f])
			}
		}
	}
	coefErr = max(coefErr, math.Abs(*out.Card.Intercept-want.Intercept))
	p := out.Probabilities()
	if len(p) != len(want.Probabilities) {
		t.Fatalf("%s: %d probabilities, scikit-learn %d", name, len(p), len(want.Probabilities))
	}
	for i := range p {
		probErr = max(probErr, math.Abs(p[i]-want.Probabilities[i]))
	}
	if coefErr > coefTol {
		t.Errorf("%s: max |coefficient - scikit-learn| = %.3g > %g", name, coefErr, coefTol)
	}
	if probErr > probTol {
		t.Errorf("%s: max |probability - scikit-learn| = %.3g > %g", name, probErr, probTol)
	}
	if !out.Fit.Converged || out.Fit.GradNorm > DefaultTol {
		t.Errorf("%s: fit %s, max |grad| %g", name, out.Fit.Status, out.Fit.GradNorm)
	}
	t.Logf("%s: max |coef diff| %.2g, max |p diff| %.2g, %d iterations, max |grad| %.2g (scikit-learn %.2g)",
		name, coefErr, probErr, out.Fit.Iterations, out.Fit.GradNorm, want.GradMaxAbs)
	return coefErr, probErr
}

func fileSHA256(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestParitySmall: values from testdata/train/make_parity.py
// (scikit-learn 1.2.1) on the synthetic tables beside it.
func TestParitySmall(t *testing.T) {
	b, err := os.ReadFile("../testdata/train/small_parity.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Variants []parityFit `json:"variants"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Variants) < 4 {
		t.Fatalf("%d variants in the fixture", len(doc.Variants))
	}
	for _, v := range doc.Variants {
		t.Run(v.Name, func(t *testing.T) {
			path := filepath.Join("../testdata/train", v.Table)
			if got := fileSHA256(t, path); got != v.SHA256 {
				t.Fatalf("%s changed since the fixture was made (sha256 %s, fixture %s): rerun make_parity.py", path, got, v.SHA256)
			}
			out, err := TrainTable(context.Background(), openCSV(t, path, ';'), TableOptions{
				Label: v.Label, Positive: v.Positive, IDs: v.IDs, Drop: v.Drop, Weight: v.Weight,
				Categorical: v.Categorical, Missing: Missing(v.Missing), C: v.C,
				NoStandardize: !v.Standardize, ClassWeight: v.ClassWeight, MinClass: 10,
			})
			if err != nil {
				t.Fatal(err)
			}
			checkParity(t, v.Name, out, v)
		})
	}
}

// TestParityBank: bank-full.csv (UCI Bank Marketing) against
// testdata/train/bank_parity.json.gz at C = 1 and C = 0.01. The table
// lives in ../shared/data, outside the repository.
func TestParityBank(t *testing.T) {
	path := datatest.Shared(t, "bank_marketing/bank-full.csv")
	var doc struct {
		SHA256 string      `json:"sha256"`
		Fits   []parityFit `json:"fits"`
	}
	datatest.DecodeJSONGz(t, datatest.Testdata(t, "train/bank_parity.json.gz"), &doc)
	if got := fileSHA256(t, path); got != doc.SHA256 {
		t.Fatalf("%s is not the table of the fixture (sha256 %s, fixture %s)", path, got, doc.SHA256)
	}
	for _, want := range doc.Fits {
		name := fmt.Sprintf("C=%g", want.C)
		t.Run(name, func(t *testing.T) {
			out, err := TrainTable(context.Background(), openCSV(t, path, ';'), TableOptions{
				Label: "y", Positive: "yes", Drop: []string{"duration"}, C: want.C,
			})
			if err != nil {
				t.Fatal(err)
			}
			checkParity(t, name, out, want)
		})
	}
}
