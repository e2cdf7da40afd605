// Command prevoir turns a retailer's order history into scores that act on
// it: point-in-time features, models trained natively or imported, scores
// published per customer and per product.
//
// This package is the only one that reads the environment or exits: flags
// and environment variables become options structs, then one library call
// per command.
package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"sync/atomic"
	"syscall"

	"github.com/prevoir/prevoir/datasets"
)

func main() {
	if n, err := strconv.ParseInt(os.Getenv("PREVOIR_TEST_KILL_AFTER_PUTS"), 10, 64); err == nil && n > 0 {
		killAfterPuts = n
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes the command line args and returns the process exit code:
// 0 on success, 2 for a usage error, 1 for any other failure.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	app := newApp(stdout, stderr)
	err := app.RunContext(ctx, reorderArgs(app, args))
	if err == nil {
		return 0
	}
	var ec exitCoder
	if errors.As(err, &ec) && ec.ExitCode() == 0 {
		return 0
	}
	slog.Debug("command failed", "err", err)
	return report(stderr, err, jsonRequested(args))
}

type exitCoder interface{ ExitCode() int }

// killAfterPuts, when above 0, makes this process SIGKILL itself right
// after the Nth successful Put to any store it opened: the crash tests
// (cmd/prevoir/crashtest) set it through PREVOIR_TEST_KILL_AFTER_PUTS to
// stop a command at each store write boundary. Only tests set it.
var killAfterPuts int64

// puts counts the successful Puts of this process.
var puts atomic.Int64

// withKillSwitch returns st, wrapped to apply killAfterPuts when set.
func withKillSwitch(st datasets.Store) datasets.Store {
	if killAfterPuts <= 0 {
		return st
	}
	return &killingStore{Store: st}
}

// killingStore kills the process right after the killAfterPuts-th Put.
type killingStore struct{ datasets.Store }

func (k *killingStore) Put(ctx context.Context, key string, r io.Reader, size int64, opts datasets.PutOptions) (datasets.ObjectInfo, error) {
	info, err := k.Store.Put(ctx, key, r, size, opts)
	if err == nil && puts.Add(1) == killAfterPuts {
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // the signal is on its way
	}
	return info, err
}

// Temporaries and RemoveTemporary pass through to a Scavenger store.
func (k *killingStore) Temporaries(ctx context.Context, prefix string) ([]datasets.ObjectInfo, error) {
	if sc, ok := k.Store.(datasets.Scavenger); ok {
		return sc.Temporaries(ctx, prefix)
	}
	return nil, nil
}

func (k *killingStore) RemoveTemporary(ctx context.Context, key string) error {
	if sc, ok := k.Store.(datasets.Scavenger); ok {
		return sc.RemoveTemporary(ctx, key)
	}
	return nil
}
