package features

import (
	"context"
	"errors"
	"io/fs"
	"path"
	"strings"

	"github.com/prevoir/prevoir/datasets"
)

// GCLayer is the features/ layer for `prevoir store gc`: a table's parts
// are referenced by its _manifest.json, and, while a sharded build is being
// written, by the shards' receipts (_shards/N/I.json, pending manifests).
// Other parts are orphans: a killed build's, a race loser's, or those of a
// table a rebuild replaced.
func GCLayer() datasets.GCLayer {
	return datasets.GCLayer{Name: "features", Prefix: "features/", Orphans: orphans}
}

func orphans(ctx context.Context, st datasets.Store, objs []datasets.ObjectInfo, _ func(datasets.ObjectInfo) bool) ([]datasets.ObjectInfo, error) {
	listed := map[string]bool{}
	for _, o := range objs {
		base := path.Base(o.Key)
		if base != "_manifest.json" && !strings.Contains(o.Key, "/_shards/") || path.Ext(base) != ".json" {
			continue
		}
		m, err := readManifestKey(ctx, st, o.Key)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, p := range m.Parts {
			listed[p.Key] = true
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
