package datasets

import (
	"context"
	"fmt"
	"time"
)

// The words a DATE option accepts besides a date.
const (
	// AsOfLatest is the day after the orders' last timestamp, in the
	// dataset's zone: the first cutoff that sees the whole history.
	AsOfLatest = "latest"
	// AsOfToday is today's date in the dataset's zone.
	AsOfToday = "today"
)

// CheckAsOf checks the form of an as-of value without reading the store:
// "latest", "today", a DATE (YYYY-MM-DD) or an RFC 3339 instant. The error
// is a *FieldError on "AsOf" saying it is not a date.
func CheckAsOf(s string) error {
	switch s {
	case AsOfLatest, AsOfToday:
		return nil
	}
	if _, err := ParseDate(s, time.UTC); err != nil {
		return &FieldError{Field: "AsOf", Value: s, Msg: "not a date: want YYYY-MM-DD, an RFC 3339 instant, latest or today", Err: err}
	}
	return nil
}

// ResolveAsOf turns an as-of value into a DATE of dataset: "latest" is
// the day after the last order's timestamp (in the dataset's zone),
// "today" the current date there (now is the caller's clock); anything
// else is checked with CheckAsOf and returned as given.
func ResolveAsOf(ctx context.Context, st Store, dataset, s string, now time.Time) (string, error) {
	if err := CheckAsOf(s); err != nil {
		return "", err
	}
	if s != AsOfLatest && s != AsOfToday {
		return s, nil
	}
	m, err := ReadManifest(ctx, st, dataset, "orders")
	if err != nil {
		return "", fmt.Errorf("as of %s: dataset %s: %w", s, dataset, err)
	}
	loc, err := LoadZone(m.TZ)
	if err != nil {
		return "", fmt.Errorf("as of %s: dataset %s: %w", s, dataset, err)
	}
	if s == AsOfToday {
		return now.In(loc).Format(time.DateOnly), nil
	}
	if m.TimeRange == nil {
		return "", fmt.Errorf("as of latest: dataset %s has no orders to take the last date from", dataset)
	}
	last := m.TimeRange.Max.In(loc)
	return time.Date(last.Year(), last.Month(), last.Day()+1, 0, 0, 0, 0, loc).Format(time.DateOnly), nil
}
