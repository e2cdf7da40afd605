package table_test

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/datasets/local"
	"github.com/prevoir/prevoir/datasets/table"
)

func readAll(t *testing.T, r *table.Reader) [][]string {
	t.Helper()
	var out [][]string
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, append([]string(nil), rec...))
	}
}

func open(t *testing.T, data []byte) *table.Reader {
	t.Helper()
	r, err := table.Open(bytes.NewReader(data), int64(len(data)), "in.csv")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestCSV(t *testing.T) {
	want := [][]string{{"a", "1.5", ""}, {"b, \"c\"", "", "x"}}
	cases := []struct {
		name  string
		text  string
		delim rune
	}{
		{"comma", "id,x,y\na,1.5,\n\"b, \"\"c\"\"\",,x\n", ','},
		{"semicolon", "id;x;y\na;1.5;\n\"b, \"\"c\"\"\";;x\n", ';'},
		{"tab", "id\tx\ty\na\t1.5\t\n\"b, \"\"c\"\"\"\t\tx\n", '\t'},
		{"crlf", "id,x,y\r\na,1.5,\r\n\"b, \"\"c\"\"\",,x\r\n", ','},
		{"bom and no final newline", "\ufeffid,x,y\na,1.5,\n\"b, \"\"c\"\"\",,x", ','},
		{"semicolon with commas in a quoted header", "\"id,\";x;y\na;1.5;\n\"b, \"\"c\"\"\";;x\n", ';'},
		{"blank lines", "id,x,y\n\na,1.5,\n\n\"b, \"\"c\"\"\",,x\n\n", ','},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := open(t, []byte(c.text))
			if r.Delimiter() != c.delim || r.Format() != table.CSV {
				t.Errorf("delimiter %q format %s, want %q csv", r.Delimiter(), r.Format(), c.delim)
			}
			if h := r.Header(); len(h) != 3 || h[1] != "x" || h[2] != "y" {
				t.Errorf("header = %q", h)
			}
			if got := readAll(t, r); !reflect.DeepEqual(got, want) {
				t.Errorf("records = %q, want %q", got, want)
			}
		})
	}
}

func TestCSVMultilineField(t *testing.T) {
	r := open(t, []byte("id,note,x\n1,\"two\nlines\",3\n2,ok,abc\n"))
	readRec := func() []string {
		rec, err := r.Next()
		if err != nil {
			t.Fatal(err)
		}
		return rec
	}
	if rec := readRec(); rec[1] != "two\nlines" || r.Line() != 2 {
		t.Errorf("record %q at line %d", rec, r.Line())
	}
	readRec()
	// The second record starts on line 4, after the two-line field.
	if err := r.Errorf(2, "bad value"); err.Error() != "in.csv:4:3: bad value" {
		t.Errorf("Errorf = %q", err)
	}
}

// TestCSVImportRules: the rules import reads text by (one splitter): a
// quote inside an unquoted field and text after a closing quote are kept;
// '|' is sniffed like the other delimiters; the header is the first
// non-blank line.
func TestCSVImportRules(t *testing.T) {
	r := open(t, []byte("\n\r\nid|note\n1|x\"y\n2|\"a|b\" c\n"))
	if r.Delimiter() != '|' {
		t.Errorf("delimiter %q", r.Delimiter())
	}
	if got := readAll(t, r); !reflect.DeepEqual(got, [][]string{{"1", "x\"y"}, {"2", "a|b c"}}) {
		t.Errorf("records = %q", got)
	}
	if r.Line() != 5 {
		t.Errorf("last line %d, want 5", r.Line())
	}
}

func TestGzip(t *testing.T) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	io.WriteString(zw, "a;b\n1;2\n3;4\n")
	zw.Close()
	r := open(t, buf.Bytes())
	if r.Format() != table.GzipCSV || r.Delimiter() != ';' {
		t.Errorf("format %s delimiter %q", r.Format(), r.Delimiter())
	}
	if got := readAll(t, r); !reflect.DeepEqual(got, [][]string{{"1", "2"}, {"3", "4"}}) {
		t.Errorf("records = %q", got)
	}
}

func TestCSVErrors(t *testing.T) {
	cases := []struct{ name, text, want string }{
		{"field count", "a,b\n1,2\n3\n", "in.csv:3: record has 1 fields, the header 2"},
		{"unterminated quote", "a,b\n1,2\n1,\"x\n\n", "in.csv:3: unterminated quoted field"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := open(t, []byte(c.text))
			var err error
			for err == nil {
				_, err = r.Next()
			}
			var te *table.Error
			if !errors.As(err, &te) || !strings.HasPrefix(err.Error(), c.want) {
				t.Errorf("err = %v, want prefix %q", err, c.want)
			}
		})
	}
	if _, err := table.Open(bytes.NewReader(nil), 0, "empty.csv"); err == nil || !strings.Contains(err.Error(), "empty.csv: empty table") {
		t.Errorf("empty file: err = %v", err)
	}
}

