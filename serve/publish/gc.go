package publish

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/prevoir/prevoir/datasets"
)

// GCLayer is the scores/ layer for `prevoir store gc`: a publication's
// parts are referenced by its _manifest.json, and a sharded run's parts,
// until `scores commit`, by the shards' receipts (_shards/N/I.json, pending
// manifests). Other parts are orphans: a
// killed run's, a race loser's, or those of a publication a rerun of the
// same as_of replaced (a reader may still be reading them: the grace of
// `store gc --min-age` covers it).
func GCLayer() datasets.GCLayer {
	return datasets.GCLayer{Name: "scores", Prefix: Root, Orphans: orphans}
}

func orphans(ctx context.Context, st datasets.Store, objs []datasets.ObjectInfo, _ func(datasets.ObjectInfo) bool) ([]datasets.ObjectInfo, error) {
	listed := map[string]bool{}
	for _, o := range objs {
		if path.Base(o.Key) != "_manifest.json" && !(strings.Contains(o.Key, "/_shards/") && path.Ext(o.Key) == ".json") {
			continue
		}
		b, err := datasets.ReadAll(ctx, st, o.Key)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		m, err := decodeManifest(b, o.Key)
		if err != nil {
			return nil, err
		}
		for _, t := range m.Tables {
			for _, p := range t.Parts {
				listed[p.Key] = true
			}
		}
	}
	var out []datasets.ObjectInfo
	for _, o := range objs {
		if datasets.IsPart(o.Key) && !listed[o.Key] {
			out = append(out, o)
		}
	}
	return out, nil
}

// Removed is a publication Retain removed (or would remove).
type Removed struct {
	Dataset string `json:"dataset"`
	Task    string `json:"task"`
	AsOf    string `json:"as_of"`
	Objects int    `json:"objects"`
	Bytes   int64  `json:"bytes"`
}

// Retain keeps, for each dataset and task, the keep publications with the
// latest as_of and the one LATEST points to, and removes the others: the
// manifest first (the publication is gone for readers), then the parts it
// listed. Other parts in its folder are left to `store gc`. keep must be
// at least 1.
func Retain(ctx context.Context, st datasets.Store, keep int, dryRun bool) ([]Removed, error) {
	if keep < 1 {
		return nil, datasets.Fieldf("Keep", fmt.Sprint(keep), "keep at least 1 publication")
	}
	all, err := List(ctx, st, "", "")
	if err != nil {
		return nil, err
	}
	byTask := map[string][]Entry{}
	for _, e := range all {
		byTask[e.Dataset+"/"+e.Task] = append(byTask[e.Dataset+"/"+e.Task], e)
	}
	names := make([]string, 0, len(byTask))
	for k := range byTask {
		names = append(names, k)
	}
	sort.Strings(names)
	removed := []Removed{}
	for _, k := range names {
		es := byTask[k]
		sort.Slice(es, func(i, j int) bool { return es[i].AsOf > es[j].AsOf })
		ds, task, _ := strings.Cut(k, "/")
		p, err := ReadLatest(ctx, st, ds, task)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return removed, err
		}
		for i, e := range es {
			if i < keep || p != nil && p.AsOf == e.AsOf {
				continue
			}
			r, err := removePublication(ctx, st, e, dryRun)
			if err != nil {
				return removed, err
			}
			removed = append(removed, r)
		}
	}
	return removed, nil
}

func removePublication(ctx context.Context, st datasets.Store, e Entry, dryRun bool) (Removed, error) {
	r := Removed{Dataset: e.Dataset, Task: e.Task, AsOf: e.AsOf}
	key := ManifestKey(e.Dataset, e.Task, e.AsOf)
	m, err := ReadManifest(ctx, st, e.Dataset, e.Task, e.AsOf)
	if err != nil {
		return r, err
	}
	keys := []string{key}
	for _, t := range m.Tables {
		for _, p := range t.Parts {
			keys = append(keys, p.Key)
		}
	}
	for _, k := range keys {
		info, err := st.Stat(ctx, k)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return r, err
		}
		if !dryRun {
			if err := st.Delete(ctx, k); err != nil {
				return r, fmt.Errorf("remove %s: %w", k, err)
			}
		}
		r.Objects++
		r.Bytes += info.Size
	}
	return r, nil
}
