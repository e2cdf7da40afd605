package features

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"

	"github.com/prevoir/prevoir/datasets"
)

// FormatVersion is the version of the feature table layout this code
// writes; readers refuse a newer one.
const FormatVersion = 1

// Column is one column of a feature table as its manifest records it.
type Column struct {
	Name        string `json:"name"`
	Type        string `json:"type"` // string, timestamp, int64 or double
	Kind        Kind   `json:"kind,omitempty"`
	Nullable    bool   `json:"nullable"`
	Description string `json:"description"`
	// Role is "id", "feature" or "label".
	Role string `json:"role"`
}

// Params are everything that changes a table's rows besides the data:
// their hash is the table's spec.
type Params struct {
	Task       string `json:"task"`
	FeatureSet string `json:"feature_set"`
	Version    int    `json:"version"`
	Lookback   string `json:"lookback"`
	// Horizon is recorded only with labels: a scoring table does not
	// depend on it.
	Horizon string `json:"horizon,omitempty"`
	Labels  bool   `json:"labels"`
	// Events and Loyalty say whether those tables fed the features.
	Events  bool `json:"events"`
	Loyalty bool `json:"loyalty"`
	// Entities is the SHA-256 of the entity rows, for --entities builds.
	Entities string `json:"entities,omitempty"`
	// The propensity task's level and candidate options
	// (features/propensity.go); empty for other tasks.
	Level    string `json:"level,omitempty"`
	AssocK   int    `json:"assoc_k,omitempty"`
	PopularK int    `json:"popular_k,omitempty"`
	// Demand task: the period, the top-products count and the measure.
	Period      string `json:"period,omitempty"`
	TopProducts int    `json:"top_products,omitempty"`
	Measure     string `json:"measure,omitempty"`
}

// Spec returns the short hash of the parameters.
func (p Params) Spec() string {
	b, _ := json.Marshal(p)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])[:12]
}

// Input is a dataset table a build read.
type Input struct {
	Table string `json:"table"`
	Seq   int    `json:"seq"`
	// SHA256 is the hex SHA-256 of the table's manifest as read.
	SHA256 string `json:"manifest_sha256"`
	Rows   int64  `json:"rows"`
}

