package publish

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/prevoir/prevoir/datasets"
)

// ErrShardsMissing is wrapped by Commit when a shard has not written its
// receipt.
var ErrShardsMissing = errors.New("shards missing")

// ShardKey returns the key of shard i of n's receipt: a pending manifest
// listing that shard's parts until Commit.
func ShardKey(dataset, task, asOf string, i, n int) string {
	return fmt.Sprintf("%s_shards/%d/%d.json", Prefix(dataset, task, asOf), n, i)
}

// writeShard writes one shard's parts, then its receipt (replacing an
// earlier run's of the same shard, whose parts go to store gc).
func writeShard(ctx context.Context, st datasets.Store, o Options, m *Manifest) (*Manifest, error) {
	key := ShardKey(o.Dataset, o.Task, o.AsOf, o.Shard, o.Shards)
	m.Shard, m.Shards = o.Shard, o.Shards
	if _, err := datasets.PutBytes(ctx, st, key, encodeManifest(m), datasets.PutOptions{ContentType: "application/json"}); err != nil {
		if _, serr := st.Stat(context.WithoutCancel(ctx), key); errors.Is(serr, fs.ErrNotExist) {
			deleteAll(ctx, st, m.partKeys())
		}
		return nil, fmt.Errorf("publish %s: %w", key, err)
	}
	return m, nil
}

// CommitOptions configure Commit.
type CommitOptions struct {
	// PartRows is the most rows per part (default 1<<20).
	PartRows int
	// Now is the creation time recorded (default time.Now).
	Now func() time.Time
}

// Commit makes the publication of a sharded run once every shard 0..n-1
// has written its receipt, and refuses (ErrShardsMissing, naming them)
// otherwise. The shards must agree (model, features, format, tables). Each
// table's rows of all shards are sorted as declared and written as the
// publication's parts, so the publication equals an unsharded run's; then
// the manifest goes in by compare-and-swap, LATEST moves, and the spent
// receipts and shard parts are removed.
func Commit(ctx context.Context, st datasets.Store, dataset, task, asOf string, n int, co CommitOptions) (*Manifest, error) {
	prefix := Prefix(dataset, task, asOf)
	if n < 1 {
		return nil, datasets.Fieldf("Shards", strconv.Itoa(n), "want n >= 1")
	}
	cb, etag, err := datasets.ReadVersioned(ctx, st, ManifestKey(dataset, task, asOf))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("scores commit %s: %w", prefix, err)
	}
	var cur *Manifest
	if err == nil {
		if cur, err = decodeManifest(cb, ManifestKey(dataset, task, asOf)); err != nil {
			return nil, fmt.Errorf("scores commit %s: %w", prefix, err)
		}
	}
	var receipts []*Manifest
	var missing []string
	for i := 0; i < n; i++ {
		key := ShardKey(dataset, task, asOf, i, n)
		b, err := datasets.ReadAll(ctx, st, key)
		if errors.Is(err, fs.ErrNotExist) {
			missing = append(missing, strconv.Itoa(i))
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("scores commit %s: %w", prefix, err)
		}
		r, err := decodeManifest(b, key)
		if err != nil {
			return nil, fmt.Errorf("scores commit %s: %w", prefix, err)
		}
		if len(receipts) > 0 {
			if err := sameShards(receipts[0], r); err != nil {
				return nil, fmt.Errorf("scores commit %s: shard %d and shard %d: %w: rerun one of them", prefix, receipts[0].Shard, i, err)
			}
		}
		receipts = append(receipts, r)
	}
	if done(cur, receipts, n) {
		// Committed already (a rerun after a kill before LATEST moved or
		// during the cleanup): finish it.
		now := time.Now
		if co.Now != nil {
			now = co.Now
		}
		if err := MoveLatest(ctx, st, dataset, task, asOf, cur.Run, now()); err != nil {
			return cur, err
		}
		cleanupShards(ctx, st, receipts)
		return cur, nil
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("scores commit %s: %w: %d of %d shards have not written their scores (missing: %s)", prefix, ErrShardsMissing, len(missing), n, strings.Join(missing, ", "))
	}
	first := receipts[0]
	o := Options{Dataset: dataset, Task: task, AsOf: asOf, Format: first.Format, PartRows: co.PartRows, Now: co.Now}
	if err := o.defaults(); err != nil {
		return nil, err
	}
	m := &Manifest{
		FormatVersion: FormatVersion, Dataset: dataset, Task: task, AsOf: asOf, Run: datasets.NewRunID(),
		PrevoirVersion: first.PrevoirVersion, Format: first.Format, Lineage: first.Lineage, Shards: n,
	}
	for _, r := range receipts {
		m.Suppressed += r.Suppressed
		m.ShardRuns = append(m.ShardRuns, r.Run)
	}
	// Each shard's table is sorted: their merge, streaming, is the
	// publication an unsharded run makes.
	for ti, t := range first.Tables {
		w := newTableWriter(ctx, st, o, m.Run, t.TableSpec)
		runs := make([][]Part, len(receipts))
		var rows int64
		for i, r := range receipts {
			runs[i] = r.Tables[ti].Parts
			rows += r.Tables[ti].Rows
		}
		parts, err := w.merge(runs)
		if err != nil {
			w.abort()
			deleteAll(ctx, st, m.partKeys())
			if won := committedBy(ctx, st, dataset, task, asOf, receipts, n); won != nil {
				return won, nil // another commit of these shards won
			}
			if errors.Is(err, fs.ErrNotExist) {
				err = fmt.Errorf("%w: another run removed a shard's parts (%w); rerun the shards", datasets.ErrConflict, err)
			}
			return nil, fmt.Errorf("scores commit %s: %w", prefix, err)
		}
		m.Tables = append(m.Tables, Table{TableSpec: t.TableSpec, Rows: rows, Parts: parts})
	}
	m.Rows = m.Tables[0].Rows
	m.CreatedAt = o.Now().UTC().Truncate(time.Second)
	m, err = commit(ctx, st, o, m, etag)
	if m == nil {
		if won := committedBy(ctx, st, dataset, task, asOf, receipts, n); won != nil && errors.Is(err, datasets.ErrConflict) {
			return won, nil // another commit of these shards won
		}
		return nil, err
	}
	cleanupShards(ctx, st, receipts)
	return m, err
}

