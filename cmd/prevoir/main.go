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
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
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
	var ue *usageError
	// urfave/cli's missing-required-flag error type is unexported; its
	// message is stable ("Required flag(s) ... not set").
	if errors.As(err, &ue) || strings.HasPrefix(err.Error(), "Required flag") {
		fmt.Fprintf(stderr, "prevoir: %v\n", err)
		return 2
	}
	var ec exitCoder
	if errors.As(err, &ec) && ec.ExitCode() == 0 {
		return 0
	}
	fmt.Fprintf(stderr, "prevoir: %v\n", err)
	slog.Debug("command failed", "err", err)
	return 1
}

type exitCoder interface{ ExitCode() int }
