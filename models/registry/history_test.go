package registry_test

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/datasets/local"
	"github.com/prevoir/prevoir/models"
	"github.com/prevoir/prevoir/models/registry"
)

// clock is a settable Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

func day(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// atString renders History.At as "alias->version" pairs, "*" marking an
// alias from before records began.
func atString(as []registry.AliasAt) string {
	s := ""
	for _, a := range as {
		mark := ""
		if a.BeforeRecords {
			mark = "*"
		}
		s += fmt.Sprintf("%s->%d%s ", a.Alias, a.Version, mark)
	}
	return s
}

func newLocalRegistry(t *testing.T, c *clock) (*registry.Registry, datasets.Store) {
	t.Helper()
	st, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return registry.New(st, registry.Options{Now: c.now, User: "ana", Host: "box"}), st
}

// TestHistoryRecordsMoves: promote, move, unalias are recorded with time,
// user and host; a promote to the current version is no move; rm keeps
// the history; At answers for any instant.
func TestHistoryRecordsMoves(t *testing.T) {
	ctx := t.Context()
	c := &clock{t: day("2011-09-01T00:00:00Z")}
	reg, _ := newLocalRegistry(t, c)
	for range 3 {
		if _, err := reg.Register(ctx, "churn", testCard(), nil); err != nil {
			t.Fatal(err)
		}
	}
	step := func(at string, f func() error) {
		t.Helper()
		c.set(day(at))
		if err := f(); err != nil {
			t.Fatal(err)
		}
	}
	promote := func(v int, alias string) func() error {
		return func() error { _, err := reg.Promote(ctx, "churn", v, alias); return err }
	}
	step("2011-10-01T09:00:00Z", promote(1, "champion"))
	step("2011-10-05T09:00:00Z", promote(2, "challenger"))
	step("2011-10-20T09:00:00Z", promote(2, "champion"))
	step("2011-10-21T09:00:00Z", promote(2, "champion")) // no move
	step("2011-10-22T09:00:00Z", func() error { return reg.Unalias(ctx, "churn", "challenger") })
	step("2011-10-23T09:00:00Z", func() error { return reg.Remove(ctx, "churn", 3) })

	h, err := reg.History(ctx, "churn")
	if err != nil {
		t.Fatal(err)
	}
	want := []registry.Move{
		{Alias: "champion", From: 0, To: 1, Time: day("2011-10-01T09:00:00Z"), User: "ana", Host: "box"},
		{Alias: "challenger", From: 0, To: 2, Time: day("2011-10-05T09:00:00Z"), User: "ana", Host: "box"},
		{Alias: "champion", From: 1, To: 2, Time: day("2011-10-20T09:00:00Z"), User: "ana", Host: "box"},
		{Alias: "challenger", From: 2, To: 0, Time: day("2011-10-22T09:00:00Z"), User: "ana", Host: "box"},
	}
	if !reflect.DeepEqual(h.Moves, want) {
		t.Fatalf("moves:\n got %+v\nwant %+v", h.Moves, want)
	}
	if len(h.Initial) != 0 || !h.Since.Equal(day("2011-10-01T09:00:00Z")) {
		t.Errorf("initial %v since %v; want none since the first promote", h.Initial, h.Since)
	}
	for _, tc := range []struct{ at, want string }{
		{"2011-09-30", ""},
		{"2011-10-01T09:00:00Z", "champion->1 "},
		{"2011-10-15", "challenger->2 champion->1 "},
		{"2011-10-20", "challenger->2 champion->1 "}, // 00:00 UTC: before that day's move
		{"2011-10-21", "challenger->2 champion->2 "},
		{"2011-10-22T10:00:00+02:00", "challenger->2 champion->2 "}, // 08:00 UTC
		{"2011-10-23", "champion->2 "},
	} {
		at, err := registry.ParseAt(tc.at)
		if err != nil {
			t.Fatal(err)
		}
		if got := atString(h.At(at)); got != tc.want {
			t.Errorf("At(%s) = %q, want %q", tc.at, got, tc.want)
		}
	}
	if as := h.At(day("2011-10-15T00:00:00Z")); as[1].Move == nil || as[1].Move.User != "ana" {
		t.Errorf("At names no move for champion: %+v", as)
	}
}

// TestHistoryConcurrentPromotes: N goroutines move one alias at once; every
// successful promote is recorded exactly once, the records chain (each
// move's From is the previous move's To) in the order of the swaps, and
// the last one is where the alias points.
func TestHistoryConcurrentPromotes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st datasets.Store, _ []string) {
		reg := registry.New(st, registry.Options{User: "u", Host: "h"})
		const n = 8
		for range n {
			if _, err := reg.Register(t.Context(), "churn", testCard(), nil); err != nil {
				t.Fatal(err)
			}
		}
		var wg sync.WaitGroup
		start := make(chan struct{})
		errs := make([]error, n)
		prev := make([]int, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				prev[i], errs[i] = reg.Promote(t.Context(), "churn", i+1, "champion")
			}()
		}
		close(start)
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		h, err := reg.History(t.Context(), "churn")
		if err != nil {
			t.Fatal(err)
		}
		if len(h.Moves) != n {
			t.Fatalf("%d moves recorded for %d promotes: %+v", len(h.Moves), n, h.Moves)
		}
		seen := map[[2]int]int{}
		for k, m := range h.Moves {
			seen[[2]int{m.From, m.To}]++
			from := 0
			if k > 0 {
				from = h.Moves[k-1].To
				if m.Time.Before(h.Moves[k-1].Time) {
					t.Errorf("move %d at %v is before move %d at %v", k, m.Time, k-1, h.Moves[k-1].Time)
				}
			}
			if m.From != from || m.Alias != "champion" || m.User != "u" || m.Host != "h" {
				t.Errorf("move %d = %+v, want from %d", k, m, from)
			}
		}
		for i := range n {
			if seen[[2]int{prev[i], i + 1}] != 1 {
				t.Errorf("promote %d -> %d recorded %d times", prev[i], i+1, seen[[2]int{prev[i], i + 1}])
			}
		}
		aliases, err := reg.Aliases(t.Context(), "churn")
		if err != nil {
			t.Fatal(err)
		}
		if last := h.Moves[n-1].To; aliases["champion"] != last {
			t.Errorf("champion -> %d, last recorded move -> %d", aliases["champion"], last)
		}
	})
}

