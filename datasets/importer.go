package datasets

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"math"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"
)

// ImportOptions configures Import. Zero fields take the defaults.
type ImportOptions struct {
	// Dataset names the dataset to import into (required).
	Dataset string
	// Table is the canonical table the sources hold (default "orders").
	Table string
	// Map maps canonical column names to source columns: a header name,
	// or "#N" for the N-th column (1-based). A canonical column without an
	// entry maps to the source column of the same name, if any.
	Map map[string]string
	// Format says how text sources split into fields. A zero Delimiter
	// means ',' (or '\t' for a .tsv or .tsv.gz file).
	Format TextFormat
	// NoHeader says the text sources have no header line: map with "#N".
	NoHeader bool
	// TimeFormat is a Go time layout for every time column; empty accepts
	// ISO 8601 only (see CheckTimeLayout).
	TimeFormat string
	// TZ is the IANA zone naive times are read in (default UTC). It must
	// equal the dataset's when appending.
	TZ string
	// Currency is the dataset's currency (ISO 4217); it must equal the
	// dataset's when appending.
	Currency string
	// Replace makes the import the table's whole content; by default it is
	// appended, and a source whose ID and SHA-256 are already in the
	// manifest is skipped.
	Replace bool
	// MaxBadRows is how many bad lines may be skipped before the import
	// fails (default 0: any bad line fails it).
	MaxBadRows int
	// InvalidUTF8 says what to do with text that is not valid UTF-8 (every
	// string stored must be): refuse it as a bad line (the default), or
	// replace the invalid bytes with U+FFFD.
	InvalidUTF8 InvalidUTF8
	// Rejects, when not nil, receives every bad line as CSV.
	Rejects io.Writer
	// LineTypes are the rules deriving line_type (orders).
	LineTypes LineTypeRules
	// Suppressed, when not nil, drops the rows of customers it reports
	// (forgotten customers): they are counted, never stored. It is called
	// from several goroutines and must not keep the string it is given
	// (its bytes are reused).
	Suppressed func(customerID string) bool
	// Writer tunes the part writer (Dataset is set from this struct).
	Writer WriterOptions
	// Workers is the number of parsing goroutines (default GOMAXPROCS).
	Workers int
	// ChunkBytes is the size of the text chunks parsed in parallel
	// (default 256 KiB: the chunks queued between reader, parsers and
	// writer are held with their rows, so smaller ones hold less memory).
	ChunkBytes int
	// Now is the clock for the manifest (default time.Now).
	Now func() time.Time
}

// FileResult is what an import did with one source file.
type FileResult struct {
	Path       string `json:"path"`
	SHA256     string `json:"sha256,omitempty"`
	Rows       int64  `json:"rows"`
	Rejected   int64  `json:"rejected"`
	Suppressed int64  `json:"suppressed"`
	// Skipped says why the file was not read (already imported).
	Skipped string `json:"skipped,omitempty"`
}

// ImportResult is what Import did.
type ImportResult struct {
	Dataset    string       `json:"dataset"`
	Table      string       `json:"table"`
	Files      []FileResult `json:"files"`
	Rows       int64        `json:"rows"`
	Rejected   int64        `json:"rejected"`
	Suppressed int64        `json:"suppressed"`
	// Manifest is the committed version, nil when nothing changed (every
	// source was already imported).
	Manifest *Manifest `json:"-"`
	Seq      int       `json:"seq,omitempty"`
	Parts    int       `json:"parts"`
}

// RowError is a bad source line: PATH:LINE:FIELD: column NAME: value "X": reason.
// Field is 1-based; for a Parquet source, Line is the 1-based row number.
type RowError struct {
	Path   string
	Line   int64
	Field  int
	Column string
	Value  string
	Reason string
	Err    error // the cause, when there is one (ErrAmbiguousTime)
}

func (e *RowError) Error() string {
	v := e.Value
	if len(v) > 80 {
		v = v[:77] + "..."
	}
	return fmt.Sprintf("%s:%d:%d: column %s: value %q: %s", e.Path, e.Line, e.Field, e.Column, v, e.Reason)
}

func (e *RowError) Unwrap() error { return e.Err }

