package publish

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sort"
	"strings"
	"time"

	"github.com/prevoir/prevoir/datasets"
)

// ErrNoPublication is wrapped (with fs.ErrNotExist) when a task has no
// publication, or none for the as_of asked.
var ErrNoPublication = errors.New("no publication")

type noPublication struct{ msg string }

func (e *noPublication) Error() string { return e.msg }
func (e *noPublication) Is(target error) bool {
	return target == ErrNoPublication || target == fs.ErrNotExist
}

// SHA256Hex is the hex SHA-256 of b: how a publication's lineage and
// parts fingerprint the bytes they name.
func SHA256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// ReadManifest reads the manifest of the publication of an as_of.
func ReadManifest(ctx context.Context, st datasets.Store, dataset, task, asOf string) (*Manifest, error) {
	key := ManifestKey(dataset, task, asOf)
	b, err := datasets.ReadAll(ctx, st, key)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &noPublication{fmt.Sprintf("%s scores of %s as of %s: %v", task, dataset, asOf, ErrNoPublication)}
	}
	if err != nil {
		return nil, err
	}
	return decodeManifest(b, key)
}

func decodeManifest(b []byte, key string) (*Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	if m.FormatVersion < 1 || m.FormatVersion > FormatVersion {
		return nil, fmt.Errorf("%s: format_version %d: %w", key, m.FormatVersion, datasets.ErrFormatVersion)
	}
	if len(m.Tables) == 0 {
		return nil, fmt.Errorf("%s: no tables", key)
	}
	return &m, nil
}

// ReadLatest reads a task's LATEST pointer.
func ReadLatest(ctx context.Context, st datasets.Store, dataset, task string) (*Pointer, error) {
	key := LatestKey(dataset, task)
	b, err := datasets.ReadAll(ctx, st, key)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &noPublication{fmt.Sprintf("%s scores of %s: %v yet: score the %s task first", task, dataset, ErrNoPublication, task)}
	}
	if err != nil {
		return nil, err
	}
	var p Pointer
	if err := json.Unmarshal(b, &p); err != nil || p.AsOf == "" {
		return nil, fmt.Errorf("%s: not a pointer (%v)", key, err)
	}
	return &p, nil
}

// Resolve reads the publication a reader asks for: asOf "" or "latest"
// is the one LATEST points to, a date is that date's.
func Resolve(ctx context.Context, st datasets.Store, dataset, task, asOf string) (*Manifest, error) {
	if asOf == "" || asOf == "latest" {
		p, err := ReadLatest(ctx, st, dataset, task)
		if err != nil {
			return nil, err
		}
		asOf = p.AsOf
	} else if _, err := time.Parse(time.DateOnly, asOf); err != nil {
		return nil, datasets.Fieldf("AsOf", asOf, "want a date YYYY-MM-DD or latest")
	}
	return ReadManifest(ctx, st, dataset, task, asOf)
}

// Rows streams the rows of one table of a publication (the main one for
// table "") to fn, in stored order, checking each part against the
// manifest. fn must not keep the slice.
func Rows(ctx context.Context, st datasets.Store, m *Manifest, table string, fn func(row []any) error) error {
	t, err := m.Table(table)
	if err != nil {
		return err
	}
	for _, p := range t.Parts {
		if err := readPart(ctx, st, m.Format, t.Columns, p, fn); err != nil {
			return err
		}
	}
	return nil
}

// Entry is one publication, as List reports it.
type Entry struct {
	Dataset   string    `json:"dataset"`
	Task      string    `json:"task"`
	AsOf      string    `json:"as_of"`
	Latest    bool      `json:"latest"`
	Rows      int64     `json:"rows"`
	Tables    []string  `json:"tables"`
	Model     string    `json:"model,omitempty"`
	Run       string    `json:"run"`
	CreatedAt time.Time `json:"created_at"`
}

// List returns the committed publications, by dataset, task and as_of;
// dataset and task, when not empty, select.
func List(ctx context.Context, st datasets.Store, dataset, task string) ([]Entry, error) {
	objs, err := st.List(ctx, Root)
	if err != nil {
		return nil, err
	}
	latest := map[string]string{}
	var out []Entry
	for _, o := range objs {
		segs := strings.Split(strings.TrimPrefix(o.Key, Root), "/")
		if len(segs) < 3 || dataset != "" && segs[0] != dataset || task != "" && segs[1] != task {
			continue
		}
		switch {
		case len(segs) == 3 && segs[2] == "LATEST":
			if p, err := ReadLatest(ctx, st, segs[0], segs[1]); err == nil {
				latest[segs[0]+"/"+segs[1]] = p.AsOf
			}
		case len(segs) == 4 && segs[3] == "_manifest.json":
			m, err := ReadManifest(ctx, st, segs[0], segs[1], segs[2])
			if errors.Is(err, fs.ErrNotExist) {
				continue // removed since the listing
			}
			if err != nil {
				return nil, err
			}
			e := Entry{Dataset: m.Dataset, Task: m.Task, AsOf: m.AsOf, Rows: m.Rows, Run: m.Run, CreatedAt: m.CreatedAt}
			for _, t := range m.Tables {
				e.Tables = append(e.Tables, t.Name)
			}
			if m.Model != nil {
				e.Model = fmt.Sprintf("%s@%d", m.Model.Name, m.Model.Version)
			}
			out = append(out, e)
		}
	}
	for i := range out {
		out[i].Latest = latest[out[i].Dataset+"/"+out[i].Task] == out[i].AsOf
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Dataset != b.Dataset {
			return a.Dataset < b.Dataset
		}
		if a.Task != b.Task {
			return a.Task < b.Task
		}
		return a.AsOf < b.AsOf
	})
	return out, nil
}

