package privacy_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/datasets/privacy"
)

// memRows is a scoring input in memory.
type memRows struct {
	header []string
	recs   [][]string
	i      int
}

func (m *memRows) Header() []string { return m.header }
func (m *memRows) Next() ([]string, error) {
	if m.i >= len(m.recs) {
		return nil, io.EOF
	}
	m.i++
	return m.recs[m.i-1], nil
}
func (m *memRows) Name() string                { return "mem" }
func (m *memRows) Line() int                   { return m.i + 1 }
func (m *memRows) At(col int, err error) error { return fmt.Errorf("mem:%d:%d: %w", m.i+1, col+1, err) }

func readAllIDs(t *testing.T, r privacy.Rows) []string {
	t.Helper()
	var ids []string
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			return ids
		}
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, rec[1])
	}
}

// TestFilterInput: a scoring input loses the rows of forgotten customers
// (ids matched as stored: 17850.0 is 17850) and,
// with a channel, of those opted out of it; it counts them.
func TestFilterInput(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	if _, err := privacy.Forget(ctx, st, []string{"17850"}, t0, noLayer); err != nil {
		t.Fatal(err)
	}
	if err := privacy.SetConsent(ctx, st, []string{"3"}, privacy.Email, false, t0); err != nil {
		t.Fatal(err)
	}
	if err := privacy.SetConsent(ctx, st, []string{"4"}, privacy.SMS, false, t0); err != nil {
		t.Fatal(err)
	}
	input := func() *memRows {
		return &memRows{header: []string{"x", "customer_id"}, recs: [][]string{
			{"1", "1"}, {"2", "17850.0"}, {"3", "3"}, {"4", "4"}, {"5", "17850"}}}
	}
	f, err := privacy.FilterInput(ctx, st, input(), privacy.InputOptions{IDs: []string{"customer_id"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(readAllIDs(t, f), " "); got != "1 3 4" || f.Forgotten != 2 || f.OptedOut != 0 {
		t.Errorf("forgotten: kept %q, dropped %d+%d", got, f.Forgotten, f.OptedOut)
	}
	f, err = privacy.FilterInput(ctx, st, input(), privacy.InputOptions{IDs: []string{"customer_id"}, Channel: privacy.Email})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(readAllIDs(t, f), " "); got != "1 4" || f.Forgotten != 2 || f.OptedOut != 1 || f.Dropped() != 3 {
		t.Errorf("email: kept %q, dropped %d+%d", got, f.Forgotten, f.OptedOut)
	}
	// Without the customer column among the ids, rows cannot be told apart:
	// nothing is dropped, and a channel is refused by field.
	f, err = privacy.FilterInput(ctx, st, input(), privacy.InputOptions{IDs: []string{"x"}})
	if err != nil || len(readAllIDs(t, f)) != 5 {
		t.Errorf("no customer column: %v", err)
	}
	var fe *datasets.FieldError
	if _, err := privacy.FilterInput(ctx, st, input(), privacy.InputOptions{IDs: []string{"x"}, Channel: privacy.SMS}); !errors.As(err, &fe) || fe.Field != "Channel" {
		t.Errorf("channel without customer column: %v", err)
	}
	if _, err := privacy.FilterInput(ctx, st, input(), privacy.InputOptions{IDs: []string{"customer_id"}, Channel: "fax"}); !errors.As(err, &fe) {
		t.Errorf("channel fax: %v", err)
	}
}
