package datasets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"time"
)

// Part is one Parquet file of a table, as listed in its manifest.
type Part struct {
	// Key is the part's key in the store.
	Key string `json:"key"`
	// Month is the UTC month of every row's time (YYYY-MM), empty for an
	// unpartitioned table.
	Month string `json:"month,omitempty"`
	// Rows is the number of rows in the part.
	Rows int64 `json:"rows"`
	// Bytes is the part's size.
	Bytes int64 `json:"bytes"`
	// SHA256 is the hex SHA-256 of the part's bytes.
	SHA256 string `json:"sha256"`
	// MinTime and MaxTime bound the rows' times (partitioned tables).
	MinTime *time.Time `json:"min_time,omitempty"`
	MaxTime *time.Time `json:"max_time,omitempty"`
	// Keys is the number of distinct sort keys (customers) in the part.
	Keys int64 `json:"keys"`
	// RedactedByForget is set on a kept (earlier) manifest when
	// `customers forget` deleted this part: it no longer exists.
	RedactedByForget bool `json:"redacted_by_forget,omitempty"`
}

// Source is one source file an import read.
type Source struct {
	// Path is the file as the user named it: a local path made absolute,
	// or an s3:// URL.
	Path string `json:"path"`
	// SHA256 is the hex SHA-256 of the file's bytes (compressed, if it is).
	SHA256 string `json:"sha256"`
	// Bytes is the file's size.
	Bytes int64 `json:"bytes"`
	// Rows is the number of rows imported from it; Rejected the number of
	// bad lines skipped (up to --max-bad-rows), Suppressed the lines of
	// suppressed customers dropped.
	Rows       int64 `json:"rows"`
	Rejected   int64 `json:"rejected,omitempty"`
	Suppressed int64 `json:"suppressed,omitempty"`
	// Run is the run id of the import that read it.
	Run string `json:"run"`
}

// TimeRange is the smallest and largest row time of a table.
type TimeRange struct {
	Min time.Time `json:"min"`
	Max time.Time `json:"max"`
}

// Manifest describes one committed version of a table: the only parts a
// reader may use, where the rows came from, and how to read their times.
type Manifest struct {
	// FormatVersion is the layout version (FormatVersion when written).
	FormatVersion int `json:"format_version"`
	// Dataset and Table name what this manifest describes.
	Dataset string `json:"dataset"`
	Table   string `json:"table"`
	// Seq numbers the table's versions from 1; the version's copy is kept
	// at HistoryKey(Dataset, Table, Seq).
	Seq int `json:"seq"`
	// Previous is the key of the kept previous version, empty for seq 1.
	Previous string `json:"previous,omitempty"`
	// Run is the id of the run that wrote this version; Operation what it
	// did (import-append, import-replace, generate, forget, ...).
	Run       string    `json:"run"`
	Operation string    `json:"operation"`
	CreatedAt time.Time `json:"created_at"`
	// TZ is the IANA zone naive source times were read in, and in which a
	// DATE means 00:00; Currency the dataset's one currency (ISO 4217, or
	// empty when not stated).
	TZ       string `json:"tz"`
	Currency string `json:"currency"`
	// Schema is the table's columns; Columns the canonical columns that
	// had a source column (the others are all null or defaulted).
	Schema  []Column `json:"schema"`
	Columns []string `json:"columns"`
	// LineTypes are the rules that derived line_type (orders only).
	LineTypes *LineTypeRules `json:"line_types,omitempty"`
	// Rows is the number of rows over all parts; TimeRange their times.
	Rows      int64      `json:"rows"`
	TimeRange *TimeRange `json:"time_range,omitempty"`
	// Parts lists every part, sorted by key.
	Parts []Part `json:"parts"`
	// Sources lists every source file imported into this version.
	Sources []Source `json:"sources"`
	// Origin identifies what produced the rows independently of the run
	// (the generator's options, see synth.Options.RunID), empty otherwise.
	Origin string `json:"origin,omitempty"`
}

// Zone returns the manifest's time zone.
func (m *Manifest) Zone() (*time.Location, error) { return LoadZone(m.TZ) }

