package gbdt

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/prevoir/prevoir/models"
)

// fixtures is the committed testdata of this package.
var fixtures = filepath.Join("..", "..", "testdata", "gbdt")

func importFile(t testing.TB, path string, opts Options) *Model {
	t.Helper()
	m, err := importPath(path, opts)
	if err != nil {
		t.Fatalf("import %s: %v", path, err)
	}
	return m
}

func importPath(path string, opts Options) (*Model, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	return Import(context.Background(), f, st.Size(), opts)
}

// readMatrix reads a delimited numeric table without header; empty cells
// are NaN. skipFirst drops the first column (a label).
func readMatrix(t testing.TB, path string, sep string, skipFirst bool) [][]float64 {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rows [][]float64
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if line == "" {
			continue
		}
		cells := strings.Split(line, sep)
		if skipFirst {
			cells = cells[1:]
		}
		// leaves' tsv files end each line with the separator.
		if len(cells) > 0 && cells[len(cells)-1] == "" && sep == "\t" {
			cells = cells[:len(cells)-1]
		}
		row := make([]float64, len(cells))
		for i, c := range cells {
			row[i] = parseCell(t, c)
		}
		rows = append(rows, row)
	}
	return rows
}

func parseCell(t testing.TB, c string) float64 {
	c = strings.TrimSpace(c)
	if c == "" || strings.EqualFold(c, "nan") {
		return math.NaN()
	}
	v, err := strconv.ParseFloat(c, 64)
	if err != nil {
		t.Fatalf("cell %q: %v", c, err)
	}
	return v
}

// readLibsvm reads a libsvm file into dense rows of ncols, absent cells
// set to absent; the label is dropped. Indices are column numbers, as
// leaves' CSR reader takes them.
func readLibsvm(t testing.TB, path string, ncols int, absent float64) [][]float64 {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rows [][]float64
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		f := strings.Fields(line)
		row := make([]float64, ncols)
		for i := range row {
			row[i] = absent
		}
		for _, kv := range f[1:] {
			k, v, _ := strings.Cut(kv, ":")
			i, err := strconv.Atoi(k)
			if err != nil || i >= ncols {
				t.Fatalf("libsvm %q", kv)
			}
			row[i] = parseCell(t, v)
		}
		rows = append(rows, row)
	}
	return rows
}

// readColumn reads one number per line (the first of tab-separated).
func readColumn(t testing.TB, path string) []float64 {
	t.Helper()
	var out []float64
	for _, r := range readMatrix(t, path, "\t", false) {
		out = append(out, r[0])
	}
	return out
}

// readCSV reads a CSV with a header; empty cells are NaN.
func readCSV(t testing.TB, path string) ([]string, [][]float64) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	rows := make([][]float64, len(recs)-1)
	for i, r := range recs[1:] {
		rows[i] = make([]float64, len(r))
		for j, c := range r {
			rows[i][j] = parseCell(t, c)
		}
	}
	return recs[0], rows
}

// score scores rows whose columns follow header, binding them to the
// model's inputs by name (nil header: the rows are in input order).
func score(t testing.TB, m models.Model, header []string, rows [][]float64, kind models.OutputKind) []float64 {
	t.Helper()
	in := m.Card().Inputs.Features
	idx := make([]int, len(in))
	for j, f := range in {
		idx[j] = j
		if header != nil {
			idx[j] = -1
			for k, h := range header {
				if h == f.Name {
					idx[j] = k
				}
			}
			if idx[j] < 0 {
				t.Fatalf("input %q not in header %v", f.Name, header)
			}
		}
	}
	b := models.Batch{Rows: len(rows), Cols: len(in), Values: make([]float64, 0, len(rows)*len(in))}
	for _, r := range rows {
		for _, k := range idx {
			b.Values = append(b.Values, r[k])
		}
	}
	out := make([]float64, len(rows))
	if err := m.Score(out, b, kind); err != nil {
		t.Fatal(err)
	}
	return out
}

// assertClose checks |got-want| <= tol (abs) or tol*max(1,|want|) (rel),
// and returns the largest difference seen.
func assertClose(t testing.TB, name string, got, want []float64, tol float64, rel bool) float64 {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d scores, %d expected", name, len(got), len(want))
	}
	worst, bad := 0.0, 0
	for i := range got {
		d := math.Abs(got[i] - want[i])
		lim := tol
		if rel {
			lim = tol * math.Max(1, math.Abs(want[i]))
		}
		worst = math.Max(worst, d)
		if !(d <= lim) {
			if bad < 5 {
				t.Errorf("%s row %d: got %.17g want %.17g (|diff| %.3g > %.3g)", name, i, got[i], want[i], d, lim)
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d rows out of tolerance", name, bad, len(got))
	}
	return worst
}
