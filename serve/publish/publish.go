package publish

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"time"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/datasets/privacy"
	"github.com/prevoir/prevoir/features"
)

// FormatVersion is the version of the publication layout this code
// writes; readers refuse a newer one.
const FormatVersion = 1

// Root is the store prefix of every publication.
const Root = "scores/"

// Formats of a publication's parts.
const (
	FormatParquet = "parquet"
	FormatCSV     = "csv"
)

// Column types.
const (
	TypeString = "string"
	TypeDouble = "double"
	TypeInt64  = "int64"
)

// Column is one column of a published table. Values are string, float64
// or int64 by Type; nil is a null.
type Column struct {
	Name string `json:"name"`
	// Type is string, double or int64.
	Type        string `json:"type"`
	Description string `json:"description,omitempty"`
}

// TableSpec declares one table a Scorer writes.
type TableSpec struct {
	Name    string   `json:"name"`
	Columns []Column `json:"columns"`
	// SortBy names the string column rows are sorted by (byte order),
	// empty to keep the order the Scorer emits them in.
	SortBy string `json:"sort_by,omitempty"`
	// ThenBy names further columns (string or int64) that order rows with
	// the same SortBy value: a customer's offers by rank, a product's
	// forecasts by warehouse and step.
	ThenBy []string `json:"then_by,omitempty"`
	// Customer names the column holding a customer id, empty for a table
	// without customer rows: rows of forgotten customers are never
	// published, and exports can leave out opted-out ones.
	Customer string `json:"customer,omitempty"`
}

// Scorer is what a task declares: the tables of its publication and how
// input rows become output rows.
type Scorer interface {
	// Tables lists the tables of a publication, the first being the main
	// one (its rows are the manifest's Rows).
	Tables() []TableSpec
	// Score turns a batch of input rows into output rows, passing each
	// to emit with the index of its table in Tables. The rows passed to
	// emit are the Scorer's to reuse after emit returns.
	Score(ctx context.Context, in [][]any, emit func(table int, row []any) error) error
}

// Source streams the input rows of a publication to fn, which must not
// keep the slice.
type Source func(ctx context.Context, fn func(row []any) error) error

// ModelRef names the model that scored a publication.
type ModelRef struct {
	Name    string `json:"name"`
	Version int    `json:"version"`
	Kind    string `json:"kind"`
	// CardSHA256 is the SHA-256 of the model's card.json as stored: its
	// fingerprint.
	CardSHA256 string `json:"card_sha256"`
}

// FeatureRef names the feature table a publication scored.
type FeatureRef struct {
	Key               string `json:"manifest"`
	Spec              string `json:"spec"`
	SchemaFingerprint string `json:"schema_fingerprint"`
	// ManifestSHA256 is the SHA-256 of the feature table's manifest.
	ManifestSHA256 string `json:"manifest_sha256"`
	Rows           int64  `json:"rows"`
}

// DatasetInput is a dataset table version the features were built from.
type DatasetInput struct {
	Table  string `json:"table"`
	Seq    int    `json:"seq"`
	SHA256 string `json:"manifest_sha256"`
}

// FromFeatures records the feature table a publication is scored from:
// its reference, with the checksum of its manifest as stored, and the
// dataset table versions it was built from.
func (l *Lineage) FromFeatures(ctx context.Context, st datasets.Store, fm *features.Manifest) error {
	b, err := datasets.ReadAll(ctx, st, fm.Key())
	if err != nil {
		return err
	}
	l.Features = &FeatureRef{Key: fm.Key(), Spec: fm.Spec, SchemaFingerprint: fm.Fingerprint, ManifestSHA256: SHA256Hex(b), Rows: fm.Rows}
	l.Datasets = l.Datasets[:0]
	for _, in := range fm.Inputs {
		l.Datasets = append(l.Datasets, DatasetInput{Table: in.Table, Seq: in.Seq, SHA256: in.SHA256})
	}
	return nil
}

// Lineage is what the caller records about where a publication's rows
// came from and how they were scored.
type Lineage struct {
	Model    *ModelRef      `json:"model,omitempty"`
	Features *FeatureRef    `json:"features,omitempty"`
	Datasets []DatasetInput `json:"dataset_manifests,omitempty"`
	// Params are the task's settings (band thresholds, ...).
	Params map[string]any `json:"params,omitempty"`
	// Notes say what a reader should know (why reasons are empty, ...).
	Notes []string `json:"notes,omitempty"`
}

