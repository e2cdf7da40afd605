package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/prevoir/prevoir/datasets"
)

// newLogger returns the structured logger of --log-level and
// --log-format: text or JSON lines on stderr.
func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, usageErrorf("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch format {
	case "text", "":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, usageErrorf("--log-format %q: want text or json", format)
}

// stage logs the start of a stage of work at debug level and returns a
// function that logs its end, with its duration, at info level.
func stage(name string, attrs ...any) func(extra ...any) {
	start := time.Now()
	slog.Debug(name+" started", attrs...)
	return func(extra ...any) {
		a := append(append(append([]any{}, attrs...), extra...), "duration", time.Since(start).Round(time.Millisecond))
		slog.Info(name+" done", a...)
	}
}

// interactive reports whether progress should be drawn: stderr is a
// terminal (the process's own, not a test's buffer) and no --json.
func interactive(c *cli.Context) bool {
	if wantJSON(c) || c.App.ErrWriter != os.Stderr {
		return false
	}
	return term.IsTerminal(int(os.Stderr.Fd()))
}

// progress is a progress bar on stderr, or nothing when stderr is not a
// terminal: Add and Finish are then no-ops.
type progress struct{ bar *progressbar.ProgressBar }

// newBytesProgress draws bytes read out of total, with rate and elapsed.
func newBytesProgress(c *cli.Context, what string, total int64) *progress {
	if !interactive(c) {
		return &progress{}
	}
	return &progress{bar: progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(os.Stderr),
		progressbar.OptionSetDescription(what),
		progressbar.OptionShowBytes(true),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionFullWidth(),
	)}
}

// newSpinner draws a spinner with the elapsed time, for work whose size
// is not known ahead (generating, building features, training).
func newSpinner(c *cli.Context, what string) *progress {
	if !interactive(c) {
		return &progress{}
	}
	p := &progress{bar: progressbar.NewOptions64(-1,
		progressbar.OptionSetWriter(os.Stderr),
		progressbar.OptionSetDescription(what),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionSpinnerType(14),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)}
	go func() {
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for range t.C {
			if p.bar.IsFinished() {
				return
			}
			p.bar.Add(0)
		}
	}()
	return p
}

func (p *progress) Add(n int) {
	if p.bar != nil {
		p.bar.Add(n)
	}
}

// Finish clears the bar.
func (p *progress) Finish() {
	if p.bar != nil {
		p.bar.Finish()
		p.bar.Exit()
	}
}

// countSources wraps each source's reader so that reading it advances p.
func countSources(sources []datasets.SourceFile, p *progress) []datasets.SourceFile {
	if p.bar == nil {
		return sources
	}
	out := make([]datasets.SourceFile, len(sources))
	for i, s := range sources {
		open := s.Open
		s.Open = func(ctx context.Context) (io.ReadCloser, error) {
			r, err := open(ctx)
			if err != nil {
				return nil, err
			}
			if _, ok := r.(io.ReaderAt); ok {
				return &countingReaderAt{countingReader{ReadCloser: r, p: p}}, nil
			}
			return &countingReader{ReadCloser: r, p: p}, nil
		}
		out[i] = s
	}
	return out
}

// countingReader advances a progress bar by the bytes read.
type countingReader struct {
	io.ReadCloser
	p *progress
}

func (r *countingReader) Read(b []byte) (int, error) {
	n, err := r.ReadCloser.Read(b)
	r.p.Add(n)
	return n, err
}

// countingReaderAt keeps the io.ReaderAt of the reader it wraps (Parquet
// sources need it).
type countingReaderAt struct{ countingReader }

func (r *countingReaderAt) ReadAt(b []byte, off int64) (int, error) {
	n, err := r.ReadCloser.(io.ReaderAt).ReadAt(b, off)
	r.p.Add(n)
	return n, err
}
