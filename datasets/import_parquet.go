package datasets

import (
	"context"
	"fmt"
	"io"
	"math/big"
	"strconv"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
)

// readParquet imports a Parquet source: its top-level columns are the
// header, each row a record; typed times need no --time-format.
func (im *importer[T]) readParquet(ctx context.Context, src SourceFile, ra io.ReaderAt, size int64) (stats fileStats, err error) {
	var f *parquet.File
	if err := Guard("", func() (err error) {
		f, err = parquet.OpenFile(ra, size)
		return err
	}); err != nil {
		return stats, &FileError{Path: src.Path, Err: fmt.Errorf("not a readable Parquet file: %v", err)}
	}
	// Top-level leaf columns only.
	type col struct {
		name  string
		index int
		conv  func(parquet.Value) string
		iso   bool
	}
	var cols []col
	byIndex := map[int]int{}
	for i, path := range f.Schema().Columns() {
		if len(path) != 1 {
			continue
		}
		leaf, _ := f.Schema().Lookup(path...)
		conv, iso := valueText(leaf.Node.Type())
		byIndex[i] = len(cols)
		cols = append(cols, col{name: path[0], index: i, conv: conv, iso: iso})
	}
	header := make([]string, len(cols))
	for i, c := range cols {
		header[i] = c.name
	}
	if len(header) == 0 {
		return stats, &FileError{Path: src.Path, Err: fmt.Errorf("no top-level columns")}
	}
	p, err := im.newPlan(src.Path, header, len(header), "")
	if err != nil {
		return stats, err
	}
	for i := range p.bindings {
		p.bindings[i].iso = cols[p.bindings[i].src].iso
	}
	w := p.newWorker()
	line := int64(1)
	buf := make([]parquet.Row, 1024)
	for _, rg := range f.RowGroups() {
		rows := rg.Rows()
		for {
			if err := ctx.Err(); err != nil {
				rows.Close()
				return stats, err
			}
			var n int
			var rerr error
			if perr := Guard("read rows", func() error {
				n, rerr = rows.ReadRows(buf)
				return nil
			}); perr != nil {
				rows.Close()
				return stats, &FileError{Path: src.Path, Line: line, Err: perr}
			}
			if n > 0 {
				recs := make([][]string, n)
				for r := 0; r < n; r++ {
					rec := make([]string, len(cols))
					for _, v := range buf[r] {
						if k, ok := byIndex[v.Column()]; ok && !v.IsNull() {
							rec[k] = cols[k].conv(v)
						}
					}
					recs[r] = rec
				}
				res := w.parse(&chunkJob[T]{recs: recs, line: line})
				line += int64(n)
				if err := im.accept(ctx, res, &stats); err != nil {
					rows.Close()
					return stats, err
				}
			}
			if rerr == io.EOF {
				break
			}
			if rerr != nil {
				rows.Close()
				return stats, &FileError{Path: src.Path, Line: line, Err: rerr}
			}
		}
		rows.Close()
	}
	return stats, nil
}

// valueText returns how a Parquet value of type t becomes source text,
// and whether that text is an ISO 8601 time.
func valueText(t parquet.Type) (func(parquet.Value) string, bool) {
	var lv format.LogicalTypeValue
	if lt := t.LogicalType(); lt != nil {
		lv = lt.Value
	}
	switch l := lv.(type) {
	case *format.TimestampType:
		unit := time.Microsecond
		if l.Unit.Value != nil {
			unit = l.Unit.Value.Duration()
		}
		toTime := func(v parquet.Value) time.Time {
			x := v.Int64()
			switch unit {
			case time.Millisecond:
				return time.UnixMilli(x)
			case time.Nanosecond:
				return time.Unix(0, x)
			}
			return time.UnixMicro(x)
		}
		if l.IsAdjustedToUTC {
			return func(v parquet.Value) string { return toTime(v).UTC().Format("2006-01-02T15:04:05.999999999Z") }, true
		}
		return func(v parquet.Value) string { return toTime(v).UTC().Format("2006-01-02T15:04:05.999999999") }, true
	case *format.DateType:
		return func(v parquet.Value) string {
			return time.Unix(int64(v.Int32())*86400, 0).UTC().Format("2006-01-02")
		}, true
	case *format.DecimalType:
		if t.Kind() == parquet.Int32 || t.Kind() == parquet.Int64 {
			scale := int(l.Scale)
			den := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil)
			return func(v parquet.Value) string {
				x := v.Int64()
				if t.Kind() == parquet.Int32 {
					x = int64(v.Int32())
				}
				return new(big.Rat).SetFrac(big.NewInt(x), den).FloatString(scale)
			}, false
		}
	}
	switch t.Kind() {
	case parquet.Boolean:
		return func(v parquet.Value) string { return strconv.FormatBool(v.Boolean()) }, false
	case parquet.Int32:
		return func(v parquet.Value) string { return strconv.FormatInt(int64(v.Int32()), 10) }, false
	case parquet.Int64:
		return func(v parquet.Value) string { return strconv.FormatInt(v.Int64(), 10) }, false
	case parquet.Float:
		return func(v parquet.Value) string { return strconv.FormatFloat(float64(v.Float()), 'g', -1, 32) }, false
	case parquet.Double:
		return func(v parquet.Value) string { return strconv.FormatFloat(v.Double(), 'g', -1, 64) }, false
	}
	return func(v parquet.Value) string { return string(v.ByteArray()) }, false
}