// Part is one file of a published table.
type Part struct {
	Key    string `json:"key"`
	Rows   int64  `json:"rows"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// Table is one committed table of a publication.
type Table struct {
	TableSpec
	Rows  int64  `json:"rows"`
	Parts []Part `json:"parts"`
}

// Manifest is a publication's commit point: a reader trusts only a folder
// with a manifest, and only the parts it lists.
type Manifest struct {
	FormatVersion  int       `json:"format_version"`
	Dataset        string    `json:"dataset"`
	Task           string    `json:"task"`
	AsOf           string    `json:"as_of"`
	Run            string    `json:"run"`
	CreatedAt      time.Time `json:"created_at"`
	PrevoirVersion string    `json:"prevoir_version"`
	Format         string    `json:"format"`
	// Rows is the main (first) table's row count.
	Rows int64 `json:"rows"`
	// Suppressed counts the rows left out because their customer was
	// forgotten.
	Suppressed int64   `json:"suppressed"`
	Tables     []Table `json:"tables"`
	// Shard and Shards are set on a shard's receipt (Shards > 1); Shards
	// on a publication committed from shards.
	Shard  int `json:"shard,omitempty"`
	Shards int `json:"shards,omitempty"`
	// ShardRuns are the runs of the shards a committed publication was
	// made from, in shard order.
	ShardRuns []string `json:"shard_runs,omitempty"`
	Lineage
}

// Table returns the table named name, or the main table for "".
func (m *Manifest) Table(name string) (*Table, error) {
	if name == "" && len(m.Tables) > 0 {
		return &m.Tables[0], nil
	}
	for i := range m.Tables {
		if m.Tables[i].Name == name {
			return &m.Tables[i], nil
		}
	}
	return nil, fmt.Errorf("publication %s: no table %q: %w", Prefix(m.Dataset, m.Task, m.AsOf), name, fs.ErrNotExist)
}

// Prefix returns the folder of a publication.
func Prefix(dataset, task, asOf string) string {
	return Root + dataset + "/" + task + "/" + asOf + "/"
}

// ManifestKey returns the key of a publication's manifest.
func ManifestKey(dataset, task, asOf string) string {
	return Prefix(dataset, task, asOf) + "_manifest.json"
}

// LatestKey returns the key of a task's LATEST pointer.
func LatestKey(dataset, task string) string { return Root + dataset + "/" + task + "/LATEST" }

// Pointer is the content of LATEST: the as_of of the newest publication.
type Pointer struct {
	AsOf string `json:"as_of"`
	// Run is the run that last moved the pointer.
	Run     string    `json:"run"`
	MovedAt time.Time `json:"moved_at"`
}

// Options describe one publication.
type Options struct {
	Dataset, Task string
	// AsOf is the publication's date, YYYY-MM-DD.
	AsOf string
	// Format is FormatParquet (default) or FormatCSV.
	Format string
	// Lineage is recorded in the manifest.
	Lineage Lineage
	// PrevoirVersion is recorded in the manifest.
	PrevoirVersion string
	// Shard and Shards: with Shards > 1, Publish writes shard Shard's
	// parts and its receipt (a pending manifest), and Commit later makes
	// the publication of all shards. The caller gives each shard its own
	// input rows (features.ShardOf).
	Shard, Shards int
	// BatchRows is the number of input rows per Score call (default 4096);
	// PartRows the most rows per part (default 1<<20).
	BatchRows, PartRows int
	// Now is the creation time recorded (default time.Now).
	Now func() time.Time
}

func (o *Options) defaults() error {
	if o.Format == "" {
		o.Format = FormatParquet
	}
	if o.Format != FormatParquet && o.Format != FormatCSV {
		return datasets.Fieldf("Format", o.Format, "want %s or %s", FormatParquet, FormatCSV)
	}
	if o.Dataset == "" {
		return datasets.Fieldf("Dataset", "", "a publication needs a dataset")
	}
	if datasets.ValidDatasetName(o.Task) != nil {
		return datasets.Fieldf("Task", o.Task, "a task name: letters, digits, '.', '_' and '-'")
	}
	if _, err := time.Parse(time.DateOnly, o.AsOf); err != nil {
		return datasets.Fieldf("AsOf", o.AsOf, "want a date YYYY-MM-DD")
	}
	if o.Shards > 1 && (o.Shard < 0 || o.Shard >= o.Shards) {
		return datasets.Fieldf("Shard", fmt.Sprintf("%d/%d", o.Shard, o.Shards), "want i/n with 0 <= i < n")
	}
	if o.BatchRows <= 0 {
		o.BatchRows = 4096
	}
	if o.PartRows <= 0 {
		o.PartRows = 1 << 20
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return nil
}

// Publish scores every row of in with sc and publishes the result under
// Prefix(Dataset, Task, AsOf), replacing an earlier publication of that
// as_of, then moves LATEST there unless it names a later as_of. Rows of
// forgotten customers are left out. When the manifest's compare-and-swap
// loses to another run of the same as_of, Publish removes its parts and
// returns an error wrapping datasets.ErrConflict; the other run's
// publication stands whole. With o.Shards > 1 it writes only the shard's
// parts and receipt (returned), for Commit. A non-nil manifest with an
// error means the publication is committed but LATEST did not move.
func Publish(ctx context.Context, st datasets.Store, o Options, in Source, sc Scorer) (*Manifest, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	specs := sc.Tables()
	if err := checkSpecs(specs); err != nil {
		return nil, err
	}
	key := ManifestKey(o.Dataset, o.Task, o.AsOf)
	_, etag, err := datasets.ReadVersioned(ctx, st, key)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("publish %s: %w", key, err)
	}
	sup, err := privacy.Load(ctx, st)
	if err != nil {
		return nil, fmt.Errorf("publish %s: %w", key, err)
	}
	run := datasets.NewRunID()
	tables, suppressed, err := score(ctx, st, o, run, in, sc, specs, sup)
	if err != nil {
		return nil, fmt.Errorf("publish %s: %w", key, err)
	}
	m := &Manifest{
		FormatVersion: FormatVersion, Dataset: o.Dataset, Task: o.Task, AsOf: o.AsOf, Run: run,
		CreatedAt: o.Now().UTC().Truncate(time.Second), PrevoirVersion: o.PrevoirVersion, Format: o.Format,
		Suppressed: suppressed, Lineage: o.Lineage, Tables: tables, Rows: tables[0].Rows,
	}
	if o.Shards > 1 {
		return writeShard(ctx, st, o, m)
	}
	return commit(ctx, st, o, m, etag)
}

// commit swaps the manifest of the written parts in (replacing the one
// whose ETag is etag) and moves LATEST; when the swap fails, it removes
// the parts.
func commit(ctx context.Context, st datasets.Store, o Options, m *Manifest, etag string) (*Manifest, error) {
	key := ManifestKey(o.Dataset, o.Task, o.AsOf)
	if _, err := datasets.SwapObject(ctx, st, key, encodeManifest(m), etag); err != nil {
		if cur, rerr := ReadManifest(context.WithoutCancel(ctx), st, o.Dataset, o.Task, o.AsOf); rerr == nil && cur.Run == m.Run {
			// The swap went through and only its reply was lost.
		} else if rerr == nil || errors.Is(rerr, fs.ErrNotExist) {
			deleteAll(ctx, st, m.partKeys())
			return nil, fmt.Errorf("publish %s: %w", key, err)
		} else {
			return nil, fmt.Errorf("publish %s: %w (parts kept: the commit may have gone through)", key, err)
		}
	}
	if err := MoveLatest(ctx, st, o.Dataset, o.Task, o.AsOf, m.Run, o.Now()); err != nil {
		return m, err
	}
	return m, nil
}

// partKeys lists the keys of every part of m.
func (m *Manifest) partKeys() []string {
	var keys []string
	for _, t := range m.Tables {
		for _, p := range t.Parts {
			keys = append(keys, p.Key)
		}
	}
	return keys
}

// encodeManifest is a manifest's stored form.
func encodeManifest(m *Manifest) []byte {
	b, _ := json.MarshalIndent(m, "", "  ")
	return append(b, '\n')
}

func checkSpecs(specs []TableSpec) error {
	if len(specs) == 0 {
		return errors.New("publish: the scorer declares no table")
	}
	seen := map[string]bool{}
	for _, s := range specs {
		if err := datasets.ValidDatasetName(s.Name); err != nil {
			return fmt.Errorf("publish: table name %q: use letters, digits, '.', '_' and '-'", s.Name)
		}
		if seen[s.Name] {
			return fmt.Errorf("publish: table %q declared twice", s.Name)
		}
		seen[s.Name] = true
		if len(s.ThenBy) > 0 && s.SortBy == "" {
			return fmt.Errorf("publish: table %q: ThenBy without SortBy", s.Name)
		}
		for _, named := range append([]string{s.SortBy, s.Customer}, s.ThenBy...) {
			if named != "" && colIndex(s.Columns, named) < 0 {
				return fmt.Errorf("publish: table %q: no column %q", s.Name, named)
			}
		}
		for _, c := range s.Columns {
			if c.Type != TypeString && c.Type != TypeDouble && c.Type != TypeInt64 {
				return fmt.Errorf("publish: table %q: column %q: type %q (want string, double or int64)", s.Name, c.Name, c.Type)
			}
		}
	}
	return nil
}

func colIndex(cols []Column, name string) int {
	for i, c := range cols {
		if c.Name == name {
			return i
		}
	}
	return -1
}

// score runs the scorer over every input row, in batches, and writes each
// table's rows (forgotten customers left out), sorted as declared, as parts
// of run; it returns the tables, or removes what it wrote on error.
func score(ctx context.Context, st datasets.Store, o Options, run string, in Source, sc Scorer, specs []TableSpec, sup *privacy.Suppressions) ([]Table, int64, error) {
	ws := make([]*tableWriter, len(specs))
	cust := make([]int, len(specs))
	for i, s := range specs {
		ws[i] = newTableWriter(ctx, st, o, run, s)
		cust[i] = -1
		if s.Customer != "" {
			cust[i] = colIndex(s.Columns, s.Customer)
		}
	}
	abort := func() {
		for _, w := range ws {
			w.abort()
		}
	}
	var suppressed int64
	emit := func(t int, row []any) error {
		if t < 0 || t >= len(specs) {
			return fmt.Errorf("scorer emitted a row for table %d of %d", t, len(specs))
		}
		if len(row) != len(specs[t].Columns) {
			return fmt.Errorf("table %q: scorer emitted %d values for %d columns", specs[t].Name, len(row), len(specs[t].Columns))
		}
		if err := checkRow(specs[t], row); err != nil {
			return err
		}
		if c := cust[t]; c >= 0 {
			if id, _ := row[c].(string); sup.Forgotten(id) {
				if t == 0 {
					suppressed++
				}
				return nil
			}
		}
		return ws[t].add(slices.Clone(row))
	}
	batch := make([][]any, 0, o.BatchRows)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := sc.Score(ctx, batch, emit)
		batch = batch[:0]
		return err
	}
	err := in(ctx, func(row []any) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		batch = append(batch, slices.Clone(row))
		if len(batch) == o.BatchRows {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	tables := make([]Table, len(ws))
	for i, w := range ws {
		if err != nil {
			break
		}
		tables[i], err = w.close()
	}
	if err != nil {
		abort()
		return nil, 0, err
	}
	return tables, suppressed, nil
}

// compareValues orders two values of one column: strings by bytes,
// numbers by value, a null first.
func compareValues(a, b any) int {
	switch x := a.(type) {
	case string:
		y, _ := b.(string)
		return cmp.Compare(x, y)
	case int64:
		y, _ := b.(int64)
		return cmp.Compare(x, y)
	case float64:
		y, _ := b.(float64)
		return cmp.Compare(x, y)
	case nil:
		if b == nil {
			return 0
		}
		return -1
	}
	return 0
}

// checkRow refuses a value of the wrong type for its column.
func checkRow(s TableSpec, row []any) error {
	for i, c := range s.Columns {
		v := row[i]
		if v == nil {
			continue
		}
		ok := false
		switch c.Type {
		case TypeString:
			_, ok = v.(string)
		case TypeDouble:
			_, ok = v.(float64)
		case TypeInt64:
			_, ok = v.(int64)
		}
		if !ok {
			return fmt.Errorf("table %q: column %q (%s): scorer emitted %T", s.Name, c.Name, c.Type, v)
		}
	}
	return nil
}

// putPart encodes rows and stores them if absent.
func putPart(ctx context.Context, st datasets.Store, key, format string, cols []Column, rows [][]any) (Part, error) {
	var b []byte
	var err error
	ctype := "text/csv; charset=utf-8"
	if format == FormatParquet {
		b, err = encodeParquet(cols, rows)
		ctype = "application/vnd.apache.parquet"
	} else {
		b, err = encodeCSV(cols, rows)
	}
	if err != nil {
		return Part{}, fmt.Errorf("encode %s: %w", key, err)
	}
	if _, err := datasets.PutBytes(ctx, st, key, b, datasets.PutOptions{IfAbsent: true, ContentType: ctype}); err != nil {
		return Part{}, fmt.Errorf("write %s: %w", key, err)
	}
	sum := sha256.Sum256(b)
	return Part{Key: key, Rows: int64(len(rows)), Bytes: int64(len(b)), SHA256: hex.EncodeToString(sum[:])}, nil
}

// MoveLatest points LATEST at asOf by compare-and-swap, unless it already
// names a later as_of (a rerun of an older date never moves it back).
func MoveLatest(ctx context.Context, st datasets.Store, dataset, task, asOf, run string, now time.Time) error {
	key := LatestKey(dataset, task)
	for attempt := 0; attempt < 50; attempt++ {
		b, etag, err := datasets.ReadVersioned(ctx, st, key)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("move %s: %w", key, err)
		}
		if err == nil {
			var p Pointer
			if jerr := json.Unmarshal(b, &p); jerr == nil && p.AsOf > asOf {
				return nil
			}
		}
		nb, _ := json.MarshalIndent(Pointer{AsOf: asOf, Run: run, MovedAt: now.UTC().Truncate(time.Second)}, "", "  ")
		_, err = datasets.SwapObject(ctx, st, key, append(nb, '\n'), etag)
		if err == nil {
			return nil
		}
		if !errors.Is(err, datasets.ErrConflict) {
			return fmt.Errorf("move %s: %w", key, err)
		}
	}
	return fmt.Errorf("move %s: %w: LATEST kept changing", key, datasets.ErrConflict)
}
