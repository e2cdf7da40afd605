package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"math/rand/v2"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/models"
	"github.com/prevoir/prevoir/models/logistic"
)

// Object names inside a version folder, and the aliases document.
const (
	Root         = "models"
	CardFile     = "card.json"
	ReservedFile = "_reserved.json"
	AliasesFile  = "aliases.json"
	// Latest is the reference to a model's highest registered version.
	Latest = "latest"
)

// Errors callers branch on. Unknown names, versions and aliases wrap
// models.ErrNotFound.
var (
	// ErrAliased is returned by Remove for a version an alias points at.
	ErrAliased = errors.New("version has aliases")
	// ErrConflict is returned when a conditional update kept failing
	// under contention until the attempts ran out.
	ErrConflict = errors.New("too much contention")
	// ErrMalformed is wrapped by errors about unreadable cards and
	// aliases documents.
	ErrMalformed = errors.New("malformed")
	// ErrInvalidName is wrapped by errors about names, aliases and refs a
	// user typed wrongly.
	ErrInvalidName = errors.New("invalid name")
)

// notFound is an error that reads as its message and is models.ErrNotFound.
type notFound struct{ msg string }

func (e *notFound) Error() string        { return e.msg }
func (e *notFound) Is(target error) bool { return target == models.ErrNotFound }

func notFoundf(format string, args ...any) error {
	return &notFound{msg: fmt.Sprintf(format, args...)}
}

// Options configures a Registry. The zero value is usable.
type Options struct {
	// PrevoirVersion is recorded in the cards of models registered
	// without one.
	PrevoirVersion string
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// MaxAttempts bounds the retries of a version allocation or an alias
	// update; 0 means 200.
	MaxAttempts int
	// Kinds are the kinds of model Register accepts and Load builds; nil
	// means logistic only.
	Kinds models.Kinds
	// User and Host are recorded with every alias move (the history,
	// see History); the library reads neither from the environment, the
	// caller passes them (cmd/prevoir: the OS user name and hostname).
	User, Host string
}

// Registry is the set of models in a Store. It is safe for concurrent use,
// and several processes may use the same store at once.
type Registry struct {
	st   datasets.Store
	opts Options
}

// New returns the registry of st.
func New(st datasets.Store, opts Options) *Registry {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 200
	}
	if opts.Kinds == nil {
		opts.Kinds = models.Kinds{logistic.Kind()}
	}
	return &Registry{st: st, opts: opts}
}

// Store returns the registry's store.
func (r *Registry) Store() datasets.Store { return r.st }

