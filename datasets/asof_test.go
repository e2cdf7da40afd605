package datasets_test

import (
	"context"
	"testing"
	"time"

	"github.com/prevoir/prevoir/datasets"
)

func TestResolveAsOf(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	opts := retailOpts("retail")
	opts.TZ = "Europe/London"
	res, err := datasets.Import(ctx, st, sources(t, testdata+"retail_ok"), opts)
	if err != nil {
		t.Fatal(err)
	}
	last := res.Manifest.TimeRange.Max.In(time.UTC)
	loc, _ := time.LoadLocation("Europe/London")
	ll := last.In(loc)
	want := time.Date(ll.Year(), ll.Month(), ll.Day()+1, 0, 0, 0, 0, loc).Format(time.DateOnly)
	got, err := datasets.ResolveAsOf(ctx, st, "retail", "latest", time.Now())
	if err != nil || got != want {
		t.Errorf("latest = %q, %v; want %q (the day after %s)", got, err, want, last)
	}
	now := time.Date(2026, 3, 1, 23, 30, 0, 0, time.UTC) // 2026-03-01 23:30 in London too (GMT)
	if got, err := datasets.ResolveAsOf(ctx, st, "retail", "today", now); err != nil || got != "2026-03-01" {
		t.Errorf("today = %q, %v", got, err)
	}
	if got, err := datasets.ResolveAsOf(ctx, st, "retail", "2011-09-01", now); err != nil || got != "2011-09-01" {
		t.Errorf("a date = %q, %v", got, err)
	}
	for _, bad := range []string{"2011-13-01", "yesterday", "01/09/2011", ""} {
		_, err := datasets.ResolveAsOf(ctx, st, "retail", bad, now)
		fe, ok := datasets.AsFieldError(err)
		if !ok || fe.Field != "AsOf" || fe.Value != bad {
			t.Errorf("%q: err %v, want a FieldError on AsOf", bad, err)
		}
	}
	if _, err := datasets.ResolveAsOf(ctx, st, "nosuch", "latest", now); err == nil {
		t.Errorf("missing dataset: %v", err)
	}
}
