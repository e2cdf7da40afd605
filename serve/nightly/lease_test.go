package nightly

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/datasets/local"
)

func newStore(t *testing.T) datasets.Store {
	t.Helper()
	st, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// clock is a settable clock for lease tests.
type clock struct{ t atomic.Int64 }

func (c *clock) now() time.Time          { return time.Unix(0, c.t.Load()) }
func (c *clock) advance(d time.Duration) { c.t.Add(int64(d)) }

func TestLeaseOverlapRefused(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	key := LeaseKey("demo")
	a, err := AcquireLease(ctx, st, key, LeaseInfo{Holder: "host-a:1", Run: "run-a", AsOf: "2024-10-01"}, time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = AcquireLease(ctx, st, key, LeaseInfo{Holder: "host-b:2", Run: "run-b"}, time.Minute, nil)
	var he *HeldError
	if !errors.As(err, &he) || !errors.Is(err, ErrLeaseHeld) {
		t.Fatalf("second acquire: %v, want a HeldError", err)
	}
	if he.Info.Holder != "host-a:1" || !strings.Contains(err.Error(), "host-a:1") || !strings.Contains(err.Error(), he.Info.ExpiresAt.UTC().Format(time.RFC3339)) {
		t.Errorf("message %q should name the holder and the expiry", err)
	}
	if err := a.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := AcquireLease(ctx, st, key, LeaseInfo{Holder: "host-b:2", Run: "run-b"}, time.Minute, nil); err != nil {
		t.Fatalf("after release: %v", err)
	}
}

func TestLeaseExpiredTakenOver(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	var c clock
	c.advance(time.Duration(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()))
	key := LeaseKey("demo")
	a, err := AcquireLease(ctx, st, key, LeaseInfo{Holder: "a", Run: "ra"}, 2*time.Minute, c.now)
	if err != nil {
		t.Fatal(err)
	}
	c.advance(119 * time.Second)
	if _, err := AcquireLease(ctx, st, key, LeaseInfo{Holder: "b", Run: "rb"}, 2*time.Minute, c.now); !errors.Is(err, ErrLeaseHeld) {
		t.Fatalf("1s before expiry: %v, want ErrLeaseHeld", err)
	}
	c.advance(time.Second)
	b, err := AcquireLease(ctx, st, key, LeaseInfo{Holder: "b", Run: "rb"}, 2*time.Minute, c.now)
	if err != nil {
		t.Fatalf("at expiry: %v", err)
	}
	if b.Info().Holder != "b" {
		t.Errorf("holder %q", b.Info().Holder)
	}
	// The first run's heartbeat learns it lost the lease; its release
	// leaves the new holder's lease alone.
	if err := a.Renew(ctx); !errors.Is(err, ErrLeaseLost) {
		t.Errorf("renew after takeover: %v, want ErrLeaseLost", err)
	}
	if err := a.Release(ctx); !errors.Is(err, ErrLeaseLost) {
		t.Errorf("release after takeover: %v, want ErrLeaseLost", err)
	}
	if _, err := AcquireLease(ctx, st, key, LeaseInfo{Holder: "c", Run: "rc"}, 2*time.Minute, c.now); !errors.Is(err, ErrLeaseHeld) {
		t.Errorf("b's lease should still hold: %v", err)
	}
}

func TestLeaseHeartbeatKeepsIt(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	key := LeaseKey("demo")
	ttl := 300 * time.Millisecond
	a, err := AcquireLease(ctx, st, key, LeaseInfo{Holder: "a", Run: "ra"}, ttl, nil)
	if err != nil {
		t.Fatal(err)
	}
	var lost atomic.Bool
	stop := a.Heartbeat(ctx, func(error) { lost.Store(true) })
	deadline := time.Now().Add(4 * ttl)
	for time.Now().Before(deadline) {
		if _, err := AcquireLease(ctx, st, key, LeaseInfo{Holder: "b", Run: "rb"}, ttl, nil); !errors.Is(err, ErrLeaseHeld) {
			t.Fatalf("while the heartbeat runs, %v after the TTL: %v, want ErrLeaseHeld", time.Since(deadline.Add(-4*ttl)), err)
		}
		time.Sleep(ttl / 5)
	}
	stop()
	if lost.Load() {
		t.Fatal("heartbeat reported the lease lost")
	}
	// Without heartbeats (a killed run) the lease expires TTL after the
	// last one.
	time.Sleep(ttl + 50*time.Millisecond)
	if _, err := AcquireLease(ctx, st, key, LeaseInfo{Holder: "b", Run: "rb"}, ttl, nil); err != nil {
		t.Fatalf("after the heartbeat stopped and the TTL passed: %v", err)
	}
}

func TestLeaseConcurrentAcquireOneWins(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	var won atomic.Int32
	done := make(chan error, 8)
	for i := 0; i < 8; i++ {
		go func() {
			_, err := AcquireLease(ctx, st, LeaseKey("demo"), LeaseInfo{Holder: "h", Run: datasets.NewRunID()}, time.Minute, nil)
			if err == nil {
				won.Add(1)
			}
			done <- err
		}()
	}
	for i := 0; i < 8; i++ {
		if err := <-done; err != nil && !errors.Is(err, ErrLeaseHeld) {
			t.Errorf("acquire: %v", err)
		}
	}
	if won.Load() != 1 {
		t.Errorf("%d runs took the lease, want 1", won.Load())
	}
}

// TestRunCancelledWhenLeaseTakenOver: a run whose heartbeat finds its
// lease taken over (it stalled past the expiry and another run took it)
// is cancelled and says so.
func TestRunCancelledWhenLeaseTakenOver(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	cfg := &Config{AsOf: "2024-10-01", LeaseTTL: Duration(time.Second), Tasks: map[string]*TaskConfig{"slow": {}}}
	if err := cfg.Defaults(); err != nil {
		t.Fatal(err)
	}
	slow := Adapter{Name: "slow", Run: func(ctx context.Context, st datasets.Store, in Input) (*Output, error) {
		// Another run takes the lease over meanwhile.
		b := []byte(`{"holder":"thief:1","run":"r2","expires_at":"2999-01-01T00:00:00Z"}`)
		if _, err := datasets.PutBytes(ctx, st, LeaseKey("demo"), b, datasets.PutOptions{}); err != nil {
			return nil, err
		}
		<-ctx.Done()
		return nil, context.Cause(ctx)
	}}
	done := make(chan error, 1)
	go func() {
		_, err := Run(ctx, st, Options{Dataset: "demo", Config: cfg, Adapters: []Adapter{slow}})
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, ErrLeaseLost) {
			t.Fatalf("run: %v, want ErrLeaseLost", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the run went on without its lease")
	}
	// The thief's lease is left alone.
	if _, err := AcquireLease(ctx, st, LeaseKey("demo"), LeaseInfo{Holder: "x"}, time.Minute, nil); !errors.Is(err, ErrLeaseHeld) {
		t.Errorf("after: %v", err)
	}
}
