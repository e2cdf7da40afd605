package features

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prevoir/prevoir/datasets"
)

// How a feature table becomes visible: its manifest committed by the
// commit protocol (docs/ARCHITECTURE.md), whole or, for sharded builds,
// once every shard's receipt is present.

// readCurrent reads a feature table's manifest and the ETag of those
// bytes; nil and "" when there is none.
func readCurrent(ctx context.Context, st datasets.Store, key string) (*Manifest, string, error) {
	b, etag, err := datasets.ReadVersioned(ctx, st, key)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", err
	}
	m, err := decodeManifest(b, key)
	if err != nil {
		return nil, "", err
	}
	return m, etag, nil
}

func sameInputs(a, b []Input) bool { return slices.Equal(a, b) }

func partKeys(ps []PartInfo) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Key
	}
	return out
}

func deleteKeys(ctx context.Context, st datasets.Store, keys []string) {
	ctx = context.WithoutCancel(ctx)
	for _, k := range keys {
		st.Delete(ctx, k)
	}
}

func receiptKey(prefix string, i, n int) string {
	return fmt.Sprintf("%s_shards/%d/%05d.json", prefix, n, i)
}

// commitManifest commits m by the commit protocol: a compare-and-swap of
// _manifest.json against etag (the manifest m's build read, "" for none).
// It returns the committed manifest: m, or, when another run committed a
// table from the same inputs first, that run's. mine reports whether m may
// be committed: when false, m's parts are orphans of this run. A winner
// built from other inputs makes it an error wrapping datasets.ErrConflict.
// Parts of a replaced table are left for `prevoir store gc`: a reader may
// still be reading them.
func commitManifest(ctx context.Context, st datasets.Store, m *Manifest, etag string) (won *Manifest, mine bool, err error) {
	key := m.Key()
	_, err = datasets.SwapObject(ctx, st, key, encodeJSON(m), etag)
	if err == nil {
		return m, true, nil
	}
	cur, _, rerr := readCurrent(context.WithoutCancel(ctx), st, key)
	if !errors.Is(err, datasets.ErrConflict) {
		// The swap may have happened despite the error.
		if rerr != nil || cur != nil && cur.Run == m.Run {
			return nil, true, err
		}
		return nil, false, err
	}
	if rerr == nil && cur != nil && sameInputs(cur.Inputs, m.Inputs) && cur.Spec == m.Spec && cur.Fingerprint == m.Fingerprint {
		return cur, false, nil
	}
	return nil, false, fmt.Errorf("%w; build again to use the new table", err)
}

// Commit writes the manifest of a sharded build once every shard 0..n-1
// has written its parts, and refuses (ErrShardsMissing) otherwise.
func Commit(ctx context.Context, st datasets.Store, dataset, task, asOf, spec string, n int, now time.Time) (*Manifest, error) {
	prefix := Prefix(dataset, task, asOf, spec)
	var m *Manifest
	var missing []string
	for i := 0; i < n; i++ {
		r, err := readManifestKey(ctx, st, receiptKey(prefix, i, n))
		if errors.Is(err, fs.ErrNotExist) {
			missing = append(missing, strconv.Itoa(i))
			continue
		}
		if err != nil {
			return nil, err
		}
		if m == nil {
			m = r
			m.Parts = append([]PartInfo(nil), r.Parts...)
			continue
		}
		if !sameInputs(m.Inputs, r.Inputs) {
			return nil, fmt.Errorf("features commit %s: shard %d read other dataset versions than shard 0: rebuild it", prefix, i)
		}
		m.Parts = append(m.Parts, r.Parts...)
		m.Rows += r.Rows
		if m.Balance != nil && r.Balance != nil {
			m.Balance.Positives += r.Balance.Positives
			m.Balance.Negatives += r.Balance.Negatives
		}
		m.Candidates.add(r.Candidates)
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("features commit %s: %w: %d of %d shards have not written their parts (missing: %s)", prefix, ErrShardsMissing, len(missing), n, strings.Join(missing, ", "))
	}
	if m == nil {
		return nil, fmt.Errorf("features commit %s: %w: want n >= 1", prefix, ErrShardsMissing)
	}
	m.Candidates.share()
	if b := m.Balance; b != nil && b.Positives+b.Negatives > 0 {
		b.Rate = float64(b.Positives) / float64(b.Positives+b.Negatives)
	}
	slices.SortFunc(m.Parts, func(a, b PartInfo) int { return strings.Compare(a.Key, b.Key) })
	m.Shards = n
	m.CreatedAt = now.UTC().Truncate(time.Second)
	_, etag, err := readCurrent(ctx, st, m.Key())
	if err != nil {
		return nil, fmt.Errorf("features commit %s: %w", prefix, err)
	}
	// The shards' parts belong to the shard runs: a failed commit leaves
	// them, listed by their receipts, for a retry.
	won, _, err := commitManifest(ctx, st, m, etag)
	if err != nil {
		return nil, fmt.Errorf("features commit %s: %w", prefix, err)
	}
	if won == m {
		// The receipts are spent; parts of a replaced table go to gc.
		keys := make([]string, n)
		for i := range keys {
			keys[i] = receiptKey(prefix, i, n)
		}
		deleteKeys(ctx, st, keys)
	}
	return won, nil
}
