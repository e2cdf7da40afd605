package datasets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"
)

// The commit protocol (docs/ARCHITECTURE.md, "The commit protocol"), the
// one rule every writer of the store follows:
//
//  1. a run's parts are named by its run id (unique per run), written
//     if-absent, before anything lists them;
//  2. a manifest is committed by compare-and-swap: SwapObject, if-absent
//     for a new one, if-match on the ETag of the one it replaces;
//  3. a run deletes only its own orphans (parts no committed manifest
//     lists), never a part a committed manifest lists, and leaves
//     everything else to `prevoir store gc`;
//  4. the loser of a race ends with the winner's table or a clear error
//     wrapping ErrConflict.

// SwapObject is the one compare-and-swap of the store: it puts b under key
// if no object is there (etag == "") or if the object there still has this
// ETag. A failed condition returns an error wrapping ErrConflict (and
// ErrPreconditionFailed), and nothing changed.
func SwapObject(ctx context.Context, st Store, key string, b []byte, etag string) (ObjectInfo, error) {
	opts := PutOptions{IfAbsent: etag == "", IfMatch: etag, ContentType: "application/json"}
	info, err := PutBytes(ctx, st, key, b, opts)
	if errors.Is(err, ErrPreconditionFailed) {
		return ObjectInfo{}, fmt.Errorf("commit %s: %w: another run committed first (%w)", key, ErrConflict, err)
	}
	return info, err
}

// ReadVersioned reads a small object and the ETag of exactly the bytes
// returned, for a later SwapObject.
func ReadVersioned(ctx context.Context, st Store, key string) (b []byte, etag string, err error) {
	for try := 0; try < 5; try++ {
		before, err := st.Stat(ctx, key)
		if err != nil {
			return nil, "", err
		}
		b, err = ReadAll(ctx, st, key)
		if err != nil {
			return nil, "", err
		}
		after, err := st.Stat(ctx, key)
		if err != nil {
			return nil, "", err
		}
		if before.ETag == after.ETag {
			return b, after.ETag, nil
		}
	}
	return nil, "", fmt.Errorf("read %s: %w", key, ErrChanged)
}

// DatasetManifest is a dataset's commit point: the version of each of its
// tables that readers see. Tables become visible together: a writer
// commits its tables' new versions (kept under _manifests/) with one
// compare-and-swap of _dataset.json.
type DatasetManifest struct {
	FormatVersion int    `json:"format_version"`
	Dataset       string `json:"dataset"`
	// Seq counts the dataset's commits; Run and CreatedAt are the last one's.
	Seq       int       `json:"seq"`
	Run       string    `json:"run"`
	CreatedAt time.Time `json:"created_at"`
	// Tables names each table's committed version.
	Tables map[string]TableRef `json:"tables"`

	etag   string // of the stored _dataset.json; "" when absent
	legacy bool   // synthesised from the tables' _manifest.json (no _dataset.json yet)
}

// TableRef names one committed table version.
type TableRef struct {
	// Seq is the version; Manifest the key of its kept copy
	// (HistoryKey(dataset, table, Seq)).
	Seq      int    `json:"seq"`
	Manifest string `json:"manifest"`
	// Run wrote the version.
	Run string `json:"run"`
}

// DatasetManifestKey is the key of a dataset's commit point.
func DatasetManifestKey(dataset string) string { return "datasets/" + dataset + "/_dataset.json" }

// ReadDatasetManifest reads a dataset's commit point. A dataset written
// before _dataset.json existed is read from its tables' _manifest.json
// (each was its own commit point then); a dataset that does not exist
// gives an empty DatasetManifest (no tables), not an error.
func ReadDatasetManifest(ctx context.Context, st Store, dataset string) (*DatasetManifest, error) {
	key := DatasetManifestKey(dataset)
	b, etag, err := ReadVersioned(ctx, st, key)
	if err == nil {
		var d DatasetManifest
		if err := json.Unmarshal(b, &d); err != nil {
			return nil, fmt.Errorf("dataset manifest %s: %w", key, err)
		}
		if d.FormatVersion > FormatVersion || d.FormatVersion < 1 {
			return nil, fmt.Errorf("dataset manifest %s: format_version %d: %w", key, d.FormatVersion, ErrFormatVersion)
		}
		if d.Tables == nil {
			d.Tables = map[string]TableRef{}
		}
		d.etag = etag
		return &d, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("dataset manifest %s: %w", key, err)
	}
	d := &DatasetManifest{FormatVersion: FormatVersion, Dataset: dataset, Tables: map[string]TableRef{}, legacy: true}
	objs, err := st.List(ctx, "datasets/"+dataset+"/")
	if err != nil {
		return nil, fmt.Errorf("list dataset %s: %w", dataset, err)
	}
	for _, o := range objs {
		segs := strings.Split(o.Key, "/")
		if len(segs) != 4 || segs[3] != "_manifest.json" {
			continue
		}
		m, err := ReadManifestKey(ctx, st, o.Key)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		d.Tables[segs[2]] = TableRef{Seq: m.Seq, Manifest: o.Key, Run: m.Run}
	}
	return d, nil
}

