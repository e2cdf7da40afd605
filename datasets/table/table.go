// Package table streams the rows of a table file as text: CSV (with its
// delimiter detected, optionally gzip-compressed) or Parquet, from a local
// file or a datasets.Store. It is what `prevoir models predict`, the
// trainer's --table input and the GBDT reference check read tables with.
//
// The format is recognised by the file's first bytes, never by its name:
// "PAR1" is Parquet, 1f 8b is a gzip-compressed CSV, anything else is CSV.
//
// CSV: the first line is the header. Its delimiter is detected from the
// header line, outside quotes, among ',' ';' and tab (the most frequent
// wins; ',' when none occurs). Fields may be quoted with '"' (a quoted
// field may hold delimiters, doubled quotes and line breaks); lines end in
// LF or CRLF; a UTF-8 byte order mark is skipped; blank lines are skipped;
// every record must have as many fields as the header.
//
// Parquet: the columns are the schema's top-level fields, which must be
// flat (no groups, no repeated fields). Values become text through
// datasets.ParquetText, the conversion import uses too: integers in
// decimal (unsigned ones as unsigned), DECIMAL in plain decimal notation,
// DATE as 2006-01-02, TIMESTAMP and INT96 in ISO 8601 (Z when adjusted to
// UTC), floating point in the shortest form that reads back as the stored
// float32 or float64, booleans as true/false, UUID in 8-4-4-4-12 form,
// strings as they are. Rows are read a row group at a time, a few hundred
// rows per read: memory is bounded by the row group's pages, never by the
// whole file.
//
// In both formats an empty cell, or a Parquet null, is the empty string:
// a missing value.
//
// Errors name their place as file:line:column: for CSV, line is the
// file's line (the header is line 1) and column the 1-based field number
// (for a CSV syntax error, the byte column as encoding/csv reports it);
// for Parquet, line is the 1-based row number.
package table

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/prevoir/prevoir/datasets"
)

// Format is a table file's format.
type Format string

// Formats.
const (
	CSV     Format = "csv"
	GzipCSV Format = "csv.gz"
	Parquet Format = "parquet"
)

// Error is a problem at a place in a table: Error() is
// "file:line:column: message" (column omitted when 0, line when 0).
type Error struct {
	File   string
	Line   int
	Column int
	Err    error
}

