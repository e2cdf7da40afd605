package train

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"strings"
	"testing"
)

// memRecords is Records over in-memory CSV text.
type memRecords struct {
	r      *csv.Reader
	header []string
}

func newMemRecords(text string) (*memRecords, error) {
	r := csv.NewReader(strings.NewReader(text))
	h, err := r.Read()
	if err != nil {
		return nil, err
	}
	return &memRecords{r: r, header: h}, nil
}

func (m *memRecords) Header() []string        { return m.header }
func (m *memRecords) Next() ([]string, error) { return m.r.Read() }
func (m *memRecords) At(col int, err error) error {
	line, column := m.r.FieldPos(col)
	return fmt.Errorf("mem:%d:%d: %w", line, column, err)
}

func tableText(rows int, withMissing bool) string {
	var b bytes.Buffer
	b.WriteString("id,x,color,flag,y\n")
	colors := []string{"red", "green", "blue"}
	for i := 0; i < rows; i++ {
		x := fmt.Sprint(float64(i%17) / 3)
		if withMissing && i%9 == 4 {
			x = ""
		}
		c := colors[(i*7)%3]
		if withMissing && i%13 == 5 {
			c = ""
		}
		y := (i*31)%5 < 2
		if c == "red" && i%3 == 0 {
			y = !y
		}
		fmt.Fprintf(&b, "r%d,%s,%s,1,%v\n", i, x, c, y)
	}
	return b.String()
}

func TestTrainTableMissingPolicies(t *testing.T) {
	text := tableText(300, true)
	rec, _ := newMemRecords(text)
	_, err := TrainTable(context.Background(), rec, TableOptions{Label: "y", IDs: []string{"id"}, MinClass: 10})
	if err == nil || !strings.Contains(err.Error(), "mem:6:4: column \"x\": empty value") {
		t.Errorf("refuse: %v", err)
	}
	rec, _ = newMemRecords(text)
	out, err := TrainTable(context.Background(), rec, TableOptions{Label: "y", IDs: []string{"id"}, MinClass: 10, Missing: MissingDrop})
	if err != nil {
		t.Fatal(err)
	}
	if out.TrainRows >= 300 || !strings.Contains(strings.Join(out.Warnings, "\n"), "rows dropped for missing values") {
		t.Errorf("drop: %d rows, warnings %q", out.TrainRows, out.Warnings)
	}
	rec, _ = newMemRecords(text)
	out, err = TrainTable(context.Background(), rec, TableOptions{Label: "y", IDs: []string{"id"}, MinClass: 10, Missing: MissingMean, HoldoutFrac: 0.3, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	pp := out.Card.Preprocessing
	want := "x,x_missing,color=blue,color=green,color=red,color_missing"
	if got := strings.Join(pp.Features, ","); got != want {
		t.Errorf("features %s, want %s", got, want)
	}
	if _, ok := pp.Impute["x"]; !ok || out.Holdout == nil || out.HoldoutRows != 90 {
		t.Errorf("impute %v, holdout %d rows", pp.Impute, out.HoldoutRows)
	}
	if !strings.Contains(strings.Join(out.Card.Warnings, "\n"), `"flag" is constant`) {
		t.Errorf("no constant-column warning: %q", out.Card.Warnings)
	}
	for _, f := range out.Card.Inputs.Features {
		if f.Name == "flag" {
			t.Error("constant column kept as an input")
		}
	}
}

// FuzzTrainTable: any CSV text is trained on or refused, never a panic.
func FuzzTrainTable(f *testing.F) {
	f.Add(tableText(40, true), "y", "")
	f.Add("a,b,y\n1,x,1\n2,y,0\n3,,1\n", "y", "")
	f.Add("a;y\n1;yes\n", "y", "yes")
	f.Fuzz(func(t *testing.T, text, label, positive string) {
		rec, err := newMemRecords(text)
		if err != nil {
			return
		}
		for _, m := range []Missing{MissingRefuse, MissingDrop, MissingMean} {
			rec, _ = newMemRecords(text)
			TrainTable(context.Background(), rec, TableOptions{Label: label, Positive: positive, MinClass: 1, Missing: m, HoldoutFrac: 0.25, MaxIter: 50})
		}
	})
}
