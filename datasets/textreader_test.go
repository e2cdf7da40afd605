package datasets

import (
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

type textRecord struct {
	line   int64
	fields []string
}

func readText(t *testing.T, text string, size int) ([]textRecord, TextFormat, error) {
	t.Helper()
	r, err := newTextReader(strings.NewReader(text), "in.csv", TextFormat{}, size)
	if err != nil {
		return nil, TextFormat{}, err
	}
	var out []textRecord
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return out, r.Format(), nil
		}
		if err != nil {
			return out, r.Format(), err
		}
		out = append(out, textRecord{r.Line(), append([]string(nil), rec...)})
	}
}

func TestTextReader(t *testing.T) {
	text := "\ufeffid;note;x\r\n\r\n1;\"two\nlines; \"\"q\"\"\";3\r\n2;plain;\n"
	got, f, err := readText(t, text, 64<<10)
	if err != nil {
		t.Fatal(err)
	}
	want := []textRecord{{1, []string{"id", "note", "x"}}, {3, []string{"1", "two\nlines; \"q\"", "3"}}, {5, []string{"2", "plain", ""}}}
	if f.Delimiter != ';' || !reflect.DeepEqual(got, want) {
		t.Errorf("format %q records %+v, want %+v", f.Delimiter, got, want)
	}
	_, _, err = readText(t, "a,b\n1,\"open\n", 64<<10)
	var fe *FileError
	if !errors.As(err, &fe) || fe.Line != 2 || !errors.Is(err, errUnterminatedQuote) || err.Error() != "in.csv:2: unterminated quoted field" {
		t.Errorf("unterminated quote: %v", err)
	}
}

func TestSniffDelimiter(t *testing.T) {
	for line, want := range map[string]byte{
		"a,b,c": ',', "a;b;c": ';', "a\tb": '\t', "a|b|c": '|', "a": 0,
		`"x;y;z",b`: ',', "a,b;c;d": ';', "a;b,c": ',', // ties to the earlier
	} {
		if got, _ := SniffDelimiter(line); got != want {
			t.Errorf("SniffDelimiter(%q) = %q, want %q", line, got, want)
		}
	}
	for name, want := range map[string]byte{"x.tsv": '\t', "x.TSV.gz": '\t', "x.csv": ','} {
		if got := (TextFormat{}).resolve(name, "a,b\tc"); got.Delimiter != want {
			t.Errorf("resolve(%s) = %q, want %q", name, got.Delimiter, want)
		}
	}
	if got := (TextFormat{Delimiter: '|'}).resolve("x.csv", "a,b,c"); got.Delimiter != '|' {
		t.Errorf("a given delimiter is kept: %q", got.Delimiter)
	}
}

// FuzzTextReader: records and their lines do not depend on where the
// text is cut into chunks (quotes spanning a chunk boundary included).
func FuzzTextReader(f *testing.F) {
	f.Add("a,b\n1,\"x\ny\"\n2,3\n")
	f.Add("\ufeffa;b\r\n\r\n\"q\"\"\";z\r\n")
	f.Add("a|b\n\"unterminated\n")
	f.Fuzz(func(t *testing.T, text string) {
		big, bf, berr := readText(t, text, 64<<10)
		small, sf, serr := readText(t, text, 5)
		if bf != sf || (berr == nil) != (serr == nil) || !reflect.DeepEqual(big, small) {
			t.Fatalf("chunks of 64 KiB: %+v %v %v\nchunks of 5 bytes: %+v %v %v", big, bf, berr, small, sf, serr)
		}
	})
}
