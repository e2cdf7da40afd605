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
	"syscall"
)

func main() {
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
