package publish

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strconv"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"

	"github.com/prevoir/prevoir/datasets"
)

// parquetSchema is the Parquet schema of cols, in order, every column
// optional (a null is a missing value).
func parquetSchema(cols []Column) *parquet.Schema {
	fields := make([]reflect.StructField, len(cols))
	for i, c := range cols {
		var typ reflect.Type
		switch c.Type {
		case TypeString:
			typ = reflect.TypeOf("")
		case TypeInt64:
			typ = reflect.TypeOf(int64(0))
		default:
			typ = reflect.TypeOf(float64(0))
		}
		fields[i] = reflect.StructField{Name: fmt.Sprintf("F%d", i), Type: typ, Tag: reflect.StructTag(`parquet:"` + c.Name + `,optional"`)}
	}
	return parquet.SchemaOf(reflect.New(reflect.StructOf(fields)).Interface())
}

func encodeParquet(cols []Column, rows [][]any) ([]byte, error) {
	var buf bytes.Buffer
	w := parquet.NewWriter(&buf, parquetSchema(cols),
		parquet.Compression(&zstd.Codec{Level: zstd.SpeedFastest}),
		parquet.MaxRowsPerRowGroup(1<<17),
		parquet.CreatedBy("prevoir", "", ""),
	)
	batch := make([]parquet.Row, 0, 256)
	for i, r := range rows {
		row := make(parquet.Row, len(cols))
		for j := range cols {
			var v parquet.Value
			def := 1
			switch x := r[j].(type) {
			case nil:
				v, def = parquet.NullValue(), 0
			case string:
				v = parquet.ByteArrayValue([]byte(x))
			case int64:
				v = parquet.Int64Value(x)
			case float64:
				v = parquet.DoubleValue(x)
			}
			row[j] = v.Level(0, def, j)
		}
		batch = append(batch, row)
		if len(batch) == cap(batch) || i == len(rows)-1 {
			if _, err := w.WriteRows(batch); err != nil {
				return nil, err
			}
			batch = batch[:0]
		}
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// formatValue writes a value as CSV text: numbers with a dot and the
// fewest digits that read back to the same float64, nulls empty.
func formatValue(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	return fmt.Sprint(v)
}

func encodeCSV(cols []Column, rows [][]any) ([]byte, error) {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	rec := make([]string, len(cols))
	for i, c := range cols {
		rec[i] = c.Name
	}
	w.Write(rec)
	for _, r := range rows {
		for j := range cols {
			rec[j] = formatValue(r[j])
		}
		w.Write(rec)
	}
	w.Flush()
	return buf.Bytes(), w.Error()
}

// readPart streams a part's rows to fn, by cols (nil for a null). It
// checks the part's size and checksum against the manifest first.
func readPart(ctx context.Context, st datasets.Store, format string, cols []Column, p Part, fn func(row []any) error) error {
	b, err := datasets.ReadAll(ctx, st, p.Key)
	if err != nil {
		return fmt.Errorf("read %s: %w", p.Key, err)
	}
	if int64(len(b)) != p.Bytes || SHA256Hex(b) != p.SHA256 {
		return fmt.Errorf("read %s: %d bytes that do not match the manifest's checksum (%d bytes): the part was changed", p.Key, len(b), p.Bytes)
	}
	var n int64
	count := func(row []any) error { n++; return fn(row) }
	if format == FormatCSV {
		err = decodeCSV(b, cols, count)
	} else {
		err = datasets.Guard("parquet "+p.Key, func() error { return decodeParquet(b, cols, count) })
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", p.Key, err)
	}
	if n != p.Rows {
		return fmt.Errorf("read %s: %d rows, the manifest says %d", p.Key, n, p.Rows)
	}
	return nil
}

// errNoColumn is returned when a part lacks a column it is read for.
var errNoColumn = errors.New("no such column")

// decodeCSV streams a CSV part's rows to fn, holding the values of cols
// (found by name in the part's header) converted to their types.
func decodeCSV(b []byte, cols []Column, fn func(row []any) error) error {
	r := csv.NewReader(bytes.NewReader(b))
	r.ReuseRecord = true
	header, err := r.Read()
	if err != nil {
		return err
	}
	idx := make([]int, len(cols))
	for i, c := range cols {
		if idx[i] = slices.Index(header, c.Name); idx[i] < 0 {
			return fmt.Errorf("%w %q", errNoColumn, c.Name)
		}
	}
	row := make([]any, len(cols))
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		for i, c := range cols {
			s := rec[idx[i]]
			switch {
			case c.Type == TypeString:
				row[i] = s
			case s == "":
				row[i] = nil
			case c.Type == TypeInt64:
				if row[i], err = strconv.ParseInt(s, 10, 64); err != nil {
					return fmt.Errorf("column %q: %w", c.Name, err)
				}
			default:
				if row[i], err = strconv.ParseFloat(s, 64); err != nil {
					return fmt.Errorf("column %q: %w", c.Name, err)
				}
			}
		}
		if err := fn(row); err != nil {
			return err
		}
	}
}

func decodeParquet(b []byte, cols []Column, fn func(row []any) error) error {
	f, err := parquet.OpenFile(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return err
	}
	pos := make([]int, len(cols))
	for i, c := range cols {
		leaf, ok := f.Schema().Lookup(c.Name)
		if !ok {
			return fmt.Errorf("%w %q", errNoColumn, c.Name)
		}
		pos[i] = leaf.ColumnIndex
	}
	rr := parquet.NewReader(f)
	defer rr.Close()
	buf := make([]parquet.Row, 256)
	row := make([]any, len(cols))
	byCol := make([]parquet.Value, len(f.Schema().Columns()))
	for {
		n, err := rr.ReadRows(buf)
		for _, r := range buf[:n] {
			for _, v := range r {
				byCol[v.Column()] = v
			}
			for i, c := range cols {
				v := byCol[pos[i]]
				switch {
				case v.IsNull():
					row[i] = nil
				case c.Type == TypeString:
					row[i] = string(v.ByteArray())
				case c.Type == TypeInt64:
					row[i] = v.Int64()
				default:
					row[i] = v.Double()
				}
			}
			if err := fn(row); err != nil {
				return err
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
