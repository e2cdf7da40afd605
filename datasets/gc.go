package datasets

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"time"
)

// GCLayer is one top-level area of the store (datasets/, features/,
// models/, scores/, ...) and its rule for what is referenced. Each layer
// that writes parts declares one; `prevoir store gc` walks the list.
type GCLayer struct {
	// Name names the layer in reports.
	Name string
	// Prefix is the area's key prefix ("datasets/").
	Prefix string
	// Orphans returns the objects of objs (the listing of Prefix) that no
	// committed manifest, kept history copy or pending manifest lists and
	// that the layer may collect: parts, and manifests never committed.
	// young reports objects too recent to judge (a writer may still be
	// running): a young pending manifest keeps its parts.
	Orphans func(ctx context.Context, st Store, objs []ObjectInfo, young func(ObjectInfo) bool) ([]ObjectInfo, error)
}

// GCOptions configures Collect.
type GCOptions struct {
	// MinAge spares objects written less than MinAge ago: a running
	// writer's parts and temporaries. It must exceed the longest write.
	MinAge time.Duration
	// DryRun reports what would be removed and removes nothing.
	DryRun bool
	// Now is the current time (default time.Now).
	Now time.Time
}

// GCItem is one object Collect removed (or would remove).
type GCItem struct {
	Layer string `json:"layer"`
	// Kind is part, manifest or temporary.
	Kind  string `json:"kind"`
	Key   string `json:"key"`
	Bytes int64  `json:"bytes"`
}

// GCReport is what Collect did.
type GCReport struct {
	DryRun  bool     `json:"dry_run"`
	MinAge  string   `json:"min_age"`
	Removed []GCItem `json:"removed"`
	Bytes   int64    `json:"bytes"`
}

// Collect removes what no committed manifest, kept history copy or
// pending manifest lists, in every layer, and the temporaries killed
// writers left (when the backend is a Scavenger), sparing anything younger
// than MinAge.
func Collect(ctx context.Context, st Store, layers []GCLayer, o GCOptions) (*GCReport, error) {
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	young := func(oi ObjectInfo) bool { return now.Sub(oi.ModTime) < o.MinAge }
	rep := &GCReport{DryRun: o.DryRun, MinAge: o.MinAge.String(), Removed: []GCItem{}}
	for _, l := range layers {
		objs, err := st.List(ctx, l.Prefix)
		if err != nil {
			return rep, fmt.Errorf("gc %s: %w", l.Name, err)
		}
		orphans, err := l.Orphans(ctx, st, objs, young)
		if err != nil {
			return rep, fmt.Errorf("gc %s: %w", l.Name, err)
		}
		for _, ob := range orphans {
			if young(ob) {
				continue
			}
			kind := "part"
			if path.Ext(ob.Key) == ".json" {
				kind = "manifest"
			}
			if !o.DryRun {
				if err := st.Delete(ctx, ob.Key); err != nil {
					return rep, fmt.Errorf("gc %s: %w", l.Name, err)
				}
			}
			rep.Removed = append(rep.Removed, GCItem{Layer: l.Name, Kind: kind, Key: ob.Key, Bytes: ob.Size})
			rep.Bytes += ob.Size
		}
	}
	if sc, ok := st.(Scavenger); ok {
		temps, err := sc.Temporaries(ctx, "")
		if err != nil {
			return rep, fmt.Errorf("gc: %w", err)
		}
		for _, tm := range temps {
			if young(tm) {
				continue
			}
			if !o.DryRun {
				if err := sc.RemoveTemporary(ctx, tm.Key); err != nil {
					return rep, fmt.Errorf("gc: %w", err)
				}
			}
			rep.Removed = append(rep.Removed, GCItem{Layer: strings.SplitN(tm.Key, "/", 2)[0], Kind: "temporary", Key: tm.Key, Bytes: tm.Size})
			rep.Bytes += tm.Size
		}
	}
	return rep, nil
}

// IsPart reports whether key names a part: its last segment starts with
// "part-" (every layer names its parts so).
func IsPart(key string) bool { return strings.HasPrefix(path.Base(key), "part-") }

// DatasetsGCLayer is the datasets/ layer: a table's parts are referenced
// by the versions _dataset.json names and their kept history (each
// manifest's Previous, back to the first), and by _manifest.json; a kept
// copy that no committed history reaches (a run killed before its commit)
// is an orphan, with its parts, once it is not young.
func DatasetsGCLayer() GCLayer {
	return GCLayer{Name: "datasets", Prefix: "datasets/", Orphans: datasetOrphans}
}

func datasetOrphans(ctx context.Context, st Store, objs []ObjectInfo, young func(ObjectInfo) bool) ([]ObjectInfo, error) {
	byDataset := map[string][]ObjectInfo{}
	for _, o := range objs {
		segs := strings.Split(o.Key, "/")
		if len(segs) >= 3 {
			byDataset[segs[1]] = append(byDataset[segs[1]], o)
		}
	}
	var out []ObjectInfo
	for _, name := range sortedKeys(byDataset) {
		orphans, err := OrphansOf(ctx, st, name, byDataset[name], young)
		if err != nil {
			return nil, err
		}
		out = append(out, orphans...)
	}
	return out, nil
}

// OrphansOf returns the orphans among objs, the objects of dataset name
// (see DatasetsGCLayer). A nil young treats nothing as young.
func OrphansOf(ctx context.Context, st Store, name string, objs []ObjectInfo, young func(ObjectInfo) bool) ([]ObjectInfo, error) {
	if young == nil {
		young = func(ObjectInfo) bool { return false }
	}
	d, err := ReadDatasetManifest(ctx, st, name)
	if err != nil {
		return nil, err
	}
	keptManifests := map[string]bool{}
	parts := map[string]bool{}
	walk := func(key string) error {
		ms, keys, err := chain(ctx, st, key)
		if err != nil {
			return err
		}
		for i, m := range ms {
			keptManifests[keys[i]] = true
			for _, p := range m.Parts {
				parts[p.Key] = true
			}
		}
		return nil
	}
	for _, t := range sortedKeys(d.Tables) {
		if err := walk(d.Tables[t].Manifest); err != nil {
			return nil, err
		}
		if err := walk(ManifestKey(name, t)); err != nil {
			return nil, err
		}
	}
	// Kept copies that no committed history reaches: committed ones in a
	// dataset from before _dataset.json (kept), or versions of runs that
	// never committed (orphans unless young, whose parts stay with them).
	var uncommitted []ObjectInfo
	for _, o := range objs {
		if path.Base(path.Dir(o.Key)) != "_manifests" || keptManifests[o.Key] {
			continue
		}
		if !d.legacy && !young(o) {
			uncommitted = append(uncommitted, o)
			continue
		}
		m, err := ReadManifestKey(ctx, st, o.Key)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, p := range m.Parts {
			parts[p.Key] = true
		}
	}
	out := uncommitted
	for _, o := range objs {
		if IsPart(o.Key) && !parts[o.Key] {
			out = append(out, o)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}
