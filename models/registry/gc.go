package registry

import (
	"context"
	"strings"

	"github.com/prevoir/prevoir/datasets"
)

// GCLayer is the models/ layer for `prevoir store gc`: a version's card is
// its manifest. The files of a version folder without a card (a
// registration killed before its card) are orphans; the reservation stays,
// so the number is not reused.
func GCLayer() datasets.GCLayer {
	return datasets.GCLayer{Name: "models", Prefix: Root + "/", Orphans: orphans}
}

func orphans(_ context.Context, _ datasets.Store, objs []datasets.ObjectInfo, _ func(datasets.ObjectInfo) bool) ([]datasets.ObjectInfo, error) {
	carded := map[string]bool{}
	folder := func(key string) (string, string, bool) {
		// models/<name>/<version>/<file>
		segs := strings.Split(key, "/")
		if len(segs) != 4 {
			return "", "", false
		}
		if _, err := parseVersion(segs[2]); err != nil {
			return "", "", false
		}
		return strings.Join(segs[:3], "/"), segs[3], true
	}
	for _, o := range objs {
		if dir, f, ok := folder(o.Key); ok && f == CardFile {
			carded[dir] = true
		}
	}
	var out []datasets.ObjectInfo
	for _, o := range objs {
		if dir, f, ok := folder(o.Key); ok && !carded[dir] && f != ReservedFile {
			out = append(out, o)
		}
	}
	return out, nil
}
