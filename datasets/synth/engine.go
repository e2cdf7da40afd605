package synth

import (
	"context"
	"runtime"
	"sync"
)

// chunkSize is the number of consecutive customers one worker simulates
// at a time. It fixes the merge order, never the rows.
const chunkSize = 512

// sink receives the simulated customers.
type sink interface {
	// encode runs on a worker goroutine, concurrently for different
	// batches: formatting that can run in parallel (may be a no-op).
	encode(b *batch) error
	// write runs on one goroutine, batch by batch in customer order.
	write(b *batch) error
}

// engine options beyond Options.
type engineOpts struct {
	web, aux bool // simulate web events; loyalty, consent and signup
}

// run simulates every customer of w with the given number of workers and
// hands the batches to s in customer order. Memory is bounded by the
// batches in flight (a few per worker), never by the history's size.
func run(ctx context.Context, w *world, eo engineOpts, workers int, s sink) error {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	n := w.o.Customers
	chunks := (n + chunkSize - 1) / chunkSize
	workers = min(workers, chunks)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	inflight := 2*workers + 2
	free := make(chan *batch, inflight)
	for range inflight {
		free <- &batch{enc: make([][]byte, 4)}
	}
	jobs := make(chan *batch)
	done := make(chan *batch, inflight)
	var mu sync.Mutex
	var firstErr error
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
		cancel()
	}
	failed := func() error {
		mu.Lock()
		defer mu.Unlock()
		return firstErr
	}

	// dispatcher: chunks in order, at most inflight at once
	go func() {
		defer close(jobs)
		for k := 0; k < chunks; k++ {
			var b *batch
			select {
			case b = <-free:
			case <-ctx.Done():
				return
			}
			first := k * chunkSize
			b.reset(k, first, min(chunkSize, n-first))
			select {
			case jobs <- b:
			case <-ctx.Done():
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sm := newSim(w, w.o.Seed, eo.web, eo.aux)
			for b := range jobs {
				for i := b.first; i < b.first+b.n; i++ {
					sm.customer(b, i)
				}
				if err := s.encode(b); err != nil {
					fail(err)
					return
				}
				select {
				case done <- b:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	go func() { wg.Wait(); close(done) }()

	// merge: write batches in chunk order
	pending := map[int]*batch{}
	next := 0
	for b := range done {
		pending[b.k] = b
		for {
			b, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			next++
			if ctx.Err() == nil {
				if err := s.write(b); err != nil {
					fail(err)
				}
			}
			free <- b
		}
	}
	if err := failed(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return nil
}
