package table

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/parquet-go/parquet-go"

	"github.com/prevoir/prevoir/datasets"
)

// parquetBatch is how many rows one ReadRows call decodes.
const parquetBatch = 256

// parquetSource reads a Parquet file row group by row group.
type parquetSource struct {
	f      *parquet.File
	hdr    []string
	conv   []func(parquet.Value) string
	groups []parquet.RowGroup
	group  int          // index of the row group being read
	rows   parquet.Rows // of groups[group-1]; nil before the first
	buf    []parquet.Row
	n, i   int // rows in buf, next row in buf
	rec    []string
	row    int // 1-based number of the last row returned
}

// maxFooter bounds a Parquet footer (its metadata) before it is decoded.
const maxFooter = 64 << 20

func openParquet(r io.ReaderAt, size int64) (*parquetSource, error) {
	// Check the trailer before parquet-go sizes buffers from it.
	var tail [8]byte
	if size < 12 {
		return nil, errors.New("parquet: file too short")
	}
	if _, err := r.ReadAt(tail[:], size-8); err != nil {
		return nil, fmt.Errorf("parquet: %w", err)
	}
	if string(tail[4:]) != "PAR1" {
		return nil, errors.New("parquet: no PAR1 trailer (truncated file?)")
	}
	if n := int64(binary.LittleEndian.Uint32(tail[:4])); n > size-12 || n > maxFooter {
		return nil, fmt.Errorf("parquet: footer of %d bytes in a file of %d", n, size)
	}
	var f *parquet.File
	err := datasets.Guard("parquet: open", func() (err error) {
		f, err = parquet.OpenFile(r, size, parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("parquet: %w", err)
	}
	fields := f.Schema().Fields()
	p := &parquetSource{f: f, groups: f.RowGroups(), buf: make([]parquet.Row, parquetBatch)}
	for _, fd := range fields {
		if !fd.Leaf() || fd.Repeated() {
			return nil, fmt.Errorf("parquet: column %q is nested or repeated; only flat tables are read", fd.Name())
		}
		p.hdr = append(p.hdr, fd.Name())
		conv, _ := datasets.ParquetText(fd.Type())
		p.conv = append(p.conv, conv)
	}
	if len(p.hdr) == 0 {
		return nil, errors.New("parquet: the schema has no columns")
	}
	p.rec = make([]string, len(p.hdr))
	return p, nil
}

func (p *parquetSource) header() []string { return p.hdr }

func (p *parquetSource) next() ([]string, error) {
	for p.i >= p.n {
		if err := p.fill(); err != nil {
			return nil, err
		}
	}
	row := p.buf[p.i]
	p.i++
	p.row++
	for c := range p.rec {
		p.rec[c] = ""
	}
	for _, v := range row {
		c := v.Column()
		if c < 0 || c >= len(p.rec) {
			return nil, &Error{Line: int64(p.row), Err: fmt.Errorf("parquet: value of unknown column %d", c)}
		}
		if !v.IsNull() {
			p.rec[c] = p.conv[c](v)
		}
	}
	return p.rec, nil
}

// fill decodes the next rows into buf, moving to the next row group when
// one is exhausted; io.EOF after the last.
func (p *parquetSource) fill() error {
	p.i, p.n = 0, 0
	for {
		if p.rows == nil {
			if p.group >= len(p.groups) {
				return io.EOF
			}
			p.rows = p.groups[p.group].Rows()
			p.group++
		}
		var n int
		var err error
		if perr := datasets.Guard("parquet: read rows", func() error { n, err = p.rows.ReadRows(p.buf); return nil }); perr != nil {
			err = perr
		}
		p.n = n
		if err == io.EOF {
			p.rows.Close()
			p.rows = nil
			err = nil
		}
		if err != nil {
			return &Error{Line: int64(p.row + 1), Err: fmt.Errorf("parquet: row group %d: %w", p.group, err)}
		}
		if n > 0 {
			return nil
		}
	}
}

func (p *parquetSource) pos(col int) (int, int) {
	if col < 0 || col >= len(p.hdr) {
		col = 0
	}
	return p.row, col + 1
}

func (p *parquetSource) close() error {
	if p.rows != nil {
		err := p.rows.Close()
		p.rows = nil
		return err
	}
	return nil
}