// Export formats.
const (
	ExportCSV     = "csv"
	ExportJSONL   = "jsonl"
	ExportParquet = "parquet"
)

// ExportOptions configure Export.
type ExportOptions struct {
	// Table is the table to export ("" for the main one).
	Table string
	// Format is ExportCSV (default), ExportJSONL or ExportParquet.
	Format string
	// Skip, when set, leaves out the rows of the customers it returns
	// true for (tables without a customer column are not filtered).
	Skip func(customerID string) bool
}

// Export writes one table of a publication to w: CSV with a header (dots
// for decimals, UTF-8, no index column), JSON lines (one object per row,
// keys in column order) or one Parquet file. It returns the rows written.
func Export(ctx context.Context, st datasets.Store, m *Manifest, w io.Writer, o ExportOptions) (int64, error) {
	t, err := m.Table(o.Table)
	if err != nil {
		return 0, err
	}
	cust := -1
	if t.Customer != "" {
		cust = colIndex(t.Columns, t.Customer)
	}
	keep := func(row []any) bool {
		if o.Skip == nil || cust < 0 {
			return true
		}
		id, _ := row[cust].(string)
		return !o.Skip(id)
	}
	var n int64
	switch o.Format {
	case "", ExportCSV:
		cw := csv.NewWriter(w)
		rec := make([]string, len(t.Columns))
		for i, c := range t.Columns {
			rec[i] = c.Name
		}
		cw.Write(rec)
		err = Rows(ctx, st, m, t.Name, func(row []any) error {
			if !keep(row) {
				return nil
			}
			for i := range row {
				rec[i] = formatValue(row[i])
			}
			n++
			return cw.Write(rec)
		})
		if err == nil {
			err = flushCSV(cw)
		}
	case ExportJSONL:
		bw := bufio.NewWriterSize(w, 1<<20)
		err = Rows(ctx, st, m, t.Name, func(row []any) error {
			if !keep(row) {
				return nil
			}
			n++
			return writeJSONLine(bw, t.Columns, row)
		})
		if err == nil {
			err = bw.Flush()
		}
	case ExportParquet:
		var rows [][]any
		err = Rows(ctx, st, m, t.Name, func(row []any) error {
			if keep(row) {
				rows = append(rows, append([]any(nil), row...))
			}
			return nil
		})
		if err == nil {
			var b []byte
			if b, err = encodeParquet(t.Columns, rows); err == nil {
				_, err = w.Write(b)
			}
			n = int64(len(rows))
		}
	default:
		return 0, datasets.Fieldf("Format", o.Format, "want csv, jsonl or parquet")
	}
	return n, err
}

// flushCSV flushes a CSV writer over a bufio.Writer, and that writer.
func flushCSV(cw *csv.Writer) error {
	cw.Flush()
	return cw.Error()
}

// writeJSONLine writes one row as a JSON object, keys in column order.
func writeJSONLine(w *bufio.Writer, cols []Column, row []any) error {
	w.WriteByte('{')
	for i, c := range cols {
		if i > 0 {
			w.WriteByte(',')
		}
		k, _ := json.Marshal(c.Name)
		w.Write(k)
		w.WriteByte(':')
		v, err := json.Marshal(row[i])
		if err != nil {
			return fmt.Errorf("column %q: %w", c.Name, err)
		}
		w.Write(v)
	}
	w.WriteByte('}')
	return w.WriteByte('\n')
}

// ScoringDate resolves a scoring date for dataset: a YYYY-MM-DD date,
// latest (the default, for "") or today, as datasets.ResolveAsOf reads
// them at now, and refuses anything that is not a day (a publication's
// as_of is a date).
func ScoringDate(ctx context.Context, st datasets.Store, dataset, asOf string, now func() time.Time) (string, error) {
	if asOf == "" {
		asOf = datasets.AsOfLatest
	}
	at := time.Now()
	if now != nil {
		at = now()
	}
	d, err := datasets.ResolveAsOf(ctx, st, dataset, asOf, at)
	if err != nil {
		return "", err
	}
	if _, err := time.Parse(time.DateOnly, d); err != nil {
		return "", datasets.Fieldf("AsOf", asOf, "want a date YYYY-MM-DD, latest or today")
	}
	return d, nil
}
