// Command kit holds the project's own benchmark tools, so that `make bench`
// needs nothing beside the checkout: a whole-process timer, the order-line
// generator the import and feature benchmarks read, the matrices the
// logistic and XGBoost benchmarks fit and score, and the check that two RFM
// tables agree. bench/*.bench.sh build it once and call it.
//
//	kit timeit [-n 3] [-warmup 1] [-label L] [-log FILE] -- COMMAND [ARG...]
//	kit orders -customers 50000 -lines 1000000 [-seed 42] -out FILE.csv
//	kit dense -n 1000000 -d 32 -seed 42 [-beta-seed S] [-missing 0.1] -out STEM
//	kit bank -in bank-full.csv -out design.csv
//	kit rfmcmp A.csv B.csv
//	kit field JSON KEY[.KEY...]
package main

import (
	"fmt"
	"os"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "kit:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: kit timeit|orders|dense|bank|rfmcmp|field ...")
	}
	cmds := map[string]func([]string) error{
		"timeit": timeitCmd,
		"orders": ordersCmd,
		"dense":  denseCmd,
		"bank":   bankCmd,
		"rfmcmp": rfmcmpCmd,
		"field":  fieldCmd,
	}
	fn, ok := cmds[args[0]]
	if !ok {
		return fmt.Errorf("unknown command %q (timeit, orders, dense, bank, rfmcmp, field)", args[0])
	}
	return fn(args[1:])
}
