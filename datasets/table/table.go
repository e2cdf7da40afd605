// Package table streams the rows of a table file as text: CSV (with its
// delimiter detected, optionally gzip-compressed) or Parquet, from a local
// file or a datasets.Store. It is what `prevoir models predict`, the
// trainer's --table input and the GBDT reference check read tables with.
//
// The format is recognised by the file's first bytes, never by its name:
// "PAR1" is Parquet, 1f 8b is a gzip-compressed CSV, anything else is CSV.
//
// CSV: read by datasets.TextReader, with the rules and the delimiter
// detection of import (datasets.SniffDelimiter): the first non-blank line
// is the header; its delimiter is the most frequent of ',' ';' tab and '|'
// outside quotes (',' when none occurs). Fields may be quoted with '"' (a
// quoted field may hold delimiters, doubled quotes and line breaks; text
// after a closing quote is kept); lines end in LF or CRLF; a UTF-8 byte
// order mark is skipped; blank lines are skipped; every record must have
// as many fields as the header.
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
// Errors are *Error (datasets.FileError, the one form of file errors):
// file:line:column, where line is the file's line for CSV (the header is
// line 1; a record's first line) and the 1-based row number for Parquet,
// and column the 1-based field number.
package table

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/klauspost/compress/gzip"

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
type Error = datasets.FileError

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
	delim  byte
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
		return nil, &Error{Path: name, Err: err}
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
			t.src, err = openCSV(zr, name)
		}
	default:
		t.format = CSV
		t.src, err = openCSV(io.NewSectionReader(r, 0, size), name)
	}
	if err != nil {
		return nil, t.wrap(err)
	}
	if c, ok := t.src.(*csvSource); ok {
		t.delim = c.r.Format().Delimiter
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
func (t *Reader) Delimiter() rune { return rune(t.delim) }

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
	return &Error{Path: t.name, Line: int64(line), Column: column, Err: fmt.Errorf(format, args...)}
}

// At wraps err as an *Error placed at field col (0-based) of the last
// record.
func (t *Reader) At(col int, err error) error {
	line, column := t.src.pos(col)
	return &Error{Path: t.name, Line: int64(line), Column: column, Err: err}
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
		if te.Path == "" {
			te.Path = t.name
		}
		return te
	}
	return &Error{Path: t.name, Err: err}
}

// csvSource reads delimited text through datasets.TextReader.
type csvSource struct {
	r      *datasets.TextReader
	hdr    []string
	fields int
}

func openCSV(r io.Reader, name string) (*csvSource, error) {
	tr, err := datasets.NewTextReader(r, name, datasets.TextFormat{})
	if err != nil {
		return nil, err
	}
	hdr, err := tr.Read()
	if err == io.EOF {
		return nil, errors.New("empty table: no header line")
	}
	if err != nil {
		return nil, err
	}
	hdr = append([]string(nil), hdr...)
	return &csvSource{r: tr, hdr: hdr, fields: len(hdr)}, nil
}

func (c *csvSource) header() []string { return c.hdr }

func (c *csvSource) next() ([]string, error) {
	rec, err := c.r.Read()
	if err != nil {
		return nil, err
	}
	if len(rec) != c.fields {
		return nil, &Error{Line: c.r.Line(), Err: fmt.Errorf("record has %d fields, the header %d", len(rec), c.fields)}
	}
	return rec, nil
}

func (c *csvSource) pos(col int) (int, int) {
	if col < 0 || col >= c.fields {
		col = 0
	}
	return int(c.r.Line()), col + 1
}

func (c *csvSource) close() error { return nil }
