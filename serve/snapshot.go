package serve

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/datasets/privacy"
	"github.com/prevoir/prevoir/models"
	"github.com/prevoir/prevoir/models/registry"
	"github.com/prevoir/prevoir/serve/publish"
)

// ProductColumn and WarehouseColumn name the columns that make a table a
// product table: its rows are served by GET /v1/products/{id}/forecast,
// filtered by ?warehouse= when the table has that column.
const (
	ProductColumn   = "product_id"
	WarehouseColumn = "warehouse"
)

// snapshot is everything the server answers from, loaded at once and never
// changed: the latest publication of every task of the dataset, the
// indexes of their customer and product rows, the registry's models, and
// the suppressions. A reload builds a new one and swaps the pointer; a
// request reads the pointer once, so it never sees two snapshots.
type snapshot struct {
	fingerprint string
	loadedAt    time.Time
	dataset     string
	// pubs are the latest publications by task; tasks their sorted names.
	pubs  map[string]*publication
	tasks []string
	// tables lists the indexed tables (index rows point here).
	tables    []indexedTable
	customers *index
	products  *index
	models    map[string]*modelEntry
	names     []string
	// refs resolves the canonical model references (resolveRefs).
	refs map[string]*resolvedRef
	sup  *privacy.Suppressions
}

// publication is one loaded publication.
type publication struct {
	m *publish.Manifest
	// raw is the manifest as stored; sha its SHA-256 (hex).
	raw []byte
	sha string
	// model is the lineage's model as name@version ("" without one).
	model string
	// freshHead and freshTail are the JSON freshness object around its
	// per-request fields: freshHead runs to `"age_seconds":`, freshTail
	// from `,"run":` to the closing brace (appendFreshness).
	freshHead, freshTail []byte
}

// newPublication returns the publication of manifest m stored as raw,
// with the parts of its freshness that never change rendered once.
func newPublication(m *publish.Manifest, raw []byte) *publication {
	sum := sha256.Sum256(raw)
	p := &publication{m: m, raw: raw, sha: hex.EncodeToString(sum[:])}
	if m.Model != nil {
		p.model = m.Model.Name + "@" + strconv.Itoa(m.Model.Version)
	}
	b := append([]byte(nil), `{"as_of":`...)
	b = appendJSONString(b, m.AsOf)
	b = append(b, `,"created_at":"`...)
	b = m.CreatedAt.UTC().AppendFormat(b, time.RFC3339)
	b = append(b, '"')
	if p.model != "" {
		b = append(b, `,"model":`...)
		b = appendJSONString(b, p.model)
	}
	p.freshHead = append(b, `,"age_seconds":`...)
	b = append([]byte(nil), `,"run":`...)
	b = appendJSONString(b, m.Run)
	p.freshTail = append(b, '}')
	return p
}

// indexedTable is a table whose rows an index holds.
type indexedTable struct {
	task, table string
}

// modelEntry is what the snapshot knows of a registered model.
type modelEntry struct {
	Name     string         `json:"name"`
	Versions []int          `json:"versions"`
	Aliases  map[string]int `json:"aliases"`
	cards    map[int]*models.Card
}

// resolve returns the version ref (a number, an alias, "latest" or "")
// names.
func (e *modelEntry) resolve(ref string) (int, bool) {
	if ref == "" || ref == registry.Latest {
		if len(e.Versions) == 0 {
			return 0, false
		}
		return e.Versions[len(e.Versions)-1], true
	}
	if v, ok := e.Aliases[ref]; ok {
		return v, true
	}
	if v, err := strconv.Atoi(ref); err == nil && strconv.Itoa(v) == ref && slices.Contains(e.Versions, v) {
		return v, true
	}
	return 0, false
}