// Legacy reports whether the dataset has no _dataset.json yet.
func (d *DatasetManifest) Legacy() bool { return d.legacy }

// TableVersion is one table's next version, for CommitTables.
type TableVersion struct {
	// Base is the version it was built on (nil for a new table).
	Base *Manifest
	// Next is the new version; its Seq may be raised to a free number.
	Next *Manifest
}

// CommitTables makes new versions of one or more tables of a dataset
// visible together: each version's manifest is first kept under
// _manifests/ (if absent), then _dataset.json is swapped to name them all.
// The swap is the commit point. The commit fails with ErrConflict when
// another run committed one of these tables since its Base was read;
// commits of other tables in between are merged in. committed reports
// whether the versions may be visible: when it is false, nothing this call
// wrote remains and the caller deletes its parts; when it is true the
// parts must stay, even with an error.
func CommitTables(ctx context.Context, st Store, dataset, run string, vs []TableVersion, now time.Time) (committed bool, err error) {
	if len(vs) == 0 {
		return false, errors.New("commit: no tables")
	}
	var kept []string
	cleanup := func() {
		c := context.WithoutCancel(ctx)
		for _, k := range kept {
			st.Delete(c, k)
		}
	}
	for _, v := range vs {
		key, err := keepVersion(ctx, st, v.Next)
		if err != nil {
			cleanup()
			return false, err
		}
		kept = append(kept, key)
	}
	for attempt := 0; ; attempt++ {
		d, err := ReadDatasetManifest(ctx, st, dataset)
		if err != nil {
			cleanup()
			return false, fmt.Errorf("commit %s: %w", dataset, err)
		}
		for _, v := range vs {
			cur, ok := d.Tables[v.Next.Table]
			switch {
			case v.Base == nil && ok:
				cleanup()
				return false, fmt.Errorf("commit %s/%s: %w: another run created the table (version %d, run %s); nothing was committed, retry", dataset, v.Next.Table, ErrConflict, cur.Seq, cur.Run)
			case v.Base != nil && (!ok || cur.Seq != v.Base.Seq):
				cleanup()
				return false, fmt.Errorf("commit %s/%s: %w: another run changed the table (version %d is current, this run read %d); nothing was committed, retry", dataset, v.Next.Table, ErrConflict, cur.Seq, v.Base.Seq)
			}
		}
		if d.legacy {
			if err := keepLegacy(ctx, st, d); err != nil {
				cleanup()
				return false, err
			}
		}
		next := *d
		next.Tables = map[string]TableRef{}
		for t, r := range d.Tables {
			next.Tables[t] = r
		}
		next.FormatVersion, next.Dataset, next.Seq, next.Run, next.CreatedAt = FormatVersion, dataset, d.Seq+1, run, now.UTC().Truncate(time.Second)
		for _, v := range vs {
			next.Tables[v.Next.Table] = TableRef{Seq: v.Next.Seq, Manifest: HistoryKey(dataset, v.Next.Table, v.Next.Seq), Run: v.Next.Run}
		}
		b, _ := json.MarshalIndent(&next, "", "  ")
		_, err = SwapObject(ctx, st, DatasetManifestKey(dataset), append(b, '\n'), d.etag)
		if err == nil {
			break
		}
		if errors.Is(err, ErrConflict) {
			if attempt < 50 {
				continue // another table's commit came first: merge and retry
			}
			cleanup()
			return false, fmt.Errorf("commit %s: %w", dataset, err)
		}
		if visible(ctx, st, dataset, vs) {
			return true, fmt.Errorf("commit %s: %w", dataset, err)
		}
		cleanup()
		return false, fmt.Errorf("commit %s: %w", dataset, err)
	}
	for _, v := range vs {
		SyncCurrent(ctx, st, v.Next)
	}
	return true, nil
}

