package datasets

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io/fs"
	"strings"
	"sync"
	"time"
)

// Store keys of the privacy records (docs/PRIVACY.md). datasets/privacy
// writes them; the datasets layer reads the tombstones so that every
// writer of customer rows drops forgotten customers itself.
const (
	SuppressionsPrefix = "suppressions/"
	SuppressionSecret  = SuppressionsPrefix + "secret"
	ForgottenKey       = SuppressionsPrefix + "forgotten.json"
)

// Tombstone records that a customer was forgotten: the HMAC of the id,
// never the id.
type Tombstone struct {
	HMAC string    `json:"hmac"`
	At   time.Time `json:"at"`
}

// ForgottenFile is the content of ForgottenKey.
type ForgottenFile struct {
	FormatVersion int         `json:"format_version"`
	Tombstones    []Tombstone `json:"tombstones"`
}

// Forgotten is a snapshot of a store's tombstones: who was forgotten,
// recognised by the HMAC of their id under the store's secret. The zero
// value and nil forget no one. It is safe for concurrent reads.
type Forgotten struct {
	secret []byte
	at     map[string]time.Time
}

// LoadForgotten reads the store's secret and tombstones. A store without
// them is not an error: the result forgets no one.
func LoadForgotten(ctx context.Context, st Store) (*Forgotten, error) {
	f := &Forgotten{at: map[string]time.Time{}}
	secret, err := ReadSuppressionSecret(ctx, st)
	if errors.Is(err, fs.ErrNotExist) {
		return f, nil
	}
	if err != nil {
		return nil, err
	}
	f.secret = secret
	b, err := ReadAll(ctx, st, ForgottenKey)
	if errors.Is(err, fs.ErrNotExist) {
		return f, nil
	}
	if err != nil {
		return nil, err
	}
	var ff ForgottenFile
	if err := json.Unmarshal(b, &ff); err != nil {
		return nil, fmt.Errorf("read %s: %w", ForgottenKey, err)
	}
	for _, t := range ff.Tombstones {
		f.at[t.HMAC] = t.At
	}
	return f, nil
}

// ReadSuppressionSecret reads the store's per-store secret.
func ReadSuppressionSecret(ctx context.Context, st Store) ([]byte, error) {
	b, err := ReadAll(ctx, st, SuppressionSecret)
	if err != nil {
		return nil, err
	}
	k, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(k) < 16 {
		return nil, fmt.Errorf("%s: not a hex secret of at least 16 bytes", SuppressionSecret)
	}
	return k, nil
}

// CustomerMAC returns the hex HMAC-SHA256 of a stored customer id
// (NormalizeID) under secret: how tombstones and consent records name a
// customer.
func CustomerMAC(secret []byte, id string) string {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte(id))
	return hex.EncodeToString(h.Sum(nil))
}

// Secret returns the store's secret (nil when none was created yet).
func (f *Forgotten) Secret() []byte {
	if f == nil {
		return nil
	}
	return f.secret
}

// Len is the number of tombstones.
func (f *Forgotten) Len() int {
	if f == nil {
		return 0
	}
	return len(f.at)
}

// At returns when the customer was forgotten, if they were. The empty id
// (anonymous lines) is never forgotten.
func (f *Forgotten) At(customerID string) (time.Time, bool) {
	if f.Len() == 0 || customerID == "" {
		return time.Time{}, false
	}
	t, ok := f.at[CustomerMAC(f.secret, NormalizeID(customerID))]
	return t, ok
}

// Has reports whether the customer was forgotten.
func (f *Forgotten) Has(customerID string) bool {
	_, ok := f.At(customerID)
	return ok
}

// Filter returns a function reporting whether rows of customerID must be
// dropped. It answers false at once when no one was forgotten. It is safe
// for concurrent use and cheap on repeated ids (one HMAC per distinct id,
// cached per goroutine-local checker); it does not keep the strings it is
// given.
func (f *Forgotten) Filter() func(customerID string) bool {
	if f.Len() == 0 {
		return func(string) bool { return false }
	}
	pool := sync.Pool{New: func() any { return f.newCheck() }}
	return func(id string) bool {
		c := pool.Get().(*forgetCheck)
		defer pool.Put(c)
		return c.forgotten(id)
	}
}

// forgetCheck answers Forgotten.Has for one goroutine, caching the answer
// per distinct id so each id costs one HMAC.
type forgetCheck struct {
	f     *Forgotten
	h     hash.Hash
	sum   []byte
	cache map[string]bool
}

// forgetCacheMax bounds a check's cache: more distinct ids than this and
// it starts over (the answers are recomputed, never wrong).
const forgetCacheMax = 1 << 18

func (f *Forgotten) newCheck() *forgetCheck {
	if f.Len() == 0 {
		return nil
	}
	return &forgetCheck{f: f, h: hmac.New(sha256.New, f.secret), cache: map[string]bool{}}
}

// forgotten reports whether id was forgotten; a nil check forgets no one.
func (c *forgetCheck) forgotten(id string) bool {
	if c == nil || id == "" {
		return false
	}
	if v, ok := c.cache[id]; ok {
		return v
	}
	c.h.Reset()
	c.h.Write([]byte(NormalizeID(id)))
	c.sum = c.h.Sum(c.sum[:0])
	_, v := c.f.at[hex.EncodeToString(c.sum)]
	if len(c.cache) >= forgetCacheMax {
		clear(c.cache)
	}
	c.cache[strings.Clone(id)] = v
	return v
}

// customerKeyed reports whether rows keyed by keyColumn are customer rows,
// which every writer filters by the tombstones.
func customerKeyed(keyColumn string) bool { return keyColumn == "customer_id" }

// Suppressed returns how many rows of forgotten customers were dropped.
func (w *Writer[T]) Suppressed() int64 { return w.suppressed }

// loadSuppressions reads the store's tombstones once, for a table of
// customer rows.
func (w *Writer[T]) loadSuppressions(ctx context.Context) error {
	if w.supLoaded {
		return nil
	}
	if customerKeyed(w.t.KeyColumn) {
		f, err := LoadForgotten(ctx, w.st)
		if err != nil {
			return fmt.Errorf("writer: suppressions: %w", err)
		}
		w.check, w.supLen = f.newCheck(), f.Len()
	}
	w.supLoaded = true
	return nil
}

// ErrForgottenDuringWrite is returned by Commit when customers were
// forgotten after the writer loaded the tombstones: its parts may hold
// their rows, so nothing is committed. It is an ErrConflict: run the
// write again.
var ErrForgottenDuringWrite = fmt.Errorf("customers were forgotten during this write: %w", ErrConflict)

// recheckSuppressions fails when tombstones were added since the writer
// loaded them (tombstones are only ever added, so the count tells).
func (w *Writer[T]) recheckSuppressions(ctx context.Context) error {
	if !w.supLoaded || !customerKeyed(w.t.KeyColumn) {
		return nil
	}
	f, err := LoadForgotten(ctx, w.st)
	if err != nil {
		return fmt.Errorf("writer: suppressions: %w", err)
	}
	if f.Len() != w.supLen {
		return ErrForgottenDuringWrite
	}
	return nil
}