var (
	nameRE  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)
	aliasRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9._-]{0,63}$`)
	fileRE  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)
)

// ValidName reports whether name can name a model: letters, digits, '.',
// '_' and '-', starting with a letter or digit, at most 128 bytes.
func ValidName(name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("%w: model name %q: use letters, digits, '.', '_' and '-', starting with a letter or digit", ErrInvalidName, name)
	}
	return nil
}

// ValidAlias reports whether alias can name an alias: like a model name
// but starting with a letter (so it is never a version), and not "latest".
func ValidAlias(alias string) error {
	if !aliasRE.MatchString(alias) || alias == Latest {
		return fmt.Errorf("%w: alias %q: use letters, digits, '.', '_' and '-', starting with a letter; %q is reserved", ErrInvalidName, alias, Latest)
	}
	return nil
}

// ParseRef splits "NAME[@REF]" into the model name and the reference
// (a version number, an alias or "latest"; "latest" when absent).
func ParseRef(s string) (name, ref string, err error) {
	name, ref, has := strings.Cut(s, "@")
	if err := ValidName(name); err != nil {
		return "", "", err
	}
	if !has {
		return name, Latest, nil
	}
	if ref == "" {
		return "", "", fmt.Errorf("%w: %q: empty reference after '@' (want a version, an alias or %q)", ErrInvalidName, s, Latest)
	}
	if _, err := parseVersion(ref); err == nil || ref == Latest {
		return name, ref, nil
	}
	if err := ValidAlias(ref); err != nil {
		return "", "", fmt.Errorf("%w: %q: reference %q is neither a version, an alias nor %q", ErrInvalidName, s, ref, Latest)
	}
	return name, ref, nil
}

// parseVersion parses a positive decimal version number.
func parseVersion(s string) (int, error) {
	if s == "" || s[0] < '1' || s[0] > '9' {
		return 0, fmt.Errorf("not a version")
	}
	v, err := strconv.Atoi(s)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("not a version")
	}
	return v, nil
}

func modelPrefix(name string) string { return Root + "/" + name + "/" }
func versionKey(name string, v int, file string) string {
	return Root + "/" + name + "/" + strconv.Itoa(v) + "/" + file
}
func aliasesKey(name string) string { return Root + "/" + name + "/" + AliasesFile }

// File is a model file registered with a version: imported kinds keep
// their original file beside the card.
type File struct {
	// Name is the file's name in the version folder (model.txt,
	// model.json, ...); it must not be card.json or _reserved.json.
	Name string
	// Body holds Size bytes (-1 if unknown); it is streamed to the store.
	Body io.Reader
	Size int64
}

// Register stores a new version of the model name: it allocates the next
// version number, writes file (if not nil) and then the card, and returns
// the card as stored. Register fills the card's Name, Version,
// SchemaFingerprint, File, Created (when zero: now) and PrevoirVersion
// (when empty); it does not change the caller's card. The card's kind must
// be one of Options.Kinds; a card registered without a file must load.
func (r *Registry) Register(ctx context.Context, name string, card *models.Card, file *File) (*models.Card, error) {
	if err := ValidName(name); err != nil {
		return nil, err
	}
	if card == nil {
		return nil, fmt.Errorf("registry register %s: nil card", name)
	}
	c := *card
	c.Name, c.Version = name, 0
	if err := c.Inputs.Validate(); err != nil {
		return nil, fmt.Errorf("registry register %s: inputs: %w", name, err)
	}
	c.SchemaFingerprint = c.Inputs.Fingerprint()
	if c.Created.IsZero() {
		c.Created = r.opts.Now().UTC()
	}
	if c.PrevoirVersion == "" {
		c.PrevoirVersion = r.opts.PrevoirVersion
	}
	c.File = ""
	if file != nil {
		if !fileRE.MatchString(file.Name) || file.Name == CardFile || file.Name == ReservedFile {
			return nil, fmt.Errorf("registry register %s: model file name %q is not allowed", name, file.Name)
		}
		c.File = file.Name
	}
	if r.opts.Kinds.Lookup(c.Kind) == nil {
		return nil, fmt.Errorf("registry register %s: %w: kind %q (this binary knows %s)", name, models.ErrUnsupported, c.Kind, strings.Join(r.opts.Kinds.Names(), ", "))
	}
	if file == nil {
		if _, err := r.opts.Kinds.Load(ctx, &c, nil); err != nil {
			return nil, fmt.Errorf("registry register %s: %w", name, err)
		}
	}

	v, err := r.reserve(ctx, name)
	if err != nil {
		return nil, err
	}
	c.Version = v
	// The commit protocol: the version folder is this run's (reserved
	// if-absent), the card is its manifest (if-absent, written last). A
	// failure before the card deletes this run's model file; the
	// reservation stays, as for a removed version (numbers are not reused).
	abort := func() {
		if file != nil {
			r.st.Delete(context.WithoutCancel(ctx), versionKey(name, v, file.Name))
		}
	}
	if file != nil {
		if _, err := r.st.Put(ctx, versionKey(name, v, file.Name), file.Body, file.Size, datasets.PutOptions{IfAbsent: true}); err != nil {
			abort()
			return nil, fmt.Errorf("registry register %s@%d: model file: %w", name, v, err)
		}
	}
	b, err := json.MarshalIndent(&c, "", "  ")
	if err != nil {
		abort()
		return nil, fmt.Errorf("registry register %s@%d: card: %w", name, v, err)
	}
	b = append(b, '\n')
	if _, err := datasets.PutBytes(ctx, r.st, versionKey(name, v, CardFile), b, datasets.PutOptions{IfAbsent: true, ContentType: "application/json"}); err != nil {
		if _, serr := r.st.Stat(context.WithoutCancel(ctx), versionKey(name, v, CardFile)); errors.Is(serr, fs.ErrNotExist) {
			abort()
		}
		return nil, fmt.Errorf("registry register %s@%d: card: %w", name, v, err)
	}
	return &c, nil
}

// reservation is the content of _reserved.json.
type reservation struct {
	Name     string    `json:"name"`
	Version  int       `json:"version"`
	Reserved time.Time `json:"reserved"`
	Host     string    `json:"host,omitempty"`
	PID      int       `json:"pid"`
}

// reserve allocates the next version number of name.
func (r *Registry) reserve(ctx context.Context, name string) (int, error) {
	objs, err := r.st.List(ctx, modelPrefix(name))
	if err != nil {
		return 0, fmt.Errorf("registry register %s: %w", name, err)
	}
	next := 1
	for _, o := range objs {
		if v, _, ok := splitVersionKey(name, o.Key); ok && v >= next {
			next = v + 1
		}
	}
	host, _ := os.Hostname()
	for attempt := 0; attempt < r.opts.MaxAttempts; attempt++ {
		b, _ := json.Marshal(reservation{Name: name, Version: next, Reserved: r.opts.Now().UTC(), Host: host, PID: os.Getpid()})
		_, err := datasets.PutBytes(ctx, r.st, versionKey(name, next, ReservedFile), b, datasets.PutOptions{IfAbsent: true, ContentType: "application/json"})
		if err == nil {
			return next, nil
		}
		if !errors.Is(err, datasets.ErrPreconditionFailed) {
			return 0, fmt.Errorf("registry register %s@%d: reserve: %w", name, next, err)
		}
		next++
	}
	return 0, fmt.Errorf("registry register %s: %w: no free version after %d attempts", name, ErrConflict, r.opts.MaxAttempts)
}

// splitVersionKey parses models/<name>/<version>/<file>.
func splitVersionKey(name, key string) (version int, file string, ok bool) {
	rest, ok := strings.CutPrefix(key, modelPrefix(name))
	if !ok {
		return 0, "", false
	}
	vs, file, ok := strings.Cut(rest, "/")
	if !ok || strings.Contains(file, "/") {
		return 0, "", false
	}
	v, err := parseVersion(vs)
	if err != nil {
		return 0, "", false
	}
	return v, file, true
}

// Names returns the names of the models with at least one version, sorted.
func (r *Registry) Names(ctx context.Context) ([]string, error) {
	objs, err := r.st.List(ctx, Root+"/")
	if err != nil {
		return nil, fmt.Errorf("registry list: %w", err)
	}
	var names []string
	for _, o := range objs {
		parts := strings.Split(o.Key, "/")
		if len(parts) == 4 && parts[3] == CardFile && nameRE.MatchString(parts[1]) {
			if _, err := parseVersion(parts[2]); err == nil {
				if len(names) == 0 || names[len(names)-1] != parts[1] {
					names = append(names, parts[1])
				}
			}
		}
	}
	return names, nil
}

// Versions returns the registered versions of name, ascending; none is
// ErrNotFound.
func (r *Registry) Versions(ctx context.Context, name string) ([]int, error) {
	if err := ValidName(name); err != nil {
		return nil, err
	}
	objs, err := r.st.List(ctx, modelPrefix(name))
	if err != nil {
		return nil, fmt.Errorf("registry %s: %w", name, err)
	}
	var vs []int
	for _, o := range objs {
		if v, f, ok := splitVersionKey(name, o.Key); ok && f == CardFile {
			vs = append(vs, v)
		}
	}
	if len(vs) == 0 {
		return nil, notFoundf("no model named %q in %s", name, r.st.URL())
	}
	sort.Ints(vs)
	return vs, nil
}

// Aliases returns name's aliases and the versions they point at; a model
// without aliases has an empty map.
func (r *Registry) Aliases(ctx context.Context, name string) (map[string]int, error) {
	if err := ValidName(name); err != nil {
		return nil, err
	}
	doc, _, err := r.readAliases(ctx, name)
	if err != nil {
		return nil, err
	}
	return doc.Aliases, nil
}

// aliasesDoc is the content of aliases.json.
type aliasesDoc struct {
	Name    string         `json:"name"`
	Aliases map[string]int `json:"aliases"`
	// Removed lists the versions rm took away. Remove records a version
	// here, by the same compare-and-swap as every alias change, before it
	// deletes anything, and Promote refuses a listed version in its own
	// swap: a promote and an rm of one version are ordered by the swap, so
	// no alias is ever left pointing at a removed version.
	Removed []int     `json:"removed,omitempty"`
	Updated time.Time `json:"updated"`
	// HistoryStart is when records of alias moves began: the first swap
	// of this document by a registry that keeps history. Initial holds
	// the aliases it found then (a document written before history
	// existed); History every move since, in swap order. The moves live
	// in the document the swap replaces, so a move and its record are
	// one write and can never diverge.
	HistoryStart time.Time      `json:"history_start,omitzero"`
	Initial      map[string]int `json:"initial,omitempty"`
	History      []Move         `json:"history,omitempty"`
}

// readAliases returns the aliases document and the ETag it was read at
// ("" when it does not exist).
func (r *Registry) readAliases(ctx context.Context, name string) (aliasesDoc, string, error) {
	key := aliasesKey(name)
	doc := aliasesDoc{Name: name, Aliases: map[string]int{}}
	info, err := r.st.Stat(ctx, key)
	if errors.Is(err, fs.ErrNotExist) {
		return doc, "", nil
	}
	if err != nil {
		return doc, "", fmt.Errorf("registry %s aliases: %w", name, err)
	}
	b, err := datasets.ReadAll(ctx, r.st, key)
	if errors.Is(err, fs.ErrNotExist) {
		// Deleted between Stat and Open: read as absent; a CAS on the
		// stale ETag will fail and retry.
		return doc, info.ETag, nil
	}
	if err != nil {
		return doc, "", fmt.Errorf("registry %s aliases: %w", name, err)
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return doc, "", fmt.Errorf("registry %s: %w %s: %v", name, ErrMalformed, key, err)
	}
	if doc.Aliases == nil {
		doc.Aliases = map[string]int{}
	}
	if info.ETag == "" {
		return doc, "", fmt.Errorf("registry %s aliases: the store gave no ETag for %s", name, key)
	}
	return doc, info.ETag, nil
}

// updateAliasesDoc applies change to name's aliases document by
// compare-and-swap, retrying on conflict (change runs again on the fresh
// document). change may return an error to abort.
func (r *Registry) updateAliasesDoc(ctx context.Context, name string, change func(*aliasesDoc) error) error {
	for attempt := 0; attempt < r.opts.MaxAttempts; attempt++ {
		doc, etag, err := r.readAliases(ctx, name)
		if err != nil {
			return err
		}
		now := r.opts.Now().UTC()
		if doc.HistoryStart.IsZero() {
			doc.HistoryStart = now
			if len(doc.Aliases) > 0 {
				doc.Initial = maps.Clone(doc.Aliases)
			}
		}
		doc.Updated = now
		if err := change(&doc); err != nil {
			return err
		}
		doc.Name = name
		b, err := json.MarshalIndent(&doc, "", "  ")
		if err != nil {
			return err
		}
		b = append(b, '\n')
		opts := datasets.PutOptions{IfMatch: etag, ContentType: "application/json"}
		if etag == "" {
			opts = datasets.PutOptions{IfAbsent: true, ContentType: "application/json"}
		}
		_, err = datasets.PutBytes(ctx, r.st, aliasesKey(name), b, opts)
		if err == nil {
			return nil
		}
		if !errors.Is(err, datasets.ErrPreconditionFailed) && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("registry %s aliases: %w", name, err)
		}
		if err := backoff(ctx, attempt); err != nil {
			return err
		}
	}
	return fmt.Errorf("registry %s aliases: %w: gave up after %d attempts", name, ErrConflict, r.opts.MaxAttempts)
}

// backoff sleeps a jittered, growing delay (at most about 50ms).
func backoff(ctx context.Context, attempt int) error {
	max := time.Millisecond << min(attempt, 5)
	t := time.NewTimer(time.Duration(rand.Int64N(int64(max))) + time.Millisecond)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Promote points alias at version of name (moving it if it pointed
// elsewhere) and returns the version it pointed at before, 0 if none.
func (r *Registry) Promote(ctx context.Context, name string, version int, alias string) (previous int, err error) {
	if err := ValidName(name); err != nil {
		return 0, err
	}
	if err := ValidAlias(alias); err != nil {
		return 0, err
	}
	if err := r.exists(ctx, name, version); err != nil {
		return 0, err
	}
	err = r.updateAliasesDoc(ctx, name, func(doc *aliasesDoc) error {
		// An rm that swapped in first has the version listed: it may be
		// deleting the files now, after the existence check above.
		if slices.Contains(doc.Removed, version) {
			return notFoundf("model %s@%d was removed", name, version)
		}
		previous = doc.Aliases[alias]
		doc.Aliases[alias] = version
		r.record(doc, alias, previous, version)
		return nil
	})
	return previous, err
}

// Unalias removes alias from name. A missing alias is ErrNotFound.
func (r *Registry) Unalias(ctx context.Context, name, alias string) error {
	if err := ValidName(name); err != nil {
		return err
	}
	return r.updateAliasesDoc(ctx, name, func(doc *aliasesDoc) error {
		v, ok := doc.Aliases[alias]
		if !ok {
			return notFoundf("model %q has no alias %q", name, alias)
		}
		delete(doc.Aliases, alias)
		r.record(doc, alias, v, 0)
		return nil
	})
}

// exists checks that version of name is registered.
func (r *Registry) exists(ctx context.Context, name string, version int) error {
	_, err := r.st.Stat(ctx, versionKey(name, version, CardFile))
	if errors.Is(err, fs.ErrNotExist) {
		return r.notFound(ctx, name, strconv.Itoa(version))
	}
	if err != nil {
		return fmt.Errorf("registry %s@%d: %w", name, version, err)
	}
	return nil
}

// notFound explains a reference that resolves to nothing.
func (r *Registry) notFound(ctx context.Context, name, ref string) error {
	vs, err := r.Versions(ctx, name)
	if err != nil {
		return err // no model by that name, or the store failed
	}
	if _, perr := parseVersion(ref); perr == nil {
		return notFoundf("model %q has no version %s (versions: %s)", name, ref, versionList(vs))
	}
	aliases, _ := r.Aliases(ctx, name)
	names := make([]string, 0, len(aliases))
	for a := range aliases {
		names = append(names, a)
	}
	sort.Strings(names)
	known := "none"
	if len(names) > 0 {
		known = strings.Join(names, ", ")
	}
	return notFoundf("model %q has no alias %q (aliases: %s)", name, ref, known)
}

func versionList(vs []int) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = strconv.Itoa(v)
	}
	return strings.Join(s, ", ")
}

// Resolve returns the version that ref (a version number, an alias or
// "latest"; "" means "latest") designates for name.
func (r *Registry) Resolve(ctx context.Context, name, ref string) (int, error) {
	if err := ValidName(name); err != nil {
		return 0, err
	}
	if ref == "" || ref == Latest {
		vs, err := r.Versions(ctx, name)
		if err != nil {
			return 0, err
		}
		return vs[len(vs)-1], nil
	}
	if v, err := parseVersion(ref); err == nil {
		return v, r.exists(ctx, name, v)
	}
	aliases, err := r.Aliases(ctx, name)
	if err != nil {
		return 0, err
	}
	v, ok := aliases[ref]
	if !ok {
		return 0, r.notFound(ctx, name, ref)
	}
	return v, nil
}

// ResolveRef is Resolve of a "NAME[@REF]" string.
func (r *Registry) ResolveRef(ctx context.Context, s string) (name string, version int, err error) {
	name, ref, err := ParseRef(s)
	if err != nil {
		return "", 0, err
	}
	version, err = r.Resolve(ctx, name, ref)
	return name, version, err
}

// Card reads the card of version of name.
func (r *Registry) Card(ctx context.Context, name string, version int) (*models.Card, error) {
	if err := ValidName(name); err != nil {
		return nil, err
	}
	key := versionKey(name, version, CardFile)
	b, err := datasets.ReadAll(ctx, r.st, key)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, r.notFound(ctx, name, strconv.Itoa(version))
	}
	if err != nil {
		return nil, fmt.Errorf("registry %s@%d: %w", name, version, err)
	}
	var c models.Card
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("registry %s@%d: %w card %s: %v", name, version, ErrMalformed, key, err)
	}
	if c.Name != name || c.Version != version {
		return nil, fmt.Errorf("registry %s@%d: %w card %s: it says it is %s@%d", name, version, ErrMalformed, key, c.Name, c.Version)
	}
	if c.Kind == "" {
		return nil, fmt.Errorf("registry %s@%d: %w card %s: no kind", name, version, ErrMalformed, key)
	}
	return &c, nil
}

// Load reads version of name and builds its Model.
func (r *Registry) Load(ctx context.Context, name string, version int) (models.Model, error) {
	c, err := r.Card(ctx, name, version)
	if err != nil {
		return nil, err
	}
	var file datasets.Object
	if c.File != "" {
		if !fileRE.MatchString(c.File) {
			return nil, fmt.Errorf("registry %s@%d: %w card: file %q", name, version, ErrMalformed, c.File)
		}
		file, err = r.st.Open(ctx, versionKey(name, version, c.File))
		if err != nil {
			return nil, fmt.Errorf("registry load %s@%d: model file: %w", name, version, err)
		}
		defer file.Close()
	}
	m, err := r.opts.Kinds.Load(ctx, c, file)
	if err != nil {
		return nil, fmt.Errorf("registry load %s@%d: %w", name, version, err)
	}
	return m, nil
}

// LoadRef is Load of a "NAME[@REF]" string.
func (r *Registry) LoadRef(ctx context.Context, s string) (models.Model, error) {
	name, v, err := r.ResolveRef(ctx, s)
	if err != nil {
		return nil, err
	}
	return r.Load(ctx, name, v)
}

// Entry is one version in a listing.
type Entry struct {
	Name    string    `json:"name"`
	Version int       `json:"version"`
	Kind    string    `json:"kind"`
	Task    string    `json:"task,omitempty"`
	Aliases []string  `json:"aliases"`
	Created time.Time `json:"created"`
}

// List returns every version of the named model, or of every model when
// name is empty, sorted by name then version.
func (r *Registry) List(ctx context.Context, name string) ([]Entry, error) {
	names := []string{name}
	if name == "" {
		var err error
		if names, err = r.Names(ctx); err != nil {
			return nil, err
		}
	}
	out := []Entry{}
	for _, n := range names {
		vs, err := r.Versions(ctx, n)
		if err != nil {
			return nil, err
		}
		aliases, err := r.Aliases(ctx, n)
		if err != nil {
			return nil, err
		}
		byVersion := map[int][]string{}
		for a, v := range aliases {
			byVersion[v] = append(byVersion[v], a)
		}
		for _, v := range vs {
			c, err := r.Card(ctx, n, v)
			if err != nil {
				return nil, err
			}
			as := byVersion[v]
			sort.Strings(as)
			if as == nil {
				as = []string{}
			}
			out = append(out, Entry{Name: n, Version: v, Kind: c.Kind, Task: c.Task, Aliases: as, Created: c.Created})
		}
	}
	return out, nil
}

// Remove deletes version of name: its card first (so it disappears at
// once), then its files. Its number stays reserved. A version an alias
// points at is refused with ErrAliased.
func (r *Registry) Remove(ctx context.Context, name string, version int) error {
	if err := ValidName(name); err != nil {
		return err
	}
	if err := r.exists(ctx, name, version); err != nil {
		return err
	}
	// Listed as removed, by compare-and-swap, before anything is deleted:
	// a concurrent Promote either swapped first (its alias is seen here
	// and the rm refused) or swaps after and refuses the version.
	err := r.updateAliasesDoc(ctx, name, func(doc *aliasesDoc) error {
		var pointing []string
		for a, v := range doc.Aliases {
			if v == version {
				pointing = append(pointing, a)
			}
		}
		if len(pointing) > 0 {
			sort.Strings(pointing)
			return fmt.Errorf("registry rm %s@%d: %w %s: promote another version to them first", name, version, ErrAliased, strings.Join(pointing, ", "))
		}
		if !slices.Contains(doc.Removed, version) {
			doc.Removed = append(doc.Removed, version)
			slices.Sort(doc.Removed)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := r.st.Delete(ctx, versionKey(name, version, CardFile)); err != nil {
		return fmt.Errorf("registry rm %s@%d: %w", name, version, err)
	}
	objs, err := r.st.List(ctx, fmt.Sprintf("%s%d/", modelPrefix(name), version))
	if err != nil {
		return fmt.Errorf("registry rm %s@%d: %w", name, version, err)
	}
	for _, o := range objs {
		if _, f, ok := splitVersionKey(name, o.Key); ok && f != ReservedFile {
			if err := r.st.Delete(ctx, o.Key); err != nil {
				return fmt.Errorf("registry rm %s@%d: %w", name, version, err)
			}
		}
	}
	return nil
}