func (e *Error) Error() string {
	switch {
	case e.Line == 0:
		return fmt.Sprintf("%s: %v", e.File, e.Err)
	case e.Column == 0:
		return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
	}
	return fmt.Sprintf("%s:%d:%d: %v", e.File, e.Line, e.Column, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// source is one format's reader.
type source interface {
	header() []string
	// next returns the next record, or io.EOF.
	next() ([]string, error)
	// pos returns the line (CSV) or row (Parquet) of the last record's
	// field col (0-based), and the column to report.
	pos(col int) (line, column int)
	close() error
}

// Reader streams a table's records. It is not safe for concurrent use.
type Reader struct {
	name   string
	format Format
	delim  rune
	src    source
	closer io.Closer
	rows   int
}

// Open reads the table held by r (size bytes). name is used in error
// messages (a path or URL).
func Open(r io.ReaderAt, size int64, name string) (*Reader, error) {
	var magic [4]byte
	n, err := r.ReadAt(magic[:], 0)
	if err != nil && err != io.EOF {
		return nil, &Error{File: name, Err: err}
	}
	t := &Reader{name: name}
	switch {
	case n == 4 && string(magic[:]) == "PAR1":
		t.format = Parquet
		t.src, err = openParquet(r, size)
	case n >= 2 && magic[0] == 0x1f && magic[1] == 0x8b:
		t.format = GzipCSV
		var zr *gzip.Reader
		zr, err = gzip.NewReader(io.NewSectionReader(r, 0, size))
		if err == nil {
			var c *csvSource
			c, err = openCSV(zr)
			t.src = c
			if c != nil {
				t.delim = c.r.Comma
			}
		}
	default:
		t.format = CSV
		var c *csvSource
		c, err = openCSV(io.NewSectionReader(r, 0, size))
		t.src = c
		if c != nil {
			t.delim = c.r.Comma
		}
	}
	if err != nil {
		return nil, t.wrap(err)
	}
	return t, nil
}

// OpenFile opens the table in a local file; Close closes the file.
func OpenFile(path string) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if fi.IsDir() {
		f.Close()
		return nil, fmt.Errorf("%s: is a directory, not a table file", path)
	}
	t, err := Open(f, fi.Size(), path)
	if err != nil {
		f.Close()
		return nil, err
	}
	t.closer = f
	return t, nil
}

// OpenStore opens the table stored under key; Close closes the object.
// name is used in error messages (for instance s3://bucket/key); empty
// means key.
func OpenStore(ctx context.Context, st datasets.Store, key, name string) (*Reader, error) {
	if name == "" {
		name = key
	}
	o, err := st.Open(ctx, key)
	if err != nil {
		return nil, err
	}
	t, err := Open(o, o.Size(), name)
	if err != nil {
		o.Close()
		return nil, err
	}
	t.closer = o
	return t, nil
}

// Name is the name given to Open.
func (t *Reader) Name() string { return t.name }

// Format is the table's format.
func (t *Reader) Format() Format { return t.format }

// Delimiter is a CSV table's field delimiter (0 for Parquet).
func (t *Reader) Delimiter() rune { return t.delim }

// Header returns the column names. Callers must not change it.
func (t *Reader) Header() []string { return t.src.header() }

// Next returns the next record, one string per header column, "" for a
// missing value; io.EOF after the last. The record is valid until the
// next call: copy what must outlive it. Other errors are *Error.
func (t *Reader) Next() ([]string, error) {
	rec, err := t.src.next()
	if err != nil {
		if err == io.EOF {
			return nil, io.EOF
		}
		return nil, t.wrap(err)
	}
	t.rows++
	return rec, nil
}

// Rows is the number of records Next has returned.
func (t *Reader) Rows() int { return t.rows }

// Line is the line (CSV) or row number (Parquet) of the last record.
func (t *Reader) Line() int {
	l, _ := t.src.pos(0)
	return l
}

// Errorf returns an *Error placed at field col (0-based) of the last
// record, for problems with its values.
func (t *Reader) Errorf(col int, format string, args ...any) error {
	line, column := t.src.pos(col)
	return &Error{File: t.name, Line: line, Column: column, Err: fmt.Errorf(format, args...)}
}

// At wraps err as an *Error placed at field col (0-based) of the last
// record.
func (t *Reader) At(col int, err error) error {
	line, column := t.src.pos(col)
	return &Error{File: t.name, Line: line, Column: column, Err: err}
}

// Close releases the table and what it was opened from by OpenFile or
// OpenStore.
func (t *Reader) Close() error {
	err := t.src.close()
	if t.closer != nil {
		if cerr := t.closer.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

// wrap places an error of a source in the file.
func (t *Reader) wrap(err error) error {
	var te *Error
	if errors.As(err, &te) {
		if te.File == "" {
			te.File = t.name
		}
		return te
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		if errors.Is(pe.Err, csv.ErrFieldCount) {
			return &Error{File: t.name, Line: pe.StartLine, Err: fmt.Errorf("record has a different number of fields than the header (%d)", len(t.src.header()))}
		}
		return &Error{File: t.name, Line: pe.Line, Column: pe.Column, Err: pe.Err}
	}
	return &Error{File: t.name, Err: err}
}

// csvSource reads CSV text.
type csvSource struct {
	r      *csv.Reader
	hdr    []string
	fields int
}

func openCSV(r io.Reader) (*csvSource, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	// Skip a UTF-8 byte order mark.
	if b, err := br.Peek(3); err == nil && bytes.Equal(b, []byte{0xef, 0xbb, 0xbf}) {
		br.Discard(3)
	}
	delim, err := detectDelimiter(br)
	if err != nil {
		return nil, err
	}
	cr := csv.NewReader(br)
	cr.Comma = delim
	cr.ReuseRecord = true
	hdr, err := cr.Read()
	if err == io.EOF {
		return nil, errors.New("empty table: no header line")
	}
	if err != nil {
		return nil, err
	}
	hdr = append([]string(nil), hdr...)
	return &csvSource{r: cr, hdr: hdr, fields: len(hdr)}, nil
}

// detectDelimiter counts ',' ';' and tab outside quotes in the first line
// (peeked, not consumed; at most the buffer's 64 KiB) and returns the most
// frequent, ',' if none.
func detectDelimiter(br *bufio.Reader) (rune, error) {
	var line []byte
	for n := 4096; ; n *= 2 {
		n = min(n, br.Size())
		b, err := br.Peek(n)
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line = b[:i]
			break
		}
		if err != nil || n == br.Size() {
			if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
				return 0, err
			}
			line = b // one line only, or longer than the buffer: judge by what we have
			break
		}
	}
	counts := map[byte]int{}
	quoted := false
	for _, c := range line {
		switch {
		case c == '"':
			quoted = !quoted
		case !quoted && (c == ',' || c == ';' || c == '\t'):
			counts[c]++
		}
	}
	best, bestN := byte(','), 0
	for _, c := range []byte{',', ';', '\t'} { // ties go to the earlier
		if counts[c] > bestN {
			best, bestN = c, counts[c]
		}
	}
	return rune(best), nil
}

func (c *csvSource) header() []string { return c.hdr }

func (c *csvSource) next() ([]string, error) {
	rec, err := c.r.Read()
	if err != nil {
		return nil, err
	}
	if len(rec) != c.fields { // FieldsPerRecord covers it; keep the promise
		line, _ := c.r.FieldPos(0)
		return nil, &Error{Line: line, Err: fmt.Errorf("record has %d fields, the header %d", len(rec), c.fields)}
	}
	return rec, nil
}

func (c *csvSource) pos(col int) (int, int) {
	if col < 0 || col >= c.fields {
		col = 0
	}
	line, _ := c.r.FieldPos(col)
	return line, col + 1
}

func (c *csvSource) close() error { return nil }
