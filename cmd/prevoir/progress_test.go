package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/schollz/progressbar/v3"

	"github.com/prevoir/prevoir/datasets"
)

// TestCountSources: the import progress counts the bytes read from each
// source, and a source that is an io.ReaderAt (Parquet needs it) stays one.
func TestCountSources(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.csv")
	if err := os.WriteFile(path, []byte("customer_id\n1\n2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	srcs, err := datasets.LocalSources([]string{path})
	if err != nil {
		t.Fatal(err)
	}
	p := &progress{bar: progressbar.NewOptions64(srcs[0].Size, progressbar.OptionSetWriter(io.Discard))}
	wrapped := countSources(srcs, p)
	r, err := wrapped[0].Open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, ok := r.(io.ReaderAt); !ok {
		t.Fatal("the wrapped local file lost io.ReaderAt")
	}
	b, err := io.ReadAll(r)
	if err != nil || string(b) != "customer_id\n1\n2\n" {
		t.Fatalf("read %q, %v", b, err)
	}
	if got := p.bar.State().CurrentNum; got != srcs[0].Size {
		t.Errorf("progress at %d bytes, want %d", got, srcs[0].Size)
	}
	if got := countSources(srcs, &progress{}); &got[0] != &srcs[0] {
		t.Error("without a terminal the sources should be returned as they are")
	}
}
