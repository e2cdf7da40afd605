package privacy

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"time"

	"github.com/prevoir/prevoir/datasets"
)

// Store keys (docs/PRIVACY.md).
const (
	Prefix       = datasets.SuppressionsPrefix
	SecretKey    = datasets.SuppressionSecret
	ForgottenKey = datasets.ForgottenKey
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
type Tombstone = datasets.Tombstone

// ConsentRecord is an opt-out or opt-in given through prevoir.
type ConsentRecord struct {
	HMAC    string    `json:"hmac"`
	Channel string    `json:"channel"`
	OptedIn bool      `json:"opted_in"`
	At      time.Time `json:"at"`
}

type forgottenFile = datasets.ForgottenFile

type consentFile struct {
	FormatVersion int             `json:"format_version"`
	Records       []ConsentRecord `json:"records"`
}

// Suppressions is a snapshot of a store's privacy records. The zero value
// suppresses no one. It is safe for concurrent reads.
type Suppressions struct {
	forgotten *datasets.Forgotten
	consent   map[string][]ConsentRecord
}

// Load reads the store's suppressions. A store without any is not an
// error: the result suppresses no one.
func Load(ctx context.Context, st datasets.Store) (*Suppressions, error) {
	f, err := datasets.LoadForgotten(ctx, st)
	if err != nil {
		return nil, err
	}
	s := &Suppressions{forgotten: f, consent: map[string][]ConsentRecord{}}
	if f.Secret() == nil {
		return s, nil
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
	if s == nil || s.forgotten.Secret() == nil {
		return ""
	}
	return mac(s.forgotten.Secret(), datasets.NormalizeID(customerID))
}

func mac(secret []byte, id string) string { return datasets.CustomerMAC(secret, id) }

// Forgotten reports whether the customer was forgotten. The empty id
// (anonymous lines) is never forgotten.
func (s *Suppressions) Forgotten(customerID string) bool {
	return s != nil && s.forgotten.Has(customerID)
}

// Filter returns a function reporting whether rows of customerID must be
// dropped because the customer was forgotten (datasets.Forgotten.Filter):
// safe for concurrent use, one HMAC per distinct id.
func (s *Suppressions) Filter() func(customerID string) bool {
	if s == nil {
		return func(string) bool { return false }
	}
	return s.forgotten.Filter()
}

// ForgottenAt returns when the customer was forgotten, if they were.
func (s *Suppressions) ForgottenAt(customerID string) (time.Time, bool) {
	if s == nil {
		return time.Time{}, false
	}
	return s.forgotten.At(customerID)
}

// Tombstones is the number of forgotten customers.
func (s *Suppressions) Tombstones() int {
	if s == nil {
		return 0
	}
	return s.forgotten.Len()
}

// Consent returns the consent records given through prevoir for the
// customer, oldest first.
func (s *Suppressions) Consent(customerID string) []ConsentRecord {
	if s == nil || len(s.consent) == 0 {
		return nil
	}
	return slices.Clone(s.consent[mac(s.forgotten.Secret(), datasets.NormalizeID(customerID))])
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
	return datasets.ReadSuppressionSecret(ctx, st)
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