// TestHistoryLegacyAliases: an aliases.json written before history reads
// with no moves, its aliases from before records began; the next move
// starts the records and keeps them.
func TestHistoryLegacyAliases(t *testing.T) {
	ctx := t.Context()
	c := &clock{t: day("2011-09-01T00:00:00Z")}
	reg, st := newLocalRegistry(t, c)
	for range 2 {
		if _, err := reg.Register(ctx, "churn", testCard(), nil); err != nil {
			t.Fatal(err)
		}
	}
	legacy := `{"name": "churn", "aliases": {"champion": 1, "challenger": 2}, "removed": [], "updated": "2011-08-01T00:00:00Z"}` + "\n"
	if _, err := datasets.PutBytes(ctx, st, "models/churn/aliases.json", []byte(legacy), datasets.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	h, err := reg.History(ctx, "churn")
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Moves) != 0 || !h.Since.IsZero() || h.Moves == nil {
		t.Errorf("legacy history: since %v, moves %#v", h.Since, h.Moves)
	}
	if got := atString(h.At(day("2000-01-01T00:00:00Z"))); got != "challenger->2* champion->1* " {
		t.Errorf("legacy At = %q", got)
	}

	c.set(day("2011-10-20T12:00:00Z"))
	if prev, err := reg.Promote(ctx, "churn", 2, "champion"); err != nil || prev != 1 {
		t.Fatalf("promote: %d, %v", prev, err)
	}
	h, err = reg.History(ctx, "churn")
	if err != nil {
		t.Fatal(err)
	}
	if !h.Since.Equal(c.now()) || !reflect.DeepEqual(h.Initial, map[string]int{"champion": 1, "challenger": 2}) || len(h.Moves) != 1 {
		t.Fatalf("after the first move: since %v initial %v moves %+v", h.Since, h.Initial, h.Moves)
	}
	for at, want := range map[string]string{
		"2011-10-15": "challenger->2* champion->1* ",
		"2011-10-21": "challenger->2* champion->2 ",
	} {
		tt, _ := registry.ParseAt(at)
		if got := atString(h.At(tt)); got != want {
			t.Errorf("At(%s) = %q, want %q", at, got, want)
		}
	}
}

func TestHistoryUnknownModel(t *testing.T) {
	reg, _ := newLocalRegistry(t, &clock{t: time.Now()})
	if _, err := reg.History(t.Context(), "nope"); !errors.Is(err, models.ErrNotFound) {
		t.Errorf("history of an unknown model: %v, want ErrNotFound", err)
	}
	if _, err := reg.History(t.Context(), "../x"); !errors.Is(err, registry.ErrInvalidName) {
		t.Errorf("history of a bad name: %v, want ErrInvalidName", err)
	}
}

func TestParseAt(t *testing.T) {
	for in, want := range map[string]string{
		"2011-10-15":                "2011-10-15T00:00:00Z",
		"2011-10-15T12:30:00Z":      "2011-10-15T12:30:00Z",
		"2011-10-15T02:00:00+02:00": "2011-10-15T00:00:00Z",
	} {
		got, err := registry.ParseAt(in)
		if err != nil || got.Format(time.RFC3339) != want || got.Location() != time.UTC {
			t.Errorf("ParseAt(%q) = %v, %v; want %s", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "2011-13-01", "15/10/2011", "2011-10-15 12:00"} {
		_, err := registry.ParseAt(bad)
		fe, ok := datasets.AsFieldError(err)
		if !ok || fe.Field != "At" {
			t.Errorf("ParseAt(%q): %v, want a FieldError on At", bad, err)
		}
	}
}