type prow struct {
	ID    string    `parquet:"id"`
	X     *float64  `parquet:"x,optional"`
	F     float32   `parquet:"f"`
	N     int64     `parquet:"n"`
	B     bool      `parquet:"b"`
	Day   int32     `parquet:"day,date"` // days since 1970-01-01: parquet-go writes a time.Time date wrongly
	Seen  time.Time `parquet:"seen,timestamp(millisecond)"`
	Label *string   `parquet:"label,optional"`
	Small int32     `parquet:"small"`
	Opt   *int64    `parquet:"opt,optional"`
}

func writeParquet(t *testing.T, rows []prow, rowGroupRows int) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[prow](&buf, parquet.MaxRowsPerRowGroup(int64(rowGroupRows)))
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestParquet(t *testing.T) {
	x := 0.1
	lab := "gold"
	day := int32(time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC).Unix() / 86400)
	seen := time.Date(2024, 3, 1, 12, 30, 0, 500e6, time.UTC)
	var rows []prow
	for i := range 1000 {
		r := prow{ID: "c" + string(rune('a'+i%26)), F: 0.1, N: int64(i), B: i%2 == 0, Day: day, Seen: seen, Small: -3}
		if i%3 == 0 {
			r.X, r.Label = &x, &lab
		}
		rows = append(rows, r)
	}
	data := writeParquet(t, rows, 300) // 4 row groups
	r, err := table.Open(bytes.NewReader(data), int64(len(data)), "in.parquet")
	if err != nil {
		t.Fatal(err)
	}
	if r.Format() != table.Parquet {
		t.Errorf("format %s", r.Format())
	}
	wantHeader := []string{"id", "x", "f", "n", "b", "day", "seen", "label", "small", "opt"}
	if !reflect.DeepEqual(r.Header(), wantHeader) {
		t.Errorf("header = %q, want %q", r.Header(), wantHeader)
	}
	got := readAll(t, r)
	if len(got) != 1000 {
		t.Fatalf("%d rows, want 1000", len(got))
	}
	// A FLOAT is printed as the shortest text of the float32 (as DuckDB,
	// Spark and pandas print it), not widened to 0.10000000149011612.
	want0 := []string{"ca", "0.1", "0.1", "0", "true", "2024-02-29", "2024-03-01T12:30:00.5Z", "gold", "-3", ""}
	if !reflect.DeepEqual(got[0], want0) {
		t.Errorf("row 1 = %q, want %q", got[0], want0)
	}
	want1 := []string{"cb", "", "0.1", "1", "false", "2024-02-29", "2024-03-01T12:30:00.5Z", "", "-3", ""}
	if !reflect.DeepEqual(got[1], want1) {
		t.Errorf("row 2 = %q, want %q", got[1], want1)
	}
	if got[999][3] != "999" || r.Line() != 1000 {
		t.Errorf("last row n = %q at row %d", got[999][3], r.Line())
	}
	if err := r.Errorf(1, "bad"); err.Error() != "in.parquet:1000:2: bad" {
		t.Errorf("Errorf = %q", err)
	}
	if f, _ := r.Next(); f != nil {
		t.Error("record after EOF")
	}
	if err := r.Close(); err != nil {
		t.Error(err)
	}
}

func TestOpenFileAndStore(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "t.csv")
	if err := os.WriteFile(p, []byte("a\tb\n1\t2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := table.OpenFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, r); !reflect.DeepEqual(got, [][]string{{"1", "2"}}) {
		t.Errorf("file records = %q", got)
	}
	r.Close()
	if _, err := table.OpenFile(filepath.Join(dir, "missing.csv")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: err = %v", err)
	}

	st, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	data := writeParquet(t, []prow{{ID: "z", N: 7}}, 10)
	if _, err := datasets.PutBytes(t.Context(), st, "in/t.parquet", data, datasets.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	r, err = table.OpenStore(t.Context(), st, "in/t.parquet", "s3://b/in/t.parquet")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if got := readAll(t, r); len(got) != 1 || got[0][0] != "z" || got[0][3] != "7" {
		t.Errorf("store records = %q", got)
	}
	if r.Name() != "s3://b/in/t.parquet" {
		t.Errorf("name = %q", r.Name())
	}
}

// FuzzCSV: any input either fails cleanly or yields records as wide as
// the header.
func FuzzCSV(f *testing.F) {
	f.Add([]byte("a,b\n1,2\n"))
	f.Add([]byte("a;b\r\n\"x;\"\"y\";2\r\n"))
	f.Add([]byte("\ufeffa\tb\n\n1\t\n"))
	f.Add([]byte{0x1f, 0x8b, 0, 0})
	f.Add([]byte("PAR1garbagePAR1"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := table.Open(bytes.NewReader(data), int64(len(data)), "f")
		if err != nil {
			return
		}
		n := len(r.Header())
		for i := 0; i < 10000; i++ {
			rec, err := r.Next()
			if err != nil {
				return
			}
			if len(rec) != n {
				t.Fatalf("record of %d fields, header %d", len(rec), n)
			}
		}
	})
}