// committedBy returns the committed publication if it was made from these
// shards (by a concurrent commit), else nil.
func committedBy(ctx context.Context, st datasets.Store, dataset, task, asOf string, receipts []*Manifest, n int) *Manifest {
	cur, err := ReadManifest(context.WithoutCancel(ctx), st, dataset, task, asOf)
	if err != nil || !done(cur, receipts, n) {
		return nil
	}
	return cur
}

// done reports whether cur, the committed publication, was made from the
// shards whose receipts remain (some may be spent already).
func done(cur *Manifest, receipts []*Manifest, n int) bool {
	if cur == nil || cur.Shards != n || len(cur.ShardRuns) != n {
		return false
	}
	for _, r := range receipts {
		if r.Shard >= n || cur.ShardRuns[r.Shard] != r.Run {
			return false
		}
	}
	return true
}

// cleanupShards removes spent receipts, each before its parts (which it
// alone lists).
func cleanupShards(ctx context.Context, st datasets.Store, receipts []*Manifest) {
	for _, r := range receipts {
		deleteAll(ctx, st, []string{ShardKey(r.Dataset, r.Task, r.AsOf, r.Shard, r.Shards)})
		deleteAll(ctx, st, r.partKeys())
	}
}

// sameShards reports how two shard receipts of one run disagree.
func sameShards(a, b *Manifest) error {
	switch {
	case a.Format != b.Format:
		return fmt.Errorf("formats %s and %s differ", a.Format, b.Format)
	case !reflect.DeepEqual(a.Model, b.Model):
		return errors.New("they were scored by different models")
	case !reflect.DeepEqual(a.Features, b.Features):
		return errors.New("they scored different feature tables")
	case len(a.Tables) != len(b.Tables):
		return errors.New("their tables differ")
	}
	for i := range a.Tables {
		if !reflect.DeepEqual(a.Tables[i].TableSpec, b.Tables[i].TableSpec) {
			return fmt.Errorf("their tables %q and %q differ", a.Tables[i].Name, b.Tables[i].Name)
		}
	}
	return nil
}
