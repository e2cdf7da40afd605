package datasets

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"

	"github.com/klauspost/compress/gzip"
)

// chunkJob is a piece of a source for a parse worker.
type chunkJob[T any] struct {
	data  string     // text chunk (whole records)
	buf   []byte     // the bytes under data, returned to the pool after use
	recs  [][]string // or pre-split records (Parquet)
	line  int64      // line (or row) number of the first record
	nls   int        // newlines in data (counted once, by the reader)
	fatal error      // or the error that ended the stream
	res   chan *chunkResult[T]
}

type chunkResult[T any] struct {
	release func() // returns the chunk's buffer once its rows are written
	rows    []T
	bad     []badRow
	fatal   error
}

type badRow struct {
	err *RowError
	raw string
}

// readText parses a delimited text stream with parallel workers.
func (im *importer[T]) readText(ctx context.Context, src SourceFile, r io.Reader, gz bool) (fileStats, error) {
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReaderSize(r, 64<<10)
	}
	firstLine, err := startText(br)
	if err != nil {
		return fileStats{}, im.streamError(src.Path, 0, err, gz)
	}
	format := im.opts.Format.resolve(src.Path, firstLine)
	size := im.opts.ChunkBytes
	if !gz && src.Size > 0 && src.Size < int64(size) {
		size = int(src.Size) + 1 // small files: no oversized buffer
	}
	cr := newChunkReader(br, format, size)
	cr.alloc = im.chunkBuf
	first, firstBuf, err := cr.next()
	if err != nil && !errors.Is(err, io.EOF) {
		return fileStats{}, im.streamError(src.Path, 0, err, gz)
	}
	data := first
	// The header: the first non-blank record.
	sp := &splitter{format: format}
	pos, line := 0, int64(1)
	var header []string
	var headerLine string
	for pos < len(data) {
		start := pos
		end, nls, blank, err := sp.next(data, pos)
		recLine := line
		pos, line = end, line+int64(nls)
		if blank {
			continue
		}
		if err != nil {
			return fileStats{}, &FileError{Path: src.Path, Line: recLine, Err: err}
		}
		headerLine = strings.TrimRight(data[start:end], "\r\n")
		header = make([]string, len(sp.fields))
		for i, f := range sp.fields {
			header[i] = strings.Clone(f) // the chunk's bytes are reused
		}
		if im.opts.NoHeader {
			pos, line = start, recLine
		}
		break
	}
	if header == nil {
		return fileStats{}, &FileError{Path: src.Path, Err: errors.New("empty file: no header and no lines")}
	}
	nfields := len(header)
	if im.opts.NoHeader {
		header = nil
	} else {
		for i := range header {
			header[i] = strings.TrimSpace(header[i])
		}
	}
	p, err := im.newPlan(src.Path, format, header, nfields, headerLine)
	if err != nil {
		return fileStats{}, err
	}

	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan *chunkJob[T], im.opts.Workers)
	order := make(chan *chunkJob[T], 2*im.opts.Workers)
	var wg sync.WaitGroup
	for range im.opts.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pw := p.newWorker()
			for j := range jobs {
				j.res <- pw.parse(j)
			}
		}()
	}
	go func() {
		defer close(jobs)
		defer close(order)
		send := func(j *chunkJob[T]) bool {
			j.res = make(chan *chunkResult[T], 1)
			select {
			case order <- j:
			case <-pctx.Done():
				return false
			}
			if j.fatal != nil {
				j.res <- &chunkResult[T]{fatal: j.fatal}
				return true
			}
			select {
			case jobs <- j:
			case <-pctx.Done():
				return false
			}
			return true
		}
		nls := strings.Count(data[pos:], "\n")
		if !send(&chunkJob[T]{data: data[pos:], buf: firstBuf, line: line, nls: nls}) {
			return
		}
		line += int64(nls)
		for {
			s, buf, err := cr.next()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				send(&chunkJob[T]{fatal: im.streamError(src.Path, line-1, err, gz)})
				return
			}
			nls := strings.Count(s, "\n")
			if !send(&chunkJob[T]{data: s, buf: buf, line: line, nls: nls}) {
				return
			}
			line += int64(nls)
		}
	}()
	stats, err := im.collect(ctx, pctx, order)
	cancel()
	for range order {
	}
	wg.Wait()
	return stats, err
}

func (im *importer[T]) streamError(path string, lastLine int64, err error, gz bool) error {
	if gz && (errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, gzip.ErrChecksum) || errors.Is(err, gzip.ErrHeader)) {
		return &FileError{Path: path, Line: lastLine, Err: fmt.Errorf("truncated or corrupt gzip stream (%v): line %d is the last complete line", err, lastLine)}
	}
	return &FileError{Path: path, Line: lastLine, Err: fmt.Errorf("read: %w", err)}
}

// collect takes parsed chunks in source order: counts bad lines against
// the limit, writes rejects, and hands rows to the writer.
// ctx is the import's, pctx the file pipeline's.
func (im *importer[T]) collect(ctx, pctx context.Context, order <-chan *chunkJob[T]) (fileStats, error) {
	var st fileStats
	for j := range order {
		var res *chunkResult[T]
		select {
		case res = <-j.res:
		case <-pctx.Done():
			return st, pctx.Err()
		}
		if err := im.accept(ctx, res, &st); err != nil {
			return st, err
		}
	}
	return st, ctx.Err()
}

// accept takes one parsed chunk, in source order.
func (im *importer[T]) accept(ctx context.Context, res *chunkResult[T], st *fileStats) error {
	for _, b := range res.bad {
		im.bad++
		st.rejected++
		if im.first == nil {
			im.first = b.err
		}
		if im.rejects != nil {
			e := b.err
			im.rejects.Write([]string{e.Path, strconv.FormatInt(e.Line, 10), strconv.Itoa(e.Field), e.Column, e.Value, e.Reason, b.raw})
		}
		if im.bad > int64(im.opts.MaxBadRows) {
			return &BadRowsError{First: im.first, Count: im.bad, Max: im.opts.MaxBadRows}
		}
	}
	if res.fatal != nil {
		return res.fatal
	}
	// The writer drops forgotten customers' rows (docs/PRIVACY.md).
	n := int64(len(res.rows))
	dropped, err := im.w.writeOwned(ctx, res.rows, res.release)
	st.rows += n - dropped
	st.suppressed += dropped
	return err
}
