package privacy_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/datasets/local"
	"github.com/prevoir/prevoir/datasets/privacy"
)

func newStore(t *testing.T) datasets.Store {
	t.Helper()
	st, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func TestEmptyStoreSuppressesNoOne(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	s, err := privacy.Load(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	if s.Forgotten("42") || s.Filter()("42") || s.OptedOut("42", privacy.Email, time.Time{}) {
		t.Fatal("an empty store suppresses someone")
	}
	if objs, _ := st.List(ctx, ""); len(objs) != 0 {
		t.Fatalf("Load wrote %v", objs)
	}
}

func TestForgetTombstoneAndFilter(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	var calls [][]string
	rw := privacy.RewriterFunc{Name: "test", Func: func(ctx context.Context, ids privacy.IDs) ([]privacy.Rewrite, error) {
		calls = append(calls, ids.Sorted())
		return []privacy.Rewrite{{Layer: "test", Object: "x", Rows: 3}}, nil
	}}
	// "17850.0" is stored as "17850" by imports: forget matches the stored form.
	rep, err := privacy.Forget(ctx, st, []string{"00042", "17850.0", "00042"}, t0, rw)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Customers != 2 || rep.NewTombstones != 2 || rep.Rows != 3 || len(rep.Tombstones) != 2 {
		t.Fatalf("report %+v", rep)
	}
	if got := strings.Join(calls[0], ","); got != "00042,17850" {
		t.Fatalf("rewriter saw %s", got)
	}
	s, err := privacy.Load(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	f := s.Filter()
	for _, id := range []string{"00042", "17850", "17850.0"} {
		if !s.Forgotten(id) || !f(id) || !f(id) {
			t.Errorf("%s not forgotten", id)
		}
	}
	for _, id := range []string{"42", "0042", "", "17851"} {
		if s.Forgotten(id) || f(id) {
			t.Errorf("%q forgotten", id)
		}
	}
	if at, ok := s.ForgottenAt("00042"); !ok || !at.Equal(t0) {
		t.Errorf("ForgottenAt = %v %v", at, ok)
	}
	// No stored object holds the id.
	objs, _ := st.List(ctx, "")
	for _, o := range objs {
		b, _ := datasets.ReadAll(ctx, st, o.Key)
		if strings.Contains(string(b), "00042") || strings.Contains(string(b), "17850") {
			t.Errorf("%s holds a forgotten id", o.Key)
		}
	}
	// A rerun is harmless: no new tombstone, the same HMACs.
	rep2, err := privacy.Forget(ctx, st, []string{"00042"}, t0.Add(time.Hour), rw)
	if err != nil {
		t.Fatal(err)
	}
	if rep2.NewTombstones != 0 || rep2.Tombstones[0] != s.HMAC("00042") {
		t.Fatalf("rerun %+v", rep2)
	}
	s2, _ := privacy.Load(ctx, st)
	if s2.Tombstones() != 2 {
		t.Fatalf("%d tombstones after rerun", s2.Tombstones())
	}
	if at, _ := s2.ForgottenAt("00042"); !at.Equal(t0) {
		t.Errorf("rerun moved the tombstone's time to %v", at)
	}
}

// noLayer is a layer holding no customer row.
var noLayer = privacy.RewriterFunc{Name: "none",
	Func:     func(context.Context, privacy.IDs) ([]privacy.Rewrite, error) { return nil, nil },
	FindFunc: func(context.Context, privacy.IDs) ([]string, error) { return nil, nil }}

func TestForgetRefusesEmptyID(t *testing.T) {
	st := newStore(t)
	if _, err := privacy.Forget(context.Background(), st, []string{"1", ""}, t0, noLayer); err == nil {
		t.Fatal("empty id accepted")
	}
	if _, err := privacy.Forget(context.Background(), st, nil, t0, noLayer); err == nil {
		t.Fatal("no id accepted")
	}
}

// TestForgetRefusesEmptyList: forgetting through no layer would remove
// no row, so it is an error, and no tombstone is written.
func TestForgetRefusesEmptyList(t *testing.T) {
	st := newStore(t)
	if _, err := privacy.Forget(context.Background(), st, []string{"1"}, t0); err == nil || !strings.Contains(err.Error(), "no layer") {
		t.Fatalf("forget over no layer: %v", err)
	}
	if objs, _ := st.List(context.Background(), ""); len(objs) != 0 {
		t.Fatalf("forget over no layer wrote %v", objs)
	}
}

func TestConsent(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(privacy.SetConsent(ctx, st, []string{"7", "8"}, privacy.Email, false, t0))
	must(privacy.SetConsent(ctx, st, []string{"7"}, privacy.SMS, false, t0.Add(time.Hour)))
	must(privacy.SetConsent(ctx, st, []string{"7"}, privacy.Email, true, t0.Add(2*time.Hour)))
	must(privacy.SetConsent(ctx, st, []string{"9"}, privacy.All, false, t0))
	if err := privacy.SetConsent(ctx, st, []string{"7"}, "fax", false, t0); err == nil {
		t.Fatal("unknown channel accepted")
	}
	s, err := privacy.Load(ctx, st)
	must(err)
	for _, tc := range []struct {
		id, ch string
		at     time.Time
		want   bool
	}{
		{"7", privacy.Email, time.Time{}, false}, // opted in again
		{"7", privacy.Email, t0.Add(90 * time.Minute), true},
		{"7", privacy.Email, t0.Add(-time.Minute), false},
		{"7", privacy.SMS, time.Time{}, true},
		{"8", privacy.Email, time.Time{}, true},
		{"8", privacy.SMS, time.Time{}, false},
		{"9", privacy.Email, time.Time{}, true},
		{"9", privacy.SMS, time.Time{}, true},
		{"9", privacy.All, time.Time{}, true},
		{"7", privacy.All, time.Time{}, false},
		{"10", privacy.Email, time.Time{}, false},
	} {
		if got := s.OptedOut(tc.id, tc.ch, tc.at); got != tc.want {
			t.Errorf("OptedOut(%s, %s, %v) = %v", tc.id, tc.ch, tc.at, got)
		}
	}
	if rs := s.Consent("7"); len(rs) != 3 || rs[0].Channel != privacy.Email || rs[0].OptedIn || !rs[0].At.Equal(t0) {
		t.Errorf("records of 7: %+v", rs)
	}
	if s.Forgotten("7") {
		t.Error("opt-out forgot")
	}
}

// Concurrent writers each see their record kept: the files are updated by
// compare-and-swap.
func TestConcurrentUpdates(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			if _, err := privacy.Forget(ctx, st, []string{string(rune('a' + i))}, t0, noLayer); err != nil {
				t.Error(err)
			}
		}()
		go func() {
			defer wg.Done()
			if err := privacy.SetConsent(ctx, st, []string{string(rune('a' + i))}, privacy.SMS, false, t0); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	s, err := privacy.Load(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 8 {
		id := string(rune('a' + i))
		if !s.Forgotten(id) || !s.OptedOut(id, privacy.SMS, time.Time{}) {
			t.Errorf("%s lost", id)
		}
	}
}
