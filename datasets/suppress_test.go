package datasets_test

import (
	"context"
	"errors"
	"io/fs"
	"testing"
	"time"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/datasets/local"
	"github.com/prevoir/prevoir/datasets/privacy"
)

var tombstoneOnly = privacy.RewriterFunc{Name: "none",
	Func:     func(context.Context, privacy.IDs) ([]privacy.Rewrite, error) { return nil, nil },
	FindFunc: func(context.Context, privacy.IDs) ([]string, error) { return nil, nil }}

// TestWriterDropsForgotten: rows of a customer forgotten before the write
// are dropped and counted; a customer forgotten during the write (after
// the writer loaded the tombstones) makes the commit fail with
// ErrForgottenDuringWrite, an ErrConflict, and nothing is committed.
func TestWriterDropsForgotten(t *testing.T) {
	ctx := context.Background()
	st, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, err := privacy.Forget(ctx, st, []string{"17850"}, at, tombstoneOnly); err != nil {
		t.Fatal(err)
	}
	ts := at.UnixMicro()
	rows := []datasets.Order{{CustomerID: "1", OrderID: "a", Timestamp: ts}, {CustomerID: "17850", OrderID: "b", Timestamp: ts},
		{CustomerID: "17850", OrderID: "c", Timestamp: ts}, {CustomerID: "2", OrderID: "d", Timestamp: ts}}
	w, err := datasets.NewWriter(st, datasets.Orders, datasets.WriterOptions{Dataset: "d"})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ctx, rows); err != nil {
		t.Fatal(err)
	}
	if rows[1].CustomerID != "17850" {
		t.Error("Write changed the caller's rows")
	}
	m, err := w.Commit(ctx, datasets.CommitOptions{Operation: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if m.Rows != 2 || w.Suppressed() != 2 {
		t.Errorf("committed %d rows, suppressed %d; want 2, 2", m.Rows, w.Suppressed())
	}

	w, _ = datasets.NewWriter(st, datasets.Orders, datasets.WriterOptions{Dataset: "e"})
	if err := w.Write(ctx, rows[:1]); err != nil {
		t.Fatal(err)
	}
	if _, err := privacy.Forget(ctx, st, []string{"1"}, at, tombstoneOnly); err != nil {
		t.Fatal(err)
	}
	_, err = w.Commit(ctx, datasets.CommitOptions{Operation: "test"})
	if !errors.Is(err, datasets.ErrForgottenDuringWrite) || !errors.Is(err, datasets.ErrConflict) {
		t.Fatalf("commit after a forget during the write: %v", err)
	}
	if _, err := datasets.ReadManifest(ctx, st, "e", "orders"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a manifest was committed: %v", err)
	}
	// Products are not customer rows: nothing is checked or dropped.
	pw, _ := datasets.NewWriter(st, datasets.Products, datasets.WriterOptions{Dataset: "e"})
	if err := pw.Write(ctx, []datasets.Product{{ProductID: "17850"}}); err != nil {
		t.Fatal(err)
	}
	if pm, err := pw.Commit(ctx, datasets.CommitOptions{Operation: "test"}); err != nil || pm.Rows != 1 {
		t.Errorf("products: %v", err)
	}
}