// fingerprint summarises what a snapshot depends on: the LATEST pointers
// and publication manifests of the dataset, the registry's cards and
// aliases, and the suppressions. It is read by listing only, so a poll
// that finds nothing changed is cheap.
func fingerprint(ctx context.Context, st datasets.Store, dataset string) (string, error) {
	h := sha256.New()
	for _, p := range []string{publish.Root + dataset + "/", registry.Root + "/", "suppressions/"} {
		objs, err := st.List(ctx, p)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		for _, o := range objs {
			switch base := path.Base(o.Key); {
			case strings.HasPrefix(p, "suppressions"), base == "LATEST", base == "_manifest.json",
				base == registry.CardFile, base == registry.AliasesFile:
				fmt.Fprintf(h, "%s\x00%d\x00%s\x00%d\n", o.Key, o.Size, o.ETag, o.ModTime.UnixNano())
			}
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// loadSnapshot reads everything a snapshot holds.
func loadSnapshot(ctx context.Context, st datasets.Store, dataset string, reg *registry.Registry, fp string, now time.Time) (*snapshot, error) {
	s := &snapshot{fingerprint: fp, loadedAt: now, dataset: dataset, pubs: map[string]*publication{}, models: map[string]*modelEntry{}}
	sup, err := privacy.Load(ctx, st)
	if err != nil {
		return nil, fmt.Errorf("load suppressions: %w", err)
	}
	s.sup = sup
	if err := s.loadPublications(ctx, st); err != nil {
		return nil, err
	}
	if err := s.loadModels(ctx, reg); err != nil {
		return nil, err
	}
	return s, nil
}

// tasksOf lists the tasks of dataset that have a LATEST pointer.
func tasksOf(ctx context.Context, st datasets.Store, dataset string) ([]string, error) {
	prefix := publish.Root + dataset + "/"
	objs, err := st.List(ctx, prefix)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	var tasks []string
	for _, o := range objs {
		segs := strings.Split(strings.TrimPrefix(o.Key, prefix), "/")
		if len(segs) == 2 && segs[1] == "LATEST" {
			tasks = append(tasks, segs[0])
		}
	}
	sort.Strings(tasks)
	return tasks, nil
}

func (s *snapshot) loadPublications(ctx context.Context, st datasets.Store) error {
	tasks, err := tasksOf(ctx, st, s.dataset)
	if err != nil {
		return fmt.Errorf("list publications: %w", err)
	}
	cust, prod := newIndexBuilder(), newIndexBuilder()
	keep := sup(s.sup)
	for _, task := range tasks {
		p, err := readLatestPublication(ctx, st, s.dataset, task)
		if errors.Is(err, fs.ErrNotExist) {
			continue // LATEST removed since the listing
		}
		if err != nil {
			return err
		}
		s.pubs[task] = p
		s.tasks = append(s.tasks, task)
		for _, t := range p.m.Tables {
			ci := colIndex(t.Columns, t.Customer)
			pi := colIndex(t.Columns, ProductColumn)
			if t.Customer == "" {
				ci = -1
			}
			if ci < 0 && (pi < 0 || t.Columns[pi].Type != publish.TypeString) {
				continue
			}
			wi := colIndex(t.Columns, WarehouseColumn)
			ref := uint32(len(s.tables))
			s.tables = append(s.tables, indexedTable{task: task, table: t.Name})
			err := publish.Rows(ctx, st, p.m, t.Name, func(row []any) error {
				if ci >= 0 {
					if id, _ := row[ci].(string); id != "" && keep(id) {
						cust.add(id, ref, "", t.Columns, row)
					}
				} else if id, _ := row[pi].(string); id != "" {
					w := ""
					if wi >= 0 {
						w, _ = row[wi].(string)
					}
					prod.add(id, ref, w, t.Columns, row)
				}
				return nil
			})
			if err != nil {
				return fmt.Errorf("load %s: %w", publish.Prefix(s.dataset, task, p.m.AsOf)+t.Name, err)
			}
		}
	}
	s.customers, s.products = cust.build(), prod.build()
	return nil
}

// sup returns a function reporting whether a customer's rows may be
// served: not forgotten.
func sup(s *privacy.Suppressions) func(id string) bool {
	if s.Tombstones() == 0 {
		return func(string) bool { return true }
	}
	f := s.Filter()
	return func(id string) bool { return !f(id) }
}

// readLatestPublication reads the publication LATEST points to, with its
// manifest's bytes.
func readLatestPublication(ctx context.Context, st datasets.Store, dataset, task string) (*publication, error) {
	ptr, err := publish.ReadLatest(ctx, st, dataset, task)
	if err != nil {
		return nil, err
	}
	return readPublication(ctx, st, dataset, task, ptr.AsOf)
}

// readPublication reads the publication of an as_of with its manifest's
// bytes (ReadManifest checks them; the bytes make the ETag).
func readPublication(ctx context.Context, st datasets.Store, dataset, task, asOf string) (*publication, error) {
	key := publish.ManifestKey(dataset, task, asOf)
	for attempt := 0; attempt < 5; attempt++ {
		raw, err := datasets.ReadAll(ctx, st, key)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("%s scores of %s as of %s: %w", task, dataset, asOf, publish.ErrNoPublication)
			}
			return nil, err
		}
		m, err := publish.ReadManifest(ctx, st, dataset, task, asOf)
		if err != nil {
			return nil, err
		}
		var check struct {
			Run string `json:"run"`
		}
		if json.Unmarshal(raw, &check) == nil && check.Run == m.Run {
			return newPublication(m, raw), nil
		}
		// The manifest was replaced between the two reads: read again.
	}
	return nil, fmt.Errorf("%s: %w: the manifest kept changing", key, datasets.ErrConflict)
}

func (s *snapshot) loadModels(ctx context.Context, reg *registry.Registry) error {
	names, err := reg.Names(ctx)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("list models: %w", err)
	}
	for _, n := range names {
		vs, err := reg.Versions(ctx, n)
		if errors.Is(err, models.ErrNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("model %s: %w", n, err)
		}
		al, err := reg.Aliases(ctx, n)
		if err != nil {
			return fmt.Errorf("model %s: %w", n, err)
		}
		e := &modelEntry{Name: n, Versions: slices.Clone(vs), Aliases: al, cards: map[int]*models.Card{}}
		for _, v := range vs {
			c, err := reg.Card(ctx, n, v)
			if errors.Is(err, models.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			e.cards[v] = c
		}
		s.models[n] = e
		s.names = append(s.names, n)
	}
	sort.Strings(s.names)
	s.resolveRefs()
	return nil
}

func colIndex(cols []publish.Column, name string) int {
	if name == "" {
		return -1
	}
	for i, c := range cols {
		if c.Name == name {
			return i
		}
	}
	return -1
}
