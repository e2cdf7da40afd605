package privacy

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io/fs"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prevoir/prevoir/datasets"
)

// Store keys (docs/PRIVACY.md).
const (
	Prefix       = "suppressions/"
	SecretKey    = Prefix + "secret"
	ForgottenKey = Prefix + "forgotten.json"
	ConsentKey   = Prefix + "consent.json"
)

// FormatVersion is the version of the suppression files this code writes.
const FormatVersion = 1

// Channels a consent record may name. All applies to every channel.
const (
	Email = "email"
	SMS   = "sms"
	All   = "all"
)

// Channels lists the channels in documentation order.
var Channels = []string{Email, SMS, All}

// ValidChannel reports whether ch is one of Channels.
func ValidChannel(ch string) bool { return slices.Contains(Channels, ch) }

// Tombstone records that a customer was forgotten: the HMAC of the id,
// never the id.
type Tombstone struct {
	HMAC string    `json:"hmac"`
	At   time.Time `json:"at"`
}

// ConsentRecord is an opt-out or opt-in given through prevoir.
type ConsentRecord struct {
	HMAC    string    `json:"hmac"`
	Channel string    `json:"channel"`
	OptedIn bool      `json:"opted_in"`
	At      time.Time `json:"at"`
}

type forgottenFile struct {
	FormatVersion int         `json:"format_version"`
	Tombstones    []Tombstone `json:"tombstones"`
}

type consentFile struct {
	FormatVersion int             `json:"format_version"`
	Records       []ConsentRecord `json:"records"`
}

// Suppressions is a snapshot of a store's privacy records. The zero value
// suppresses no one. It is safe for concurrent reads.
type Suppressions struct {
	secret    []byte
	forgotten map[string]time.Time
	consent   map[string][]ConsentRecord
}

// Load reads the store's suppressions. A store without any is not an
// error: the result suppresses no one.
func Load(ctx context.Context, st datasets.Store) (*Suppressions, error) {
	s := &Suppressions{forgotten: map[string]time.Time{}, consent: map[string][]ConsentRecord{}}
	secret, err := readSecret(ctx, st)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, err
	}
	s.secret = secret
	var ff forgottenFile
	if _, err := readJSON(ctx, st, ForgottenKey, &ff); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	for _, t := range ff.Tombstones {
		s.forgotten[t.HMAC] = t.At
	}
	var cf consentFile
	if _, err := readJSON(ctx, st, ConsentKey, &cf); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	for _, r := range cf.Records {
		s.consent[r.HMAC] = append(s.consent[r.HMAC], r)
	}
	return s, nil
}

// HMAC returns the hex HMAC-SHA256 of a customer id under the store's
// secret, or "" when the store has no secret yet (nothing was recorded).
func (s *Suppressions) HMAC(customerID string) string {
	if s == nil || s.secret == nil {
		return ""
	}
	return mac(s.secret, datasets.NormalizeID(customerID))
}

func mac(secret []byte, id string) string {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte(id))
	return hex.EncodeToString(h.Sum(nil))
}

// Forgotten reports whether the customer was forgotten: the import-time
// filter. The empty id (anonymous lines) is never forgotten.
func (s *Suppressions) Forgotten(customerID string) bool {
	if s == nil || len(s.forgotten) == 0 || customerID == "" {
		return false
	}
	_, ok := s.forgotten[mac(s.secret, datasets.NormalizeID(customerID))]
	return ok
}

// Filter returns the import-time filter: a function reporting whether a
// line of customerID must be dropped because the customer was forgotten.
// It answers false at once when no one was forgotten. It is safe for
// concurrent use (parse workers share it) and cheap on repeated ids: each
// worker's hasher keeps a bounded cache of recent answers.
func (s *Suppressions) Filter() func(customerID string) bool {
	if s == nil || len(s.forgotten) == 0 {
		return func(string) bool { return false }
	}
	type state struct {
		h     hash.Hash
		sum   []byte
		cache map[string]bool
	}
	pool := sync.Pool{New: func() any {
		return &state{h: hmac.New(sha256.New, s.secret), cache: map[string]bool{}}
	}}
	return func(id string) bool {
		if id == "" {
			return false
		}
		st := pool.Get().(*state)
		defer pool.Put(st)
		if v, ok := st.cache[id]; ok {
			return v
		}
		st.h.Reset()
		st.h.Write([]byte(datasets.NormalizeID(id)))
		st.sum = st.h.Sum(st.sum[:0])
		_, v := s.forgotten[hex.EncodeToString(st.sum)]
		if len(st.cache) >= 1<<16 {
			clear(st.cache)
		}
		st.cache[id] = v
		return v
	}
}

// ForgottenAt returns when the customer was forgotten, if they were.
func (s *Suppressions) ForgottenAt(customerID string) (time.Time, bool) {
	if s == nil || len(s.forgotten) == 0 {
		return time.Time{}, false
	}
	t, ok := s.forgotten[mac(s.secret, datasets.NormalizeID(customerID))]
	return t, ok
}

// Tombstones is the number of forgotten customers.
func (s *Suppressions) Tombstones() int {
	if s == nil {
		return 0
	}
	return len(s.forgotten)
}

// Consent returns the consent records given through prevoir for the
// customer, oldest first.
func (s *Suppressions) Consent(customerID string) []ConsentRecord {
	if s == nil || len(s.consent) == 0 {
		return nil
	}
	return slices.Clone(s.consent[mac(s.secret, datasets.NormalizeID(customerID))])
}

