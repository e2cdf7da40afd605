package datasets

import (
	"context"
	"fmt"
	"io"

	"github.com/parquet-go/parquet-go"
)

// readParquet imports a Parquet source: its top-level columns are the
// header, each row a record; typed times need no --time-format.
func (im *importer[T]) readParquet(ctx context.Context, src SourceFile, ra io.ReaderAt, size int64) (stats fileStats, err error) {
	var f *parquet.File
	err = Guard("open Parquet", func() (err error) { f, err = parquet.OpenFile(ra, size); return err })
	if err != nil {
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
		conv, iso := ParquetText(leaf.Node.Type())
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
	p, err := im.newPlan(src.Path, TextFormat{}, header, len(header), "")
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
			if perr := Guard("read Parquet rows", func() error { n, rerr = rows.ReadRows(buf); return nil }); perr != nil {
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
