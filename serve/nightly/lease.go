package nightly

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"sync"
	"time"

	"github.com/prevoir/prevoir/datasets"
)

// Root is the store prefix of the nightly job's own objects: the lease
// and the quality series, per dataset.
const Root = "runs/"

// LeaseKey is the key of a dataset's run lease.
func LeaseKey(dataset string) string { return Root + dataset + "/lease.json" }

// ReportKey is where `prevoir run` keeps a run's summary (ext "json")
// and its HTML report (ext "html"): runs/<dataset>/reports/<as_of>/<run>.<ext>.
func ReportKey(dataset, asOf, run, ext string) string {
	return Root + dataset + "/reports/" + asOf + "/" + run + "." + ext
}

// ErrLeaseHeld is returned when another run holds the lease.
var ErrLeaseHeld = errors.New("another run holds the lease")

// ErrLeaseLost is the cause of a run's cancellation when its heartbeat
// found the lease taken by another run (it had expired).
var ErrLeaseLost = errors.New("lease lost")

// LeaseInfo is the content of the lease object.
type LeaseInfo struct {
	// Holder says who runs: host, process and run id.
	Holder string `json:"holder"`
	Run    string `json:"run"`
	AsOf   string `json:"as_of,omitempty"`
	// AcquiredAt is when the run took the lease, RenewedAt its last
	// heartbeat, ExpiresAt = RenewedAt + TTL (a released lease expires
	// when released).
	AcquiredAt time.Time `json:"acquired_at"`
	RenewedAt  time.Time `json:"renewed_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	Released   bool      `json:"released,omitempty"`
}

// HeldError says who holds the lease and until when.
type HeldError struct {
	Key  string
	Info LeaseInfo
}

func (e *HeldError) Error() string {
	return fmt.Sprintf("%s: %s (run %s, as of %s) holds %s until %s unless it renews it; wait, or remove it if that run is known dead",
		ErrLeaseHeld, e.Info.Holder, e.Info.Run, e.Info.AsOf, e.Key, e.Info.ExpiresAt.UTC().Format(time.RFC3339))
}

// Is makes a HeldError match ErrLeaseHeld.
func (e *HeldError) Is(target error) bool { return target == ErrLeaseHeld }

// Lease is a held lease: Renew moves its expiry, Release gives it up.
// Each swap is a compare-and-swap on the ETag of the lease this run
// wrote last, so a run whose lease was taken over learns it.
type Lease struct {
	st   datasets.Store
	key  string
	ttl  time.Duration
	now  func() time.Time
	mu   sync.Mutex
	info LeaseInfo
	etag string
}

// AcquireLease takes the lease under key for ttl: created if absent,
// taken over if expired (ExpiresAt at or before now), else refused with a
// *HeldError. Two runs racing for it: one wins the swap, the other reads
// the winner and is refused.
func AcquireLease(ctx context.Context, st datasets.Store, key string, info LeaseInfo, ttl time.Duration, now func() time.Time) (*Lease, error) {
	if now == nil {
		now = time.Now
	}
	for try := 0; try < 3; try++ {
		b, etag, err := datasets.ReadVersioned(ctx, st, key)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("lease %s: %w", key, err)
		}
		if err == nil {
			var cur LeaseInfo
			if jerr := json.Unmarshal(b, &cur); jerr != nil {
				return nil, fmt.Errorf("lease %s: %w (remove it if no run is live)", key, jerr)
			}
			if !cur.Released && cur.ExpiresAt.After(now()) {
				return nil, &HeldError{Key: key, Info: cur}
			}
		}
		t := now().UTC()
		info.AcquiredAt, info.RenewedAt, info.ExpiresAt, info.Released = t, t, t.Add(ttl), false
		nb, _ := json.MarshalIndent(info, "", " ")
		oi, err := datasets.SwapObject(ctx, st, key, append(nb, '\n'), etag)
		if errors.Is(err, datasets.ErrConflict) {
			continue // another run moved it: read it again
		}
		if err != nil {
			return nil, fmt.Errorf("lease %s: %w", key, err)
		}
		return &Lease{st: st, key: key, ttl: ttl, now: now, info: info, etag: oi.ETag}, nil
	}
	return nil, fmt.Errorf("lease %s: %w: it kept changing", key, ErrLeaseHeld)
}

// Info returns the lease as last written.
func (l *Lease) Info() LeaseInfo {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.info
}

// Renew moves the expiry to now + TTL. It fails with ErrLeaseLost when
// another run took the lease over.
func (l *Lease) Renew(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	info := l.info
	t := l.now().UTC()
	info.RenewedAt, info.ExpiresAt = t, t.Add(l.ttl)
	return l.swap(ctx, info)
}

// Release gives the lease up: the next run takes it at once. A lease
// taken over meanwhile is left alone.
func (l *Lease) Release(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	info := l.info
	t := l.now().UTC()
	info.RenewedAt, info.ExpiresAt, info.Released = t, t, true
	return l.swap(ctx, info)
}

func (l *Lease) swap(ctx context.Context, info LeaseInfo) error {
	b, _ := json.MarshalIndent(info, "", " ")
	oi, err := datasets.SwapObject(ctx, l.st, l.key, append(b, '\n'), l.etag)
	if errors.Is(err, datasets.ErrConflict) {
		return fmt.Errorf("lease %s: %w: another run took it over (this run's heartbeat came too late)", l.key, ErrLeaseLost)
	}
	if err != nil {
		return fmt.Errorf("lease %s: %w", l.key, err)
	}
	l.info, l.etag = info, oi.ETag
	return nil
}

// Heartbeat renews the lease every TTL/3 until ctx ends, and calls lost
// (once) when a renewal finds the lease taken over, or when renewals
// keep failing until the lease would have expired. It returns a function
// that stops it and waits for it.
func (l *Lease) Heartbeat(ctx context.Context, lost func(error)) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(max(l.ttl/3, time.Millisecond))
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			err := l.Renew(ctx)
			if err == nil || ctx.Err() != nil {
				continue
			}
			if errors.Is(err, ErrLeaseLost) || !l.Info().ExpiresAt.After(l.now()) {
				lost(err)
				return
			}
		}
	}()
	return func() { cancel(); <-done }
}