// visible reports whether every version of vs is what _dataset.json names:
// an error that hid a successful swap. A failed read counts as visible, so
// a caller never deletes what may be committed.
func visible(ctx context.Context, st Store, dataset string, vs []TableVersion) bool {
	d, err := ReadDatasetManifest(context.WithoutCancel(ctx), st, dataset)
	if err != nil {
		return true
	}
	for _, v := range vs {
		if r, ok := d.Tables[v.Next.Table]; !ok || r.Seq != v.Next.Seq || r.Run != v.Next.Run {
			return false
		}
	}
	return true
}

// keepVersion writes m's kept copy, if absent, raising m.Seq past numbers
// taken by other runs (committed or not). It returns the key written.
func keepVersion(ctx context.Context, st Store, m *Manifest) (string, error) {
	for try := 0; try < 1000; try++ {
		key := HistoryKey(m.Dataset, m.Table, m.Seq)
		_, err := PutBytes(ctx, st, key, encodeManifest(m), PutOptions{IfAbsent: true, ContentType: "application/json"})
		if err == nil {
			return key, nil
		}
		if !errors.Is(err, ErrPreconditionFailed) {
			return "", fmt.Errorf("commit %s/%s: keep manifest %d: %w", m.Dataset, m.Table, m.Seq, err)
		}
		m.Seq++
	}
	return "", fmt.Errorf("commit %s/%s: %w: no free manifest number", m.Dataset, m.Table, ErrConflict)
}

// keepLegacy makes sure each table of a dataset read from _manifest.json
// has its kept copy, before _dataset.json first names it: a kill between a
// legacy commit and its copy lost the copy, and the next writer recovers it.
func keepLegacy(ctx context.Context, st Store, d *DatasetManifest) error {
	for t, r := range d.Tables {
		b, err := ReadAll(ctx, st, r.Manifest)
		if err != nil {
			return fmt.Errorf("commit %s/%s: %w", d.Dataset, t, err)
		}
		hk := HistoryKey(d.Dataset, t, r.Seq)
		if _, err := PutBytes(ctx, st, hk, b, PutOptions{IfAbsent: true, ContentType: "application/json"}); err != nil && !errors.Is(err, ErrPreconditionFailed) {
			return fmt.Errorf("commit %s/%s: recover kept manifest %d: %w", d.Dataset, t, r.Seq, err)
		}
		d.Tables[t] = TableRef{Seq: r.Seq, Manifest: hk, Run: r.Run}
	}
	return nil
}

// SyncCurrent brings a table's _manifest.json (a copy of the committed
// version, for tools that read it directly) up to m, unless it already
// holds m or a later version. It is best effort: readers go through
// _dataset.json, and the next commit of the table catches a missed copy up.
func SyncCurrent(ctx context.Context, st Store, m *Manifest) {
	key := ManifestKey(m.Dataset, m.Table)
	for try := 0; try < 20; try++ {
		b, etag, err := ReadVersioned(ctx, st, key)
		if err == nil {
			cur, err := decodeManifest(b, key)
			if err == nil && cur.Seq >= m.Seq {
				return
			}
		} else if !errors.Is(err, fs.ErrNotExist) {
			return
		}
		if _, err := SwapObject(ctx, st, key, encodeManifest(m), etag); !errors.Is(err, ErrConflict) {
			return
		}
	}
}

// chain returns the kept manifests of a table's committed history, newest
// first, from the version ref names back through Previous.
func chain(ctx context.Context, st Store, key string) ([]*Manifest, []string, error) {
	var ms []*Manifest
	var keys []string
	seen := map[string]bool{}
	for key != "" && !seen[key] {
		seen[key] = true
		m, err := ReadManifestKey(ctx, st, key)
		if errors.Is(err, fs.ErrNotExist) {
			break // lost before copies were kept before commit
		}
		if err != nil {
			return nil, nil, err
		}
		ms, keys = append(ms, m), append(keys, key)
		key = m.Previous
	}
	return ms, keys, nil
}