// Months returns the months that have parts, in order.
func (m *Manifest) Months() []string {
	var out []string
	for _, p := range m.Parts {
		if len(out) == 0 || out[len(out)-1] != p.Month {
			out = append(out, p.Month)
		}
	}
	sort.Strings(out)
	return out
}

// PartsIn returns the parts of one month ("" for an unpartitioned table).
func (m *Manifest) PartsIn(month string) []Part {
	var out []Part
	for _, p := range m.Parts {
		if p.Month == month {
			out = append(out, p)
		}
	}
	return out
}

// HasSource reports whether the file at path with this SHA-256 was
// imported into this version.
func (m *Manifest) HasSource(path, sha string) bool {
	for _, s := range m.Sources {
		if s.Path == path && s.SHA256 == sha {
			return true
		}
	}
	return false
}

// TablePrefix returns the key prefix of a table's objects.
func TablePrefix(dataset, table string) string {
	return "datasets/" + dataset + "/" + table + "/"
}

// ManifestKey returns the key of a table's current manifest.
func ManifestKey(dataset, table string) string {
	return TablePrefix(dataset, table) + "_manifest.json"
}

// HistoryKey returns the key of a table's kept manifest number seq.
func HistoryKey(dataset, table string, seq int) string {
	return fmt.Sprintf("%s_manifests/%06d.json", TablePrefix(dataset, table), seq)
}

// ErrFormatVersion is returned (wrapped) for a manifest written by a newer
// prevoir.
var ErrFormatVersion = errors.New("unsupported format version")

// ErrConflict is returned (wrapped) when another writer committed the
// table between this writer's read of the manifest and its commit.
var ErrConflict = errors.New("concurrent commit")

// ReadManifest reads the version of a table that the dataset's commit
// point (_dataset.json) names. A table never committed gives an error for
// which errors.Is(err, fs.ErrNotExist) is true.
func ReadManifest(ctx context.Context, st Store, dataset, table string) (*Manifest, error) {
	d, err := ReadDatasetManifest(ctx, st, dataset)
	if err != nil {
		return nil, fmt.Errorf("manifest %s/%s: %w", dataset, table, err)
	}
	return d.Manifest(ctx, st, table)
}

// Manifest reads the committed version of table that d names.
func (d *DatasetManifest) Manifest(ctx context.Context, st Store, table string) (*Manifest, error) {
	ref, ok := d.Tables[table]
	if !ok {
		return nil, fmt.Errorf("manifest %s/%s: table not committed: %w", d.Dataset, table, fs.ErrNotExist)
	}
	m, err := ReadManifestKey(ctx, st, ref.Manifest)
	if err != nil {
		return nil, fmt.Errorf("manifest %s/%s: %w", d.Dataset, table, err)
	}
	return m, nil
}

// ReadManifestKey reads a manifest stored under key: a kept version.
func ReadManifestKey(ctx context.Context, st Store, key string) (*Manifest, error) {
	b, err := ReadAll(ctx, st, key)
	if err != nil {
		return nil, err
	}
	return decodeManifest(b, key)
}

func decodeManifest(b []byte, key string) (*Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("manifest %s: %w", key, err)
	}
	if m.FormatVersion > FormatVersion || m.FormatVersion < 1 {
		return nil, fmt.Errorf("manifest %s: format_version %d: %w (this prevoir reads up to %d)", key, m.FormatVersion, ErrFormatVersion, FormatVersion)
	}
	return &m, nil
}

func encodeManifest(m *Manifest) []byte {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		panic(err) // only plain data
	}
	return append(b, '\n')
}

// commitManifest makes m the table's next version: CommitTables with one
// table.
func commitManifest(ctx context.Context, st Store, prev, m *Manifest) (committed bool, err error) {
	return CommitTables(ctx, st, m.Dataset, m.Run, []TableVersion{{Base: prev, Next: m}}, m.CreatedAt)
}

