// Command generate runs the synthetic history generator for
// bench/generate.bench.sh: CSV to a file, or Parquet into a local store,
// and prints the summary as JSON on stdout.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime/debug"

	"github.com/prevoir/prevoir/datasets/local"
	"github.com/prevoir/prevoir/datasets/synth"
)

func main() {
	customers := flag.Int("customers", 1_000_000, "customers")
	seed := flag.Uint64("seed", 42, "seed")
	format := flag.String("format", "csv", "csv or parquet")
	out := flag.String("out", "", "CSV file, or store folder for parquet")
	flag.Parse()
	// As `prevoir datasets generate` does.
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(synth.MemoryLimit)
	}
	if err := run(*customers, *seed, *format, *out); err != nil {
		fmt.Fprintln(os.Stderr, "generate:", err)
		os.Exit(1)
	}
}

func run(customers int, seed uint64, format, out string) error {
	ctx := context.Background()
	o := synth.Options{Name: "bench", Customers: customers, Seed: seed}
	var sum synth.Summary
	switch format {
	case "csv":
		f, err := os.Create(out)
		if err != nil {
			return err
		}
		bw := bufio.NewWriterSize(f, 1<<20)
		sum, err = synth.WriteCSV(ctx, o, bw)
		if err == nil {
			err = bw.Flush()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	case "parquet":
		st, err := local.New(out)
		if err != nil {
			return err
		}
		res, err := synth.Generate(ctx, st, o, synth.StoreOptions{})
		if err != nil {
			return err
		}
		sum = res.Summary
	default:
		return fmt.Errorf("format %q", format)
	}
	return json.NewEncoder(os.Stdout).Encode(sum)
}