// FileError is a problem at a place of a file: the whole file (empty,
// missing column, truncated), a line, or a field. Error() is
// "PATH: reason", "PATH:LINE: reason" or "PATH:LINE:COLUMN: reason": the
// one form of file errors, shared by import and package datasets/table.
// Column is the 1-based field; for a Parquet source, Line is the 1-based
// row number.
type FileError struct {
	Path   string
	Line   int64
	Column int
	Err    error
}

func (e *FileError) Error() string {
	switch {
	case e.Line <= 0:
		return fmt.Sprintf("%s: %v", e.Path, e.Err)
	case e.Column <= 0:
		return fmt.Sprintf("%s:%d: %v", e.Path, e.Line, e.Err)
	}
	return fmt.Sprintf("%s:%d:%d: %v", e.Path, e.Line, e.Column, e.Err)
}

func (e *FileError) Unwrap() error { return e.Err }

// BadRowsError fails an import with more bad lines than MaxBadRows.
type BadRowsError struct {
	// First is the first bad line; Count how many were seen before the
	// import stopped.
	First *RowError
	Count int64
	Max   int
}

func (e *BadRowsError) Error() string {
	return fmt.Sprintf("%v (%d bad lines, more than --max-bad-rows %d; nothing was imported)", e.First, e.Count, e.Max)
}

func (e *BadRowsError) Unwrap() error { return e.First }

// ErrNoRows is a source with a header (or a Parquet schema) and no rows:
// the import commits nothing.
var ErrNoRows = errors.New("a header and no rows: nothing was imported")

// Import reads sources into a table of the dataset and commits them as a
// new manifest version. It is atomic: on any error the parts it wrote are
// deleted and the store is as it was.
func Import(ctx context.Context, st Store, sources []SourceFile, opts ImportOptions) (*ImportResult, error) {
	switch opts.Table {
	case "", "orders":
		return importTable(ctx, st, Orders, sources, opts)
	case "customers":
		return importTable(ctx, st, Customers, sources, opts)
	case "products":
		return importTable(ctx, st, Products, sources, opts)
	case "events":
		return importTable(ctx, st, Events, sources, opts)
	case "stock":
		return importTable(ctx, st, Stock, sources, opts)
	case "promotions":
		return importTable(ctx, st, Promotions, sources, opts)
	case "loyalty":
		return importTable(ctx, st, Loyalty, sources, opts)
	case "consent":
		return importTable(ctx, st, ConsentTable, sources, opts)
	}
	return nil, fmt.Errorf("import: unknown table %q (tables: %s)", opts.Table, strings.Join(TableNames, ", "))
}

// importer holds one import's state.
type importer[T any] struct {
	st    Store
	t     *Table[T]
	opts  ImportOptions
	loc   *time.Location
	rules *lineRules
	w     *Writer[T]
	res   *ImportResult

	columns   []string         // canonical columns mapped by the first file
	chunkPool freeList[[]byte] // text chunks whose rows are written
	bad       int64
	first     *RowError
	rejects   *csv.Writer
}