// ListDatasets returns the names of the datasets in the store: the
// folders under datasets/ with a _dataset.json (or, written before it
// existed, a table manifest), sorted.
func ListDatasets(ctx context.Context, st Store) ([]string, error) {
	objs, err := st.List(ctx, "datasets/")
	if err != nil {
		return nil, fmt.Errorf("list datasets: %w", err)
	}
	seen := map[string]bool{}
	for _, o := range objs {
		parts := strings.Split(o.Key, "/")
		if len(parts) == 3 && parts[2] == "_dataset.json" || len(parts) == 4 && parts[3] == "_manifest.json" {
			seen[parts[1]] = true
		}
	}
	return sortedKeys(seen), nil
}

// ListTables returns the committed tables of a dataset, in TableNames
// order: those its _dataset.json names.
func ListTables(ctx context.Context, st Store, dataset string) ([]string, error) {
	d, err := ReadDatasetManifest(ctx, st, dataset)
	if err != nil {
		return nil, fmt.Errorf("list dataset %s: %w", dataset, err)
	}
	var out []string
	for _, t := range TableNames {
		if _, ok := d.Tables[t]; ok {
			out = append(out, t)
		}
	}
	return out, nil
}

// ErrNoDataset is returned (wrapped) when a dataset cannot be chosen.
var ErrNoDataset = errors.New("no such dataset")

// ResolveDataset picks the dataset a command works on: name when given
// (it must exist), else the store's only dataset. With none or several it
// fails, listing them, and errors.Is(err, ErrNoDataset) is true.
func ResolveDataset(ctx context.Context, st Store, name string) (string, error) {
	if name != "" {
		if err := ValidDatasetName(name); err != nil {
			return "", err
		}
	}
	names, err := ListDatasets(ctx, st)
	if err != nil {
		return "", err
	}
	if name != "" {
		for _, n := range names {
			if n == name {
				return name, nil
			}
		}
		if len(names) == 0 {
			return "", &FieldError{Field: "Dataset", Value: name, Msg: fmt.Sprintf("no such dataset: the store %s holds none yet", st.URL()), Err: ErrNoDataset}
		}
		return "", &FieldError{Field: "Dataset", Value: name, Msg: fmt.Sprintf("no such dataset in %s (datasets: %s)", st.URL(), strings.Join(names, ", ")), Err: ErrNoDataset}
	}
	switch len(names) {
	case 0:
		return "", fmt.Errorf("%w: the store %s holds no dataset yet (import or generate one first)", ErrNoDataset, st.URL())
	case 1:
		return names[0], nil
	}
	return "", &FieldError{Field: "Dataset", Msg: fmt.Sprintf("none chosen, and the store holds %d datasets (datasets: %s)", len(names), strings.Join(names, ", ")), Err: ErrNoDataset}
}

// ValidDatasetName checks a dataset name: letters, digits, '.', '_' and
// '-', starting with a letter or digit, at most 100 bytes.
func ValidDatasetName(name string) error {
	if name == "" || len(name) > 100 {
		return fmt.Errorf("dataset name %q: want 1 to 100 characters", name)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || (i > 0 && (c == '.' || c == '_' || c == '-'))
		if !ok {
			return fmt.Errorf("dataset name %q: use letters, digits, '.', '_' and '-', starting with a letter or digit", name)
		}
	}
	return nil
}

// MarkRedacted rewrites the kept manifests of a table that list any of
// keys (deleted parts), setting RedactedByForget on those parts. The
// current manifest is not touched: the caller commits a new version
// without the parts first.
func MarkRedacted(ctx context.Context, st Store, dataset, table string, keys map[string]bool) (rewritten []string, err error) {
	objs, err := st.List(ctx, TablePrefix(dataset, table)+"_manifests/")
	if err != nil {
		return nil, err
	}
	for _, o := range objs {
		if path.Ext(o.Key) != ".json" {
			continue
		}
		m, err := ReadManifestKey(ctx, st, o.Key)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return rewritten, err
		}
		changed := false
		for i := range m.Parts {
			if keys[m.Parts[i].Key] && !m.Parts[i].RedactedByForget {
				m.Parts[i].RedactedByForget = true
				changed = true
			}
		}
		if !changed {
			continue
		}
		if _, err := PutBytes(ctx, st, o.Key, encodeManifest(m), PutOptions{ContentType: "application/json"}); err != nil {
			return rewritten, err
		}
		rewritten = append(rewritten, o.Key)
	}
	return rewritten, nil
}
