package datasets

// The end of a Writer's life: the parts it wrote become the table's next
// version by the commit protocol (docs/ARCHITECTURE.md), or are deleted.

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"
)

// Parts returns the parts written so far, sorted by key.
func (w *Writer[T]) Parts() []Part {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := append([]Part(nil), w.parts...)
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// Abort waits for background writes and deletes every part written, so
// the store is as it was. It is safe after a failed Commit and runs even
// when ctx is cancelled.
func (w *Writer[T]) Abort(ctx context.Context) error {
	w.wg.Wait()
	w.done = true
	ctx = context.WithoutCancel(ctx)
	w.mu.Lock()
	keys := w.written
	w.written = nil
	w.mu.Unlock()
	var first error
	for _, k := range keys {
		if err := w.st.Delete(ctx, k); err != nil && first == nil {
			first = fmt.Errorf("abort: delete %s: %w", k, err)
		}
	}
	return first
}

// CommitOptions says how a Writer's parts become the table's next version.
type CommitOptions struct {
	// Base is the table's current manifest as read before writing, or nil
	// for a new table. The commit fails with ErrConflict if another run
	// committed since.
	Base *Manifest
	// Replace makes the new version hold only this writer's parts and
	// Sources; otherwise they are added to Base's.
	Replace bool
	// Drop lists keys of Base's parts to leave out (forget rewrites them).
	Drop map[string]bool
	// Operation is recorded in the manifest (import-append, generate, ...).
	Operation string
	// Sources are the source files read (appended to Base's unless Replace).
	Sources []Source
	// TZ, Currency, Columns and LineTypes are recorded (see Manifest).
	TZ        string
	Currency  string
	Columns   []string
	LineTypes *LineTypeRules
	// Now is the commit time (default time.Now).
	Now time.Time
	// Origin is recorded (see Manifest.Origin).
	Origin string
}

// Commit flushes, then makes the written parts visible: the table's next
// version, committed by the commit protocol (CommitTables) after every
// part is written. If the version cannot be visible after a failure, Commit
// aborts (deletes this run's parts) and the table is unchanged; a part a
// committed manifest may list is never deleted.
func (w *Writer[T]) Commit(ctx context.Context, c CommitOptions) (*Manifest, error) {
	m, err := w.Prepare(ctx, c)
	if err != nil {
		return nil, err
	}
	committed, err := CommitTables(ctx, w.st, w.opts.Dataset, w.opts.Run, []TableVersion{{Base: c.Base, Next: m}}, m.CreatedAt)
	w.Settle(ctx, committed)
	if err != nil {
		if committed {
			return m, err
		}
		return nil, err
	}
	return m, nil
}

// Prepare flushes and returns the table's next version without committing
// it, for a caller that commits several tables together (CommitTables),
// then calls Settle. A failed flush aborts.
func (w *Writer[T]) Prepare(ctx context.Context, c CommitOptions) (*Manifest, error) {
	if w.done {
		return nil, errors.New("writer: commit after commit or abort")
	}
	if err := w.Flush(ctx); err != nil {
		w.Abort(ctx)
		return nil, err
	}
	if err := w.recheckSuppressions(ctx); err != nil {
		w.Abort(ctx)
		return nil, err
	}
	return w.manifest(c), nil
}

// Settle ends a prepared writer after its commit: when the version may be
// visible (committed), its parts stay; otherwise they are deleted.
func (w *Writer[T]) Settle(ctx context.Context, committed bool) {
	if !committed {
		w.Abort(ctx)
	}
	w.done = true
}

func (w *Writer[T]) manifest(c CommitOptions) *Manifest {
	now := c.Now
	if now.IsZero() {
		now = time.Now()
	}
	m := &Manifest{
		FormatVersion: FormatVersion,
		Dataset:       w.opts.Dataset,
		Table:         w.t.Name,
		Seq:           1,
		Run:           w.opts.Run,
		Operation:     c.Operation,
		CreatedAt:     now.UTC().Truncate(time.Second),
		TZ:            c.TZ,
		Currency:      c.Currency,
		Schema:        w.t.Columns(),
		Columns:       c.Columns,
		LineTypes:     c.LineTypes,
		Parts:         []Part{},
		Sources:       []Source{},
		Origin:        c.Origin,
	}
	if m.TZ == "" {
		m.TZ = "UTC"
	}
	if m.Columns == nil {
		m.Columns = w.t.columnNames()
	}
	if c.Base != nil {
		m.Seq = c.Base.Seq + 1
		m.Previous = HistoryKey(c.Base.Dataset, c.Base.Table, c.Base.Seq)
		if !c.Replace {
			for _, p := range c.Base.Parts {
				if !c.Drop[p.Key] {
					m.Parts = append(m.Parts, p)
				}
			}
			m.Sources = append(m.Sources, c.Base.Sources...)
		}
	}
	m.Parts = append(m.Parts, w.Parts()...)
	sort.Slice(m.Parts, func(i, j int) bool { return m.Parts[i].Key < m.Parts[j].Key })
	m.Sources = append(m.Sources, c.Sources...)
	for _, p := range m.Parts {
		m.Rows += p.Rows
		if p.MinTime == nil {
			continue
		}
		if m.TimeRange == nil {
			m.TimeRange = &TimeRange{Min: *p.MinTime, Max: *p.MaxTime}
			continue
		}
		if p.MinTime.Before(m.TimeRange.Min) {
			m.TimeRange.Min = *p.MinTime
		}
		if p.MaxTime.After(m.TimeRange.Max) {
			m.TimeRange.Max = *p.MaxTime
		}
	}
	return m
}