// PartInfo is one Parquet file of a feature table.
type PartInfo struct {
	Key    string `json:"key"`
	Rows   int64  `json:"rows"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
	Shard  int    `json:"shard"`
}

// Balance counts the label values of a table.
type Balance struct {
	Positives int64   `json:"positives"`
	Negatives int64   `json:"negatives"`
	Rate      float64 `json:"rate"`
}

// Manifest describes a committed feature table. A reader trusts only a
// folder with a manifest, and only the parts it lists.
type Manifest struct {
	FormatVersion int    `json:"format_version"`
	Dataset       string `json:"dataset"`
	Task          string `json:"task"`
	// AsOf is the folder's as_of: a date (YYYY-MM-DD, 00:00 in the
	// dataset's zone), or "entities" for a table with per-row cutoffs.
	AsOf     string     `json:"as_of"`
	AsOfTime *time.Time `json:"as_of_time,omitempty"`
	TZ       string     `json:"tz"`
	Spec     string     `json:"spec"`
	Params   Params     `json:"params"`
	// Schema lists every column in order: ids, features, label.
	Schema []Column `json:"schema"`
	// Fingerprint is Schema().Fingerprint() of the feature columns.
	Fingerprint string `json:"fingerprint"`
	// Label names the label column, empty without labels; LabelMeaning
	// says what 1 means.
	Label        string     `json:"label,omitempty"`
	LabelMeaning string     `json:"label_meaning,omitempty"`
	Balance      *Balance   `json:"label_balance,omitempty"`
	Rows         int64      `json:"rows"`
	Shards       int        `json:"shards"`
	Parts        []PartInfo `json:"parts"`
	Inputs       []Input    `json:"inputs"`
	Run          string     `json:"run"`
	CreatedAt    time.Time  `json:"created_at"`
	// Candidates counts a propensity table's candidate rows by source
	// (nil for other tasks).
	Candidates *Candidates `json:"candidates,omitempty"`
}

// FeatureSchema returns the feature columns as a Schema, in order (ids
// and label left out): what a model trained on the table records.
func (m *Manifest) FeatureSchema() Schema {
	var s Schema
	for _, c := range m.Schema {
		if c.Role == "feature" {
			s.Features = append(s.Features, Feature{Name: c.Name, Kind: c.Kind, Nullable: c.Nullable, Description: c.Description, Type: c.Type})
		}
	}
	return s
}

// IDColumns returns the names of the id columns (customer_id, and as_of
// for entity tables).
func (m *Manifest) IDColumns() []string {
	var out []string
	for _, c := range m.Schema {
		if c.Role == "id" {
			out = append(out, c.Name)
		}
	}
	return out
}

// Prefix returns the folder of a feature table.
func Prefix(dataset, task, asOf, spec string) string {
	return "features/" + dataset + "/" + task + "/" + asOf + "/" + spec + "/"
}

// Key returns the key of the table's manifest.
func (m *Manifest) Key() string { return Prefix(m.Dataset, m.Task, m.AsOf, m.Spec) + "_manifest.json" }

// ReadManifest reads the manifest of a feature table; a table never
// committed gives an error for which errors.Is(err, fs.ErrNotExist).
func ReadManifest(ctx context.Context, st datasets.Store, dataset, task, asOf, spec string) (*Manifest, error) {
	return readManifestKey(ctx, st, Prefix(dataset, task, asOf, spec)+"_manifest.json")
}

func readManifestKey(ctx context.Context, st datasets.Store, key string) (*Manifest, error) {
	b, err := datasets.ReadAll(ctx, st, key)
	if err != nil {
		return nil, fmt.Errorf("feature manifest %s: %w", key, err)
	}
	return decodeManifest(b, key)
}

func decodeManifest(b []byte, key string) (*Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("feature manifest %s: %w", key, err)
	}
	if m.FormatVersion > FormatVersion || m.FormatVersion < 1 {
		return nil, fmt.Errorf("feature manifest %s: format_version %d: this prevoir reads up to %d", key, m.FormatVersion, FormatVersion)
	}
	return &m, nil
}

func encodeJSON(v any) []byte {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		panic(err)
	}
	return append(b, '\n')
}

// rowSchema builds the Parquet schema of a table's columns, in order.
func rowSchema(cols []Column) *parquet.Schema {
	fields := make([]reflect.StructField, len(cols))
	for i, c := range cols {
		var typ reflect.Type
		tag := c.Name
		switch c.Type {
		case "string":
			typ = reflect.TypeOf("")
		case "timestamp":
			typ = reflect.TypeOf(int64(0))
			tag += ",timestamp(microsecond)"
		case "int64":
			typ = reflect.TypeOf(int64(0))
		default:
			typ = reflect.TypeOf(float64(0))
		}
		if c.Nullable {
			tag += ",optional"
		}
		fields[i] = reflect.StructField{Name: fmt.Sprintf("F%d", i), Type: typ, Tag: reflect.StructTag(`parquet:"` + tag + `"`)}
	}
	return parquet.SchemaOf(reflect.New(reflect.StructOf(fields)).Interface())
}

// outRow is one row of a feature table before encoding.
//
// Id columns take their values in schema order: the first string id
// (customer_id, or product_id for a product task) from cust, the next
// string ids from keys, int64 ids (a forecast step) from ints, and a
// timestamp id from asOf. Features and the label follow in vals/valid.
type outRow struct {
	cust  string
	keys  []string
	ints  []int64
	asOf  int64
	vals  []float64
	valid []bool
}

// partRows bounds the rows of one feature part.
const partRows = 1 << 20

// partWriter writes a table's rows as parts of partRows rows, in the
// order it is given them, each part as soon as it fills: a task that
// streams its rows never holds more than a part of them.
type partWriter struct {
	ctx     context.Context
	st      datasets.Store
	p       *plan
	run     string
	pending []outRow
	parts   []PartInfo
	rows    int64
}

// add queues rows and writes every full part.
func (w *partWriter) add(rows []outRow) error {
	w.rows += int64(len(rows))
	if len(w.pending) == 0 {
		for len(rows) >= partRows {
			if err := w.put(rows[:partRows]); err != nil {
				return err
			}
			rows = rows[partRows:]
		}
	}
	w.pending = append(w.pending, rows...)
	for len(w.pending) >= partRows {
		if err := w.put(w.pending[:partRows]); err != nil {
			return err
		}
		w.pending = slices.Delete(w.pending, 0, partRows)
	}
	return nil
}

// close writes the last part (an empty one for an empty table).
func (w *partWriter) close() error {
	if len(w.pending) > 0 || len(w.parts) == 0 {
		if err := w.put(w.pending); err != nil {
			return err
		}
	}
	w.pending = nil
	return nil
}

// abort removes the parts written.
func (w *partWriter) abort() { deleteKeys(w.ctx, w.st, partKeys(w.parts)) }

func (w *partWriter) put(rows []outRow) error {
	p := w.p
	b, err := encodePart(p.cols, rows)
	if err != nil {
		return err
	}
	key := fmt.Sprintf("%spart-%s-s%03dof%03d-%05d.parquet", p.prefix, w.run, p.opts.Shard, p.opts.Shards, len(w.parts))
	pi, err := putPart(w.ctx, w.st, key, b, int64(len(rows)), p.opts.Shard)
	if err != nil {
		return err
	}
	w.parts = append(w.parts, pi)
	return nil
}

// encodePart writes rows as one zstd Parquet file, as the dataset parts
// are written (bounded row groups).
func encodePart(cols []Column, rows []outRow) ([]byte, error) {
	schema := rowSchema(cols)
	var buf bytes.Buffer
	w := parquet.NewWriter(&buf, schema,
		parquet.Compression(&zstd.Codec{Level: zstd.SpeedFastest}),
		parquet.MaxRowsPerRowGroup(1<<17),
		parquet.CreatedBy("prevoir", "", ""),
	)
	batch := make([]parquet.Row, 0, 256)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		_, err := w.WriteRows(batch)
		batch = batch[:0]
		return err
	}
	for i := range rows {
		r := &rows[i]
		row := make(parquet.Row, len(cols))
		k, ks, ki := 0, -1, 0
		for j, c := range cols {
			def := 0
			if c.Nullable {
				def = 1
			}
			var v parquet.Value
			switch {
			case c.Role == "id" && c.Type == "string":
				if ks < 0 {
					v = parquet.ByteArrayValue([]byte(r.cust))
				} else {
					v = parquet.ByteArrayValue([]byte(r.keys[ks]))
				}
				ks++
			case c.Role == "id" && c.Type == "int64":
				v = parquet.Int64Value(r.ints[ki])
				ki++
			case c.Role == "id" && c.Type == "timestamp":
				v = parquet.Int64Value(r.asOf)
			default:
				if !r.valid[k] {
					v = parquet.NullValue()
					def = 0
				} else if c.Type == "int64" {
					v = parquet.Int64Value(int64(r.vals[k]))
				} else {
					v = parquet.DoubleValue(r.vals[k])
				}
				k++
			}
			row[j] = v.Level(0, def, j)
		}
		batch = append(batch, row)
		if len(batch) == cap(batch) {
			if err := flush(); err != nil {
				return nil, err
			}
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// putPart stores a part and describes it.
func putPart(ctx context.Context, st datasets.Store, key string, b []byte, rows int64, shard int) (PartInfo, error) {
	sum := sha256.Sum256(b)
	if _, err := datasets.PutBytes(ctx, st, key, b, datasets.PutOptions{IfAbsent: true, ContentType: "application/vnd.apache.parquet"}); err != nil {
		return PartInfo{}, fmt.Errorf("write %s: %w", key, err)
	}
	return PartInfo{Key: key, Rows: rows, Bytes: int64(len(b)), SHA256: hex.EncodeToString(sum[:]), Shard: shard}, nil
}

// Rows reads a feature table's rows in stored order: fn gets the row's
// values by column (nil for a null), in Schema order. Values are int64,
// float64, string, or time.Time for timestamps.
func Rows(ctx context.Context, st datasets.Store, m *Manifest, fn func(row []any) error) error {
	for _, p := range m.Parts {
		if err := readPartRows(ctx, st, m.Schema, p.Key, fn); err != nil {
			return err
		}
	}
	return nil
}

func readPartRows(ctx context.Context, st datasets.Store, cols []Column, key string, fn func(row []any) error) error {
	obj, err := st.Open(ctx, key)
	if err != nil {
		return fmt.Errorf("open %s: %w", key, err)
	}
	defer obj.Close()
	pos := make([]int, len(cols))
	var width int
	var rr *parquet.Reader
	if err := datasets.Guard("open "+key, func() error {
		f, err := parquet.OpenFile(obj, obj.Size())
		if err != nil {
			return fmt.Errorf("open %s: %w", key, err)
		}
		for i, c := range cols {
			leaf, ok := f.Schema().Lookup(c.Name)
			if !ok {
				return fmt.Errorf("%s: no column %q", key, c.Name)
			}
			pos[i] = leaf.ColumnIndex
		}
		width = len(f.Schema().Columns())
		rr = parquet.NewReader(f)
		return nil
	}); err != nil {
		return err
	}
	defer rr.Close()
	buf := make([]parquet.Row, 256)
	out := make([]any, len(cols))
	byCol := make([]parquet.Value, width)
	for {
		var n int
		// Decoding is guarded; fn runs outside the guard, so its own
		// panics stay panics.
		if perr := datasets.Guard("read "+key, func() error {
			n, err = rr.ReadRows(buf)
			return nil
		}); perr != nil {
			return perr
		}
		for _, row := range buf[:n] {
			clear(byCol)
			for _, v := range row {
				if c := v.Column(); c >= 0 && c < width {
					byCol[c] = v
				}
			}
			for i, c := range cols {
				v := byCol[pos[i]]
				if v.IsNull() {
					out[i] = nil
					continue
				}
				switch c.Type {
				case "string":
					out[i] = string(v.ByteArray())
				case "timestamp":
					out[i] = time.UnixMicro(v.Int64()).UTC()
				case "int64":
					out[i] = v.Int64()
				default:
					out[i] = v.Double()
				}
			}
			if err := fn(out); err != nil {
				return err
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", key, err)
		}
	}
}

// Frame is a feature table in memory, column by column: what a trainer
// fits on. Nulls are NaN in Values and false in Valid.
type Frame struct {
	Schema Schema
	// IDs are the values of the first string id column (customer_id, or
	// product_id for a product task); AsOf the per-row cutoffs.
	IDs  []string
	AsOf []time.Time
	// Keys[k] are the values of the k-th further string id column (the
	// item of a customer x item table, the warehouse of a forecast), and
	// Ints[k] those of the k-th int64 id column (a forecast step), in
	// schema order.
	Keys [][]string
	Ints [][]int64
	// Values[j][i] is feature j of row i.
	Values [][]float64
	Valid  [][]bool
	// Label is the label column (nil without labels).
	Label []float64
}

// ReadFrame reads a whole feature table. Memory is proportional to its
// rows (customers), never to order lines.
func ReadFrame(ctx context.Context, st datasets.Store, m *Manifest) (*Frame, error) {
	fr := &Frame{Schema: m.FeatureSchema()}
	nf := len(fr.Schema.Features)
	fr.Values = make([][]float64, nf)
	fr.Valid = make([][]bool, nf)
	asOf := m.AsOfTime
	for _, c := range m.Schema[1:] {
		switch {
		case c.Role == "id" && c.Type == "string":
			fr.Keys = append(fr.Keys, nil)
		case c.Role == "id" && c.Type == "int64":
			fr.Ints = append(fr.Ints, nil)
		}
	}
	err := Rows(ctx, st, m, func(row []any) error {
		j, ks, ki := 0, -1, 0
		for i, c := range m.Schema {
			switch c.Role {
			case "id":
				switch v := row[i].(type) {
				case string:
					if ks < 0 {
						fr.IDs = append(fr.IDs, v)
					} else {
						fr.Keys[ks] = append(fr.Keys[ks], v)
					}
					ks++
				case int64:
					fr.Ints[ki] = append(fr.Ints[ki], v)
					ki++
				case time.Time:
					fr.AsOf = append(fr.AsOf, v)
				}
			case "feature":
				x, ok := toFloat(row[i])
				if !ok {
					x = math.NaN()
				}
				fr.Values[j] = append(fr.Values[j], x)
				fr.Valid[j] = append(fr.Valid[j], ok)
				j++
			case "label":
				x, _ := toFloat(row[i])
				fr.Label = append(fr.Label, x)
			}
		}
		if !hasAsOfColumn(m) && asOf != nil {
			fr.AsOf = append(fr.AsOf, *asOf)
		}
		return nil
	})
	return fr, err
}

func hasAsOfColumn(m *Manifest) bool {
	for _, c := range m.Schema {
		if c.Role == "id" && c.Type == "timestamp" {
			return true
		}
	}
	return false
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

// Table is one committed feature table, as `features ls` lists it.
type Table struct {
	Dataset string    `json:"dataset"`
	Task    string    `json:"task"`
	AsOf    string    `json:"as_of"`
	Spec    string    `json:"spec"`
	Rows    int64     `json:"rows"`
	Labels  bool      `json:"labels"`
	Set     string    `json:"feature_set"`
	Created time.Time `json:"created_at"`
	Key     string    `json:"key"`
}

// List returns the committed feature tables of the store (dataset empty:
// every dataset), sorted by dataset, task, as_of, creation.
func List(ctx context.Context, st datasets.Store, dataset string) ([]Table, error) {
	prefix := "features/"
	if dataset != "" {
		prefix += dataset + "/"
	}
	objs, err := st.List(ctx, prefix)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("list feature tables: %w", err)
	}
	var out []Table
	for _, o := range objs {
		segs := strings.Split(o.Key, "/")
		if len(segs) != 6 || segs[5] != "_manifest.json" {
			continue
		}
		m, err := readManifestKey(ctx, st, o.Key)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return nil, err
		}
		out = append(out, Table{Dataset: m.Dataset, Task: m.Task, AsOf: m.AsOf, Spec: m.Spec, Rows: m.Rows,
			Labels: m.Label != "", Set: m.Params.FeatureSet, Created: m.CreatedAt, Key: o.Key})
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Dataset != b.Dataset {
			return a.Dataset < b.Dataset
		}
		if a.Task != b.Task {
			return a.Task < b.Task
		}
		if a.AsOf != b.AsOf {
			return a.AsOf < b.AsOf
		}
		return a.Created.Before(b.Created)
	})
	return out, nil
}

// Latest returns the manifest of the most recently built table for a
// dataset, task and as_of (any spec), or one spec when spec is not empty.
func Latest(ctx context.Context, st datasets.Store, dataset, task, asOf, spec string) (*Manifest, error) {
	if spec != "" {
		return ReadManifest(ctx, st, dataset, task, asOf, spec)
	}
	tabs, err := List(ctx, st, dataset)
	if err != nil {
		return nil, err
	}
	var best *Table
	for i := range tabs {
		t := &tabs[i]
		if t.Task == task && t.AsOf == asOf && (best == nil || !t.Created.Before(best.Created)) {
			best = t
		}
	}
	if best == nil {
		return nil, fmt.Errorf("feature table %s/%s as of %s: %w: build it first", dataset, task, asOf, fs.ErrNotExist)
	}
	return readManifestKey(ctx, st, best.Key)
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
