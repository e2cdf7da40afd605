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
	"runtime"
	"slices"
	"strconv"
	"strings"
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
	// Format says how text sources split into fields. A zero format is
	// detected per file from its first line (SniffDelimiter; tab for a
	// .tsv whose header holds one; ',' when no delimiter occurs).
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

// Import reads sources into a table of the dataset and commits them as a
// new manifest version. It is atomic: on any error the parts it wrote are
// deleted and the store is as it was.
func Import(ctx context.Context, st Store, sources []SourceFile, opts ImportOptions) (*ImportResult, error) {
	name := opts.Table
	if name == "" {
		name = "orders"
	}
	d, err := LookupTable(name)
	if err != nil {
		return nil, Fieldf("Table", opts.Table, "%v", err)
	}
	return d.importFn(ctx, st, sources, opts)
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
	loc, err := checkImportOptions(t, &opts)
	if err != nil {
		return nil, err
	}
	if len(sources) == 0 {
		return nil, errors.New("import: no source files")
	}
	rules := opts.LineTypes.withDefaults()
	compiled, err := compileLineRules(rules)
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
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
	} else if !opts.Replace && len(base.Sources) > 0 {
		if err := checkAppend(base, opts, t.Name, rules); err != nil {
			return nil, err
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

// checkImportOptions checks opts for table t and fills in the defaults;
// it returns the zone naive times are read in. Errors are *FieldError.
func checkImportOptions[T any](t *Table[T], opts *ImportOptions) (*time.Location, error) {
	if err := ValidDatasetName(opts.Dataset); err != nil {
		return nil, &FieldError{Field: "Dataset", Value: opts.Dataset, Msg: err.Error(), Err: err}
	}
	if err := CheckTimeLayout(opts.TimeFormat); err != nil {
		return nil, &FieldError{Field: "TimeFormat", Value: opts.TimeFormat, Msg: err.Error(), Err: err}
	}
	loc, err := LoadZone(opts.TZ)
	if err != nil {
		return nil, &FieldError{Field: "TZ", Value: opts.TZ, Msg: err.Error(), Err: err}
	}
	if opts.TZ == "" {
		opts.TZ = "UTC"
	}
	if err := ValidCurrency(opts.Currency); err != nil {
		return nil, err
	}
	for _, canon := range sortedKeys(opts.Map) {
		if t.fieldIndex(canon) < 0 {
			return nil, Fieldf("Map", canon+"="+opts.Map[canon], "%q is not a column of table %s (columns: %s)", canon, t.Name, strings.Join(t.columnNames(), ", "))
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
		return nil, Fieldf("MaxBadRows", strconv.Itoa(opts.MaxBadRows), "must be 0 or more")
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
	return loc, nil
}

// checkAppend refuses to append with another zone, currency or line type
// rules than the table's.
func checkAppend(base *Manifest, opts ImportOptions, table string, rules LineTypeRules) error {
	if base.TZ != opts.TZ {
		return &FieldError{Field: "TZ", Value: opts.TZ, With: []string{"Replace"},
			Msg: fmt.Sprintf("does not match the zone %s of dataset %s table %s; import with that zone, or replace the table", base.TZ, opts.Dataset, table)}
	}
	if base.Currency != opts.Currency {
		return &FieldError{Field: "Currency", Value: opts.Currency, With: []string{"Replace"},
			Msg: fmt.Sprintf("does not match the currency %q of dataset %s table %s; import with that currency, or replace the table", base.Currency, opts.Dataset, table)}
	}
	if table == "orders" && base.LineTypes != nil && !sameRules(*base.LineTypes, rules) {
		return &FieldError{Field: "LineTypes", With: []string{"Replace"},
			Msg: fmt.Sprintf("the line type rules differ from the dataset's (fee codes %s; adjustment codes %s; cancel prefix %q); use the same, or replace the table", strings.Join(base.LineTypes.FeeCodes, ","), strings.Join(base.LineTypes.AdjustmentCodes, ","), base.LineTypes.CancelPrefix)}
	}
	return nil
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
			return Fieldf("TZ", opts.TZ, "does not match the zone %s of dataset %s (table %s); one dataset has one zone", m.TZ, opts.Dataset, other)
		}
		if m.Currency != opts.Currency {
			return Fieldf("Currency", opts.Currency, "does not match the currency %q of dataset %s (table %s); one dataset has one currency", m.Currency, opts.Dataset, other)
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