// OptedOut reports whether the customer's latest record for channel (or
// for "all") at or before t is an opt-out. Asked for "all", only records
// given for all channels count. A zero t means now: the latest
// record of all.
func (s *Suppressions) OptedOut(customerID, channel string, t time.Time) bool {
	out := false
	var at time.Time
	for _, r := range s.Consent(customerID) {
		if r.Channel != channel && r.Channel != All {
			continue
		}
		if !t.IsZero() && r.At.After(t) {
			continue
		}
		if !r.At.Before(at) {
			out, at = !r.OptedIn, r.At
		}
	}
	return out
}

// readSecret reads the store's secret.
func readSecret(ctx context.Context, st datasets.Store) ([]byte, error) {
	b, err := datasets.ReadAll(ctx, st, SecretKey)
	if err != nil {
		return nil, err
	}
	k, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(k) < 16 {
		return nil, fmt.Errorf("%s: not a hex secret of at least 16 bytes", SecretKey)
	}
	return k, nil
}

// ensureSecret returns the store's secret, creating it (32 random bytes)
// if there is none. Concurrent first calls agree on one secret.
func ensureSecret(ctx context.Context, st datasets.Store) ([]byte, error) {
	k, err := readSecret(ctx, st)
	if !errors.Is(err, fs.ErrNotExist) {
		return k, err
	}
	k = make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return nil, err
	}
	_, err = datasets.PutBytes(ctx, st, SecretKey, []byte(hex.EncodeToString(k)+"\n"), datasets.PutOptions{IfAbsent: true, ContentType: "text/plain"})
	if errors.Is(err, datasets.ErrPreconditionFailed) {
		return readSecret(ctx, st)
	}
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", SecretKey, err)
	}
	return k, nil
}

// readJSON reads key into v and returns the ETag the content had.
func readJSON(ctx context.Context, st datasets.Store, key string, v any) (string, error) {
	info, err := st.Stat(ctx, key)
	if err != nil {
		return "", err
	}
	b, err := datasets.ReadAll(ctx, st, key)
	if err != nil {
		return "", err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return "", fmt.Errorf("read %s: %w", key, err)
	}
	return info.ETag, nil
}

// update applies change to the JSON object under key with a
// compare-and-swap, retrying when another writer got there first.
// change reports whether it changed anything; nothing is written if not.
func update[T any](ctx context.Context, st datasets.Store, key string, change func(*T) bool) error {
	for try := 0; ; try++ {
		var v T
		etag, err := readJSON(ctx, st, key, &v)
		absent := errors.Is(err, fs.ErrNotExist)
		if err != nil && !absent {
			return err
		}
		if !change(&v) {
			return nil
		}
		b, err := json.MarshalIndent(&v, "", " ")
		if err != nil {
			return err
		}
		opts := datasets.PutOptions{IfMatch: etag, ContentType: "application/json"}
		if absent {
			opts = datasets.PutOptions{IfAbsent: true, ContentType: "application/json"}
		}
		_, err = datasets.PutBytes(ctx, st, key, append(b, '\n'), opts)
		if err == nil {
			return nil
		}
		if !errors.Is(err, datasets.ErrPreconditionFailed) || try >= 50 {
			return fmt.Errorf("update %s: %w", key, err)
		}
	}
}

// addTombstones records tombstones for ids (at time at) and returns the
// HMACs, and how many were new.
func addTombstones(ctx context.Context, st datasets.Store, ids []string, at time.Time) ([]string, int, error) {
	secret, err := ensureSecret(ctx, st)
	if err != nil {
		return nil, 0, err
	}
	macs := make([]string, len(ids))
	for i, id := range ids {
		macs[i] = mac(secret, id)
	}
	added := 0
	err = update(ctx, st, ForgottenKey, func(f *forgottenFile) bool {
		f.FormatVersion = FormatVersion
		have := map[string]bool{}
		for _, t := range f.Tombstones {
			have[t.HMAC] = true
		}
		added = 0
		for _, m := range macs {
			if !have[m] {
				have[m] = true
				f.Tombstones = append(f.Tombstones, Tombstone{HMAC: m, At: at.UTC()})
				added++
			}
		}
		slices.SortFunc(f.Tombstones, func(a, b Tombstone) int { return strings.Compare(a.HMAC, b.HMAC) })
		return added > 0
	})
	return macs, added, err
}

// SetConsent records an opt-out (optedIn false) or opt-in for each id on
// channel at time at.
func SetConsent(ctx context.Context, st datasets.Store, ids []string, channel string, optedIn bool, at time.Time) error {
	if !ValidChannel(channel) {
		return fmt.Errorf("channel %q: want one of %s", channel, strings.Join(Channels, ", "))
	}
	if len(ids) == 0 {
		return nil
	}
	for _, id := range ids {
		if id == "" {
			return errors.New("empty customer id")
		}
	}
	secret, err := ensureSecret(ctx, st)
	if err != nil {
		return err
	}
	return update(ctx, st, ConsentKey, func(f *consentFile) bool {
		f.FormatVersion = FormatVersion
		for _, id := range ids {
			f.Records = append(f.Records, ConsentRecord{HMAC: mac(secret, datasets.NormalizeID(id)), Channel: channel, OptedIn: optedIn, At: at.UTC()})
		}
		return true
	})
}