func importTable[T any](ctx context.Context, st Store, t *Table[T], sources []SourceFile, opts ImportOptions) (*ImportResult, error) {
	if err := ValidDatasetName(opts.Dataset); err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	if err := CheckTimeLayout(opts.TimeFormat); err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	loc, err := LoadZone(opts.TZ)
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	if opts.TZ == "" {
		opts.TZ = "UTC"
	}
	for canon := range opts.Map {
		if t.fieldIndex(canon) < 0 {
			return nil, fmt.Errorf("import: --map: %q is not a column of table %s (columns: %s)", canon, t.Name, strings.Join(t.columnNames(), ", "))
		}
	}
	switch opts.InvalidUTF8 {
	case "":
		opts.InvalidUTF8 = InvalidUTF8Refuse
	case InvalidUTF8Refuse, InvalidUTF8Replace:
	default:
		return nil, Fieldf("InvalidUTF8", string(opts.InvalidUTF8), "want refuse or replace")
	}
	if opts.MaxBadRows < 0 {
		return nil, fmt.Errorf("import: --max-bad-rows %d: must be 0 or more", opts.MaxBadRows)
	}
	if len(sources) == 0 {
		return nil, errors.New("import: no source files")
	}
	rules := opts.LineTypes.withDefaults()
	compiled, err := compileLineRules(rules)
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	if opts.ChunkBytes <= 0 {
		opts.ChunkBytes = 1 << 18
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}

	base, err := ReadManifest(ctx, st, opts.Dataset, t.Name)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("import: %w", err)
	}
	if err != nil {
		base = nil
	}
	if base == nil {
		// A new table joins an existing dataset: same zone and currency.
		if err := checkDatasetSettings(ctx, st, opts); err != nil {
			return nil, err
		}
	}
	if base != nil && !opts.Replace && len(base.Sources) > 0 {
		if base.TZ != opts.TZ {
			return nil, fmt.Errorf("import: --tz %s does not match the dataset's zone %s (dataset %s, table %s); use --tz %s, or --mode replace", opts.TZ, base.TZ, opts.Dataset, t.Name, base.TZ)
		}
		if base.Currency != opts.Currency {
			return nil, fmt.Errorf("import: --currency %q does not match the dataset's currency %q; use --currency %q, or --mode replace", opts.Currency, base.Currency, base.Currency)
		}
		if t.Name == "orders" && base.LineTypes != nil && !sameRules(*base.LineTypes, rules) {
			return nil, fmt.Errorf("import: the line type rules differ from the dataset's (fee codes %s; adjustment codes %s; cancel prefix %q); use the same, or --mode replace", strings.Join(base.LineTypes.FeeCodes, ","), strings.Join(base.LineTypes.AdjustmentCodes, ","), base.LineTypes.CancelPrefix)
		}
	}

	wopts := opts.Writer
	wopts.Dataset = opts.Dataset
	w, err := NewWriter(st, t, wopts)
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	im := &importer[T]{st: st, t: t, opts: opts, loc: loc, rules: compiled, w: w,
		res: &ImportResult{Dataset: opts.Dataset, Table: t.Name, Files: []FileResult{}}}
	if base != nil && !opts.Replace && len(base.Sources) > 0 {
		im.columns = base.Columns
	}
	if opts.Rejects != nil {
		im.rejects = csv.NewWriter(opts.Rejects)
		im.rejects.Write([]string{"source", "line", "field", "column", "value", "reason", "record"})
	}
	var newSources []Source
	for _, src := range sources {
		if err := ctx.Err(); err != nil {
			w.Abort(ctx)
			return nil, err
		}
		fr, source, err := im.importFile(ctx, src, base)
		if err != nil {
			im.flushRejects()
			w.Abort(ctx)
			return nil, err
		}
		im.res.Files = append(im.res.Files, fr)
		if fr.Skipped == "" {
			newSources = append(newSources, source)
			im.res.Rows += fr.Rows
			im.res.Rejected += fr.Rejected
			im.res.Suppressed += fr.Suppressed
		}
	}
	im.flushRejects()
	if len(newSources) == 0 && !opts.Replace {
		w.Abort(ctx)
		return im.res, nil
	}
	run := w.Run()
	for i := range newSources {
		newSources[i].Run = run
	}
	op := "import-append"
	if opts.Replace {
		op = "import-replace"
	}
	var lt *LineTypeRules
	if t.Name == "orders" {
		lt = &rules
	}
	m, err := w.Commit(ctx, CommitOptions{
		Base: base, Replace: opts.Replace, Operation: op, Sources: newSources,
		TZ: opts.TZ, Currency: opts.Currency, Columns: im.columns, LineTypes: lt, Now: opts.Now(),
	})
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	im.res.Manifest = m
	im.res.Seq = m.Seq
	im.res.Parts = len(w.Parts())
	return im.res, nil
}

func sameRules(a, b LineTypeRules) bool {
	a, b = a.withDefaults(), b.withDefaults()
	return slices.Equal(a.FeeCodes, b.FeeCodes) && slices.Equal(a.AdjustmentCodes, b.AdjustmentCodes) && a.CancelPrefix == b.CancelPrefix
}

// checkDatasetSettings refuses a zone or currency that differs from the
// dataset's other tables.
func checkDatasetSettings(ctx context.Context, st Store, opts ImportOptions) error {
	tables, err := ListTables(ctx, st, opts.Dataset)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	for _, other := range tables {
		m, err := ReadManifest(ctx, st, opts.Dataset, other)
		if err != nil {
			return fmt.Errorf("import: %w", err)
		}
		if m.TZ != opts.TZ {
			return fmt.Errorf("import: --tz %s does not match the zone %s of dataset %s (table %s); one dataset has one zone", opts.TZ, m.TZ, opts.Dataset, other)
		}
		if m.Currency != opts.Currency {
			return fmt.Errorf("import: --currency %q does not match the currency %q of dataset %s (table %s); one dataset has one currency", opts.Currency, m.Currency, opts.Dataset, other)
		}
	}
	return nil
}

