package registry

import (
	"context"
	"maps"
	"sort"
	"strings"
	"time"

	"github.com/prevoir/prevoir/datasets"
)

// Move is one recorded alias change: Alias pointed at From and was moved
// to To (From 0: the alias was created; To 0: it was removed).
type Move struct {
	Alias string    `json:"alias"`
	From  int       `json:"from"`
	To    int       `json:"to"`
	Time  time.Time `json:"time"`
	User  string    `json:"user,omitempty"`
	Host  string    `json:"host,omitempty"`
}

// record appends the move of alias from -> to to doc's history. It runs
// inside the compare-and-swap's change, so the record is written by the
// very swap that makes the move, or not at all. A promote to the version
// the alias already points at is no move and is not recorded. Times never
// go backwards along the list (a host whose clock is behind the last
// recorded move records that move's time): the list's order is the swap
// order, and At reads it by time.
func (r *Registry) record(doc *aliasesDoc, alias string, from, to int) {
	if from == to {
		return
	}
	t := doc.Updated // this swap's time, set before change runs
	if n := len(doc.History); n > 0 && doc.History[n-1].Time.After(t) {
		t = doc.History[n-1].Time
	}
	doc.History = append(doc.History, Move{Alias: alias, From: from, To: to, Time: t, User: r.opts.User, Host: r.opts.Host})
}

// History is the record of a model's alias moves.
type History struct {
	Name string `json:"name"`
	// Since is when records began (zero: no alias change has been
	// written since history was introduced, so none is recorded).
	Since time.Time `json:"since,omitzero"`
	// Initial holds the aliases that existed before records began, at
	// the versions they pointed at then ("before records began").
	Initial map[string]int `json:"initial"`
	// Moves are every recorded move, oldest first; never nil.
	Moves []Move `json:"moves"`
}

// AliasAt is where an alias pointed at an instant.
type AliasAt struct {
	Alias   string `json:"alias"`
	Version int    `json:"version"`
	// BeforeRecords is true when the alias has not moved since records
	// began: it pointed at Version then, since an unknown time.
	BeforeRecords bool `json:"before_records,omitempty"`
	// Move is the move that set it (nil when BeforeRecords).
	Move *Move `json:"move,omitempty"`
}

// History returns every recorded alias move of name. Unknown names wrap
// models.ErrNotFound. A model whose aliases document predates history has
// no moves; its current aliases are Initial.
func (r *Registry) History(ctx context.Context, name string) (*History, error) {
	if err := ValidName(name); err != nil {
		return nil, err
	}
	if _, err := r.Versions(ctx, name); err != nil {
		return nil, err
	}
	doc, _, err := r.readAliases(ctx, name)
	if err != nil {
		return nil, err
	}
	h := &History{Name: name, Since: doc.HistoryStart, Initial: doc.Initial, Moves: doc.History}
	if h.Since.IsZero() {
		// Never swapped since history began: every current alias is
		// from before records.
		h.Initial = doc.Aliases
	}
	if h.Initial == nil {
		h.Initial = map[string]int{}
	}
	if h.Moves == nil {
		h.Moves = []Move{}
	}
	return h, nil
}

// At returns, sorted by alias, where each alias pointed at instant t:
// the aliases from before records began, then every move whose time is
// not after t applied in order. An alias removed by then is absent.
func (h *History) At(t time.Time) []AliasAt {
	state := map[string]AliasAt{}
	for a, v := range h.Initial {
		state[a] = AliasAt{Alias: a, Version: v, BeforeRecords: true}
	}
	for i := range h.Moves {
		m := &h.Moves[i]
		if m.Time.After(t) {
			break
		}
		if m.To == 0 {
			delete(state, m.Alias)
			continue
		}
		state[m.Alias] = AliasAt{Alias: m.Alias, Version: m.To, Move: m}
	}
	out := make([]AliasAt, 0, len(state))
	for _, a := range sortedKeys(state) {
		out = append(out, state[a])
	}
	return out
}

func sortedKeys(m map[string]AliasAt) []string {
	ks := make([]string, 0, len(m))
	for k := range maps.Keys(m) {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// ParseAt reads an instant for History.At: a date YYYY-MM-DD means 00:00
// UTC of that day (the state as the day began, before any move made on
// it); anything else must be an RFC 3339 time (2011-10-15T12:00:00Z,
// 2011-10-15T14:00:00+02:00). A bad value is a *datasets.FieldError on
// field "At".
func ParseAt(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, datasets.Fieldf("At", s, "want a date YYYY-MM-DD (00:00 UTC of that day) or an RFC 3339 time such as 2011-10-15T12:00:00Z")
}