// chunkBuf returns an empty buffer for a text chunk, reusing those whose
// rows are written: fresh memory costs page faults and GC.
func (im *importer[T]) chunkBuf(n int) []byte {
	if b, ok := im.chunkPool.get(); ok && cap(b) >= n {
		return b[:0]
	}
	return make([]byte, 0, n)
}

func (im *importer[T]) flushRejects() {
	if im.rejects != nil {
		im.rejects.Flush()
	}
}

// hashingReader hashes and counts what is read through it.
type hashingReader struct {
	r io.Reader
	h hash.Hash
	n int64
}

func (h *hashingReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	h.h.Write(p[:n])
	h.n += int64(n)
	return n, err
}

func hashSource(ctx context.Context, src SourceFile) (string, error) {
	rc, err := src.Open(ctx)
	if err != nil {
		return "", &FileError{Path: src.Path, Err: err}
	}
	defer rc.Close()
	h := sha256.New()
	if _, err := io.Copy(h, rc); err != nil {
		return "", &FileError{Path: src.Path, Err: err}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// importFile reads one source into the writer.
func (im *importer[T]) importFile(ctx context.Context, src SourceFile, base *Manifest) (FileResult, Source, error) {
	fr := FileResult{Path: src.Path}
	id := src.ID
	if id == "" {
		id = src.Path
	}
	// A source can be skipped only if its ID is already listed: hash it
	// first then; otherwise hash it while parsing.
	if base != nil && !im.opts.Replace {
		listed := false
		for _, s := range base.Sources {
			listed = listed || s.Path == id
		}
		if listed {
			sum, err := hashSource(ctx, src)
			if err != nil {
				return fr, Source{}, err
			}
			if base.HasSource(id, sum) {
				fr.SHA256 = sum
				fr.Skipped = "already imported (same path and SHA-256)"
				return fr, Source{}, nil
			}
		}
	}
	rc, err := src.Open(ctx)
	if err != nil {
		return fr, Source{}, &FileError{Path: src.Path, Err: err}
	}
	defer rc.Close()
	hr := &hashingReader{r: rc, h: sha256.New()}
	br := bufio.NewReaderSize(hr, 256<<10)
	magic, _ := br.Peek(4)
	var stats fileStats
	switch {
	case len(magic) == 0:
		return fr, Source{}, &FileError{Path: src.Path, Err: errors.New("empty file")}
	case len(magic) >= 2 && magic[0] == 0x1f && magic[1] == 0x8b:
		zr, err := gzip.NewReader(br)
		if err != nil {
			return fr, Source{}, &FileError{Path: src.Path, Err: fmt.Errorf("gzip: %w", err)}
		}
		stats, err = im.readText(ctx, src, zr, true)
		if err != nil {
			return fr, Source{}, err
		}
	case string(magic) == "PAR1":
		ra, ok := rc.(io.ReaderAt)
		size := src.Size
		if !ok {
			b, err := io.ReadAll(br)
			if err != nil {
				return fr, Source{}, &FileError{Path: src.Path, Err: err}
			}
			ra, size = bytes.NewReader(b), int64(len(b))
		}
		stats, err = im.readParquet(ctx, src, ra, size)
		if err != nil {
			return fr, Source{}, err
		}
	default:
		stats, err = im.readText(ctx, src, br, false)
		if err != nil {
			return fr, Source{}, err
		}
	}
	if stats.rows+stats.rejected+stats.suppressed == 0 {
		return fr, Source{}, &FileError{Path: src.Path, Err: ErrNoRows}
	}
	// Hash to the end of the file (gzip may stop before trailing bytes;
	// Parquet is read at random).
	if _, err := io.Copy(io.Discard, br); err != nil {
		return fr, Source{}, &FileError{Path: src.Path, Err: err}
	}
	sum := hex.EncodeToString(hr.h.Sum(nil))
	fr.SHA256 = sum
	fr.Rows, fr.Rejected, fr.Suppressed = stats.rows, stats.rejected, stats.suppressed
	return fr, Source{Path: id, SHA256: sum, Bytes: hr.n, Rows: stats.rows, Rejected: stats.rejected, Suppressed: stats.suppressed}, nil
}

type fileStats struct {
	rows, rejected, suppressed int64
}

// plan is how one file's fields become rows of T.
type plan[T any] struct {
	im       *importer[T]
	path     string
	format   TextFormat // of a text source (zero for Parquet)
	bindings []binding
	mapped   []bool
	nfields  int // fields per record (header or first record)
	skipKey  bool
	layout   string
}

type binding struct {
	field int    // canonical field index
	src   int    // source field index
	name  string // source column name, for errors
	iso   bool   // a typed Parquet time, converted to ISO 8601 text
}

// newPlan maps a file's columns (header, or nfields when headerless).
func (im *importer[T]) newPlan(path string, format TextFormat, header []string, nfields int, headerLine string) (*plan[T], error) {
	p := &plan[T]{im: im, path: path, format: format, mapped: make([]bool, len(im.t.fields)), nfields: nfields, layout: im.opts.TimeFormat}
	ferr := func(format string, args ...any) error {
		return &FileError{Path: path, Err: fmt.Errorf(format, args...)}
	}
	find := func(canon, spec string) (int, string, error) {
		if strings.HasPrefix(spec, "#") {
			n, err := strconv.Atoi(spec[1:])
			if err != nil || n < 1 {
				return 0, "", ferr("--map %s=%s: want #N with N >= 1", canon, spec)
			}
			if n > nfields {
				return 0, "", ferr("missing column %s (mapped to %s): the file has %d columns%s", spec, canon, nfields, delimiterHint(headerLine, format))
			}
			name := spec
			if header != nil {
				name = header[n-1]
			}
			return n - 1, name, nil
		}
		if header == nil {
			return 0, "", ferr("--map %s=%s: the file has no header (--no-header): map columns by position, %s=#N", canon, spec, canon)
		}
		idx := -1
		for i, h := range header {
			if h == spec {
				if idx >= 0 {
					return 0, "", ferr("column %q (mapped to %s) appears twice in the header", spec, canon)
				}
				idx = i
			}
		}
		if idx < 0 {
			return 0, "", ferr("missing column %q (mapped to %s); the header has %s%s", spec, canon, quoteList(header), delimiterHint(headerLine, format))
		}
		return idx, spec, nil
	}
	for fi, f := range im.t.fields {
		spec, ok := im.opts.Map[f.name]
		if !ok {
			if header == nil {
				continue
			}
			if !slices.Contains(header, f.name) {
				continue
			}
			spec = f.name
		}
		idx, name, err := find(f.name, spec)
		if err != nil {
			return nil, err
		}
		p.bindings = append(p.bindings, binding{field: fi, src: idx, name: name})
		p.mapped[fi] = true
	}
	for _, group := range im.t.Required {
		ok := false
		for _, c := range group {
			ok = ok || p.mapped[im.t.fieldIndex(c)]
		}
		if !ok {
			what := fmt.Sprintf("column %s", group[0])
			if len(group) > 1 {
				what = "any of the columns " + strings.Join(group, ", ")
			}
			src := "the header has " + quoteList(header)
			if header == nil {
				src = fmt.Sprintf("the file has %d columns", nfields)
			}
			return nil, ferr("missing required %s: map it with --map %s=SOURCE (%s)%s", what, group[0], src, delimiterHint(headerLine, format))
		}
	}
	cols := p.columnSet()
	if im.columns == nil {
		im.columns = cols
	} else if !slices.Equal(cols, im.columns) {
		return nil, ferr("columns %s don't match the existing dataset %s table %s (%s); map the same columns, or import with --mode replace or into another dataset", strings.Join(cols, ","), im.opts.Dataset, im.t.Name, strings.Join(im.columns, ","))
	}
	p.skipKey = im.t.KeyColumn == "customer_id"
	return p, nil
}

// columnSet lists the canonical columns a file provides, in schema order
// (line_type is always provided for orders: derived when not mapped).
func (p *plan[T]) columnSet() []string {
	var out []string
	for i, f := range p.im.t.fields {
		if p.mapped[i] || (f.name == "line_type" && p.im.t.Name == "orders") {
			out = append(out, f.name)
		}
	}
	return out
}

func quoteList(h []string) string {
	if len(h) == 0 {
		return "no columns"
	}
	q := make([]string, len(h))
	for i, s := range h {
		q[i] = strconv.Quote(s)
	}
	s := strings.Join(q, ", ")
	if len(h) == 1 {
		return "one column " + s
	}
	return fmt.Sprintf("%d columns %s", len(h), s)
}

// delimiterHint suggests another delimiter when the header line holds
// one (SniffDelimiter's choice) more often than the one it was split by.
func delimiterHint(line string, f TextFormat) string {
	if line == "" {
		return ""
	}
	cur := f.Delimiter
	if f.Whitespace {
		cur = ' '
	}
	best, n := SniffDelimiter(line)
	if best == 0 || best == cur || n <= strings.Count(line, string(cur)) {
		return ""
	}
	name := map[byte]string{',': "','", ';': "';'", '\t': "tab", '|': "'|'"}[best]
	return fmt.Sprintf(" — wrong delimiter? the header line has %d %s (the delimiter is detected when none is given)", n, name)
}

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
	release    func() // returns the chunk's buffer once its rows are written
	rows       []T
	bad        []badRow
	suppressed int64
	fatal      error
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
	st.rows += int64(len(res.rows))
	st.suppressed += res.suppressed
	return im.w.writeOwned(ctx, res.rows, res.release)
}

// worker parses chunks for one goroutine.
type worker[T any] struct {
	p     *plan[T]
	sp    splitter
	tp    *timeParser
	isoTP *timeParser
	fa    []float64
	ia    []int64
	vals  []string
}

func (p *plan[T]) newWorker() *worker[T] {
	return &worker[T]{p: p, sp: splitter{format: p.format}, tp: newTimeParser(p.layout, p.im.loc), isoTP: newTimeParser("", p.im.loc)}
}

func (w *worker[T]) parse(j *chunkJob[T]) *chunkResult[T] {
	res := &chunkResult[T]{}
	if j.buf != nil {
		im, buf := w.p.im, j.buf
		res.release = func() { im.chunkPool.put(buf[:0]) }
	}
	if j.recs != nil {
		res.rows = make([]T, 0, len(j.recs))
		for i, rec := range j.recs {
			if !w.record(res, rec, j.line+int64(i), "") {
				return res
			}
		}
		return res
	}
	data := j.data
	res.rows = w.p.im.w.getRows(j.nls + 1)
	line := j.line
	for pos := 0; pos < len(data); {
		end, nls, blank, err := w.sp.next(data, pos)
		raw := data[pos:end]
		recLine := line
		pos, line = end, line+int64(nls)
		if blank {
			continue
		}
		if err != nil {
			n := len(w.sp.fields)
			res.bad = append(res.bad, badRow{raw: strings.Clone(strings.TrimRight(raw, "\r\n")), err: &RowError{Path: w.p.path, Line: recLine, Field: n, Column: w.p.columnName(n - 1), Value: strings.Clone(w.sp.fields[n-1]), Reason: err.Error()}})
			continue
		}
		if !w.record(res, w.sp.fields, recLine, raw) {
			return res
		}
	}
	return res
}

func (p *plan[T]) columnName(src int) string {
	for _, b := range p.bindings {
		if b.src == src {
			return b.name
		}
	}
	return "#" + strconv.Itoa(src+1)
}

// record turns one record's fields into a row; false stops the chunk (a
// fatal error).
func (w *worker[T]) record(res *chunkResult[T], fields []string, line int64, raw string) bool {
	p := w.p
	t := p.im.t
	bad := func(src int, value, reason string, cause error) {
		// Clones: the chunk's bytes are reused once its rows are written.
		e := &RowError{Path: p.path, Line: line, Field: src + 1, Column: p.columnName(src), Value: strings.Clone(value), Reason: reason, Err: cause}
		if raw == "" {
			raw = strings.Join(fields, ",")
		}
		res.bad = append(res.bad, badRow{err: e, raw: strings.Clone(strings.TrimRight(raw, "\r\n"))})
	}
	if len(fields) != p.nfields {
		if len(fields) > p.nfields {
			bad(p.nfields, fields[p.nfields], fmt.Sprintf("extra field: the line has %d fields, the header %d (an unquoted delimiter in a value?)", len(fields), p.nfields), nil)
		} else {
			src := len(fields)
			bad(src, "", fmt.Sprintf("missing field: the line has %d fields, the header %d", len(fields), p.nfields), nil)
		}
		return true
	}
	n := len(res.rows)
	if n < cap(res.rows) {
		res.rows = res.rows[:n+1]
		res.rows[n] = *new(T) // a pooled batch holds old rows
	} else {
		res.rows = append(res.rows, *new(T))
	}
	r := &res.rows[n]
	for _, b := range p.bindings {
		f := &t.fields[b.field]
		v := fields[b.src]
		switch f.kind {
		case kString, kID:
			v, ok := validText(v, p.im.opts.InvalidUTF8)
			if !ok {
				bad(b.src, v, "not valid UTF-8 (refused; the invalid-UTF-8 policy replace would store U+FFFD instead)", nil)
				dropLast(res)
				return true
			}
			if f.kind == kID {
				v = NormalizeID(v)
				if reason := checkID(v); reason != "" {
					bad(b.src, v, reason, nil)
					dropLast(res)
					return true
				}
			}
			*f.str(r) = v
		case kTime, kOptTime:
			v = trimSpace(v)
			if v == "" && f.kind == kOptTime {
				continue
			}
			tp := w.tp
			if b.iso {
				tp = w.isoTP
			}
			us, err := tp.parse(v)
			if err != nil {
				if errors.Is(err, ErrAmbiguousTime) {
					res.fatal = &RowError{Path: p.path, Line: line, Field: b.src + 1, Column: b.name, Value: strings.Clone(v), Reason: err.Error(), Err: err}
					return false
				}
				bad(b.src, v, err.Error(), err)
				dropLast(res)
				return true
			}
			if f.kind == kTime {
				*f.i64(r) = us
			} else {
				*f.pi64(r) = w.int64Ptr(us)
			}
		case kFloat, kOptFloat:
			v = trimSpace(v)
			if v == "" {
				if f.kind == kOptFloat {
					continue
				}
				bad(b.src, v, "empty: a number is required", nil)
				dropLast(res)
				return true
			}
			x, err := parseFloat(v)
			if err != nil || math.IsInf(x, 0) || math.IsNaN(x) {
				bad(b.src, v, "not a number", nil)
				dropLast(res)
				return true
			}
			if f.kind == kFloat {
				*f.f64(r) = x
			} else {
				*f.pf64(r) = w.float64Ptr(x)
			}
		case kOptInt:
			v = trimSpace(v)
			if v == "" {
				continue
			}
			x, err := strconv.ParseInt(NormalizeID(v), 10, 64)
			if err != nil {
				bad(b.src, v, "not an integer", nil)
				dropLast(res)
				return true
			}
			*f.pi64(r) = w.int64Ptr(x)
		case kBool:
			x, ok := parseBool(trimSpace(v))
			if !ok {
				bad(b.src, v, "not a boolean (true/false, yes/no, 1/0, in/out)", nil)
				dropLast(res)
				return true
			}
			*f.b(r) = x
		}
	}
	if t.finish != nil {
		if err := t.finish(r, p.mapped, p.im.rules); err != nil {
			src, v := -1, ""
			for _, b := range p.bindings {
				if t.fields[b.field].name == "line_type" {
					src, v = b.src, fields[b.src]
				}
			}
			bad(src, v, err.Error(), nil)
			dropLast(res)
			return true
		}
	}
	if p.skipKey && p.im.opts.Suppressed != nil {
		if k := t.key(r); k != "" && p.im.opts.Suppressed(k) {
			dropLast(res)
			res.suppressed++
		}
	}
	return true
}

// dropLast removes the row being built, leaving its slot zero.
func dropLast[T any](res *chunkResult[T]) {
	n := len(res.rows) - 1
	clear(res.rows[n:])
	res.rows = res.rows[:n]
}

func (w *worker[T]) float64Ptr(x float64) *float64 {
	if len(w.fa) == cap(w.fa) {
		w.fa = make([]float64, 0, 4096)
	}
	w.fa = append(w.fa, x)
	return &w.fa[len(w.fa)-1]
}

func (w *worker[T]) int64Ptr(x int64) *int64 {
	if len(w.ia) == cap(w.ia) {
		w.ia = make([]int64, 0, 1024)
	}
	w.ia = append(w.ia, x)
	return &w.ia[len(w.ia)-1]
}

func parseBool(s string) (bool, bool) {
	switch strings.ToLower(s) {
	case "true", "t", "yes", "y", "1", "in", "opt_in", "opted_in":
		return true, true
	case "false", "f", "no", "n", "0", "out", "opt_out", "opted_out":
		return false, true
	}
	return false, false
}
