// Command logreg times prevoir's logistic fit (train.Fit, Newton and
// L-BFGS) on the design matrices `kit dense` and `kit bank` wrote, which
// bench/anchors/sklearn_logreg.py fits with scikit-learn, and compares
// coefficients with its newton-cholesky result when that is present.
//
// Usage:
//
//	go run ./bench/logreg [-data /tmp/prevoir-bench/logreg] [-datasets dense32,dense128,bank] [-repeats 3] [-json]
package main

import (
	"encoding/binary"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prevoir/prevoir/train"
)

type dataset struct {
	name string
	n, d int
	x, y []float64
}

func readF64(path string) ([]float64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b)%8 != 0 {
		return nil, fmt.Errorf("%s: %d bytes is not a whole number of float64", path, len(b))
	}
	out := make([]float64, len(b)/8)
	for i := range out {
		out[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
	}
	return out, nil
}

func loadDense(dir, name string, n, d int) (*dataset, error) {
	stem := filepath.Join(dir, fmt.Sprintf("dense_%dx%d", n, d))
	x, err := readF64(stem + ".X.f64")
	if err != nil {
		return nil, err
	}
	y, err := readF64(stem + ".y.f64")
	if err != nil {
		return nil, err
	}
	if len(x) != n*d || len(y) != n {
		return nil, fmt.Errorf("%s: want %dx%d, have %d values and %d labels", stem, n, d, len(x), len(y))
	}
	return &dataset{name: name, n: n, d: d, x: x, y: y}, nil
}

// loadBank reads the design CSV the anchor writes (the already encoded
// and partly standardised bank-full, label column y last).
func loadBank(dir string) (*dataset, error) {
	f, err := os.Open(filepath.Join(dir, "bank_full_design.csv"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	head, err := r.Read()
	if err != nil {
		return nil, err
	}
	d := len(head) - 1
	ds := &dataset{name: "bank", d: d}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		for j, s := range rec {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return nil, err
			}
			if j == d {
				ds.y = append(ds.y, v)
			} else {
				ds.x = append(ds.x, v)
			}
		}
		ds.n++
	}
	return ds, nil
}

type run struct {
	Dataset    string    `json:"dataset"`
	N          int       `json:"n"`
	D          int       `json:"d"`
	Solver     string    `json:"solver"`
	Seconds    []float64 `json:"seconds"`
	Median     float64   `json:"median_s"`
	Status     string    `json:"status"`
	Iterations int       `json:"iterations"`
	GradNorm   float64   `json:"grad_max_abs"`
	Objective  float64   `json:"objective"`
	// MaxCoefDiff is max |coef - sklearn newton-cholesky coef| over
	// coefficients and intercept, if the anchor's result was found.
	MaxCoefDiff *float64 `json:"max_abs_diff_vs_sklearn,omitempty"`
}

// notes are the -note lines.
var notes stringList

type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, "; ") }
func (l *stringList) Set(s string) error { *l = append(*l, s); return nil }

func main() {
	dir := flag.String("data", "/tmp/prevoir-bench/logreg", "folder with the anchor's design matrices and results")
	which := flag.String("datasets", "dense32,dense128,bank", "datasets to fit")
	solvers := flag.String("solvers", "newton,lbfgs", "solvers to time")
	repeats := flag.Int("repeats", 3, "fits per dataset and solver (median reported)")
	tol := flag.Float64("tol", 1e-6, "stop at max |gradient| <= tol")
	asJSON := flag.Bool("json", false, "print JSON lines instead of text")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the fits to this file")
	markdown := flag.String("markdown", "", "write a markdown section comparing with the anchor's results (in -data) to this file")
	report := flag.String("report", "", "fit nothing: read the runs from this file of -json lines and write -markdown")
	flag.Var(&notes, "note", "a line to add under the -markdown table (repeatable): skipped data sets, an unavailable anchor")
	flag.Parse()
	if *report != "" {
		runs, err := readRuns(*report)
		if err == nil {
			err = os.WriteFile(*markdown, []byte(markdownSection(*dir, runs, *tol)), 0o644)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "logreg:", err)
			os.Exit(1)
		}
		return
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "logreg:", err)
			os.Exit(1)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	var runs []run
	for _, name := range strings.Split(*which, ",") {
		var ds *dataset
		var err error
		switch name {
		case "dense32":
			ds, err = loadDense(*dir, name, 1_000_000, 32)
		case "dense128":
			ds, err = loadDense(*dir, name, 200_000, 128)
		case "bank":
			ds, err = loadBank(*dir)
		default:
			err = fmt.Errorf("unknown dataset %q", name)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "logreg:", err)
			pprof.StopCPUProfile()
			os.Exit(1)
		}
		ref := anchorCoef(*dir, name)
		ds.name = name
		for _, s := range strings.Split(*solvers, ",") {
			r := run{Dataset: name, N: ds.n, D: ds.d, Solver: s}
			var res train.Result
			for range *repeats {
				t := time.Now()
				res, err = train.Fit(ds.x, ds.n, ds.d, ds.y, nil, train.Options{C: 1, Solver: train.Solver(s), Tol: *tol})
				r.Seconds = append(r.Seconds, time.Since(t).Seconds())
				if err != nil {
					fmt.Fprintln(os.Stderr, "logreg:", err)
					os.Exit(1)
				}
			}
			sorted := slices.Clone(r.Seconds)
			slices.Sort(sorted)
			r.Median = sorted[len(sorted)/2]
			r.Status, r.Iterations, r.GradNorm, r.Objective = res.Status, res.Iterations, res.GradNorm, res.Objective
			if ref != nil {
				m := math.Abs(res.Intercept - ref[len(ref)-1])
				for j, c := range res.Coef {
					m = max(m, math.Abs(c-ref[j]))
				}
				r.MaxCoefDiff = &m
			}
			runs = append(runs, r)
			if *asJSON {
				b, _ := json.Marshal(r)
				fmt.Println(string(b))
			} else {
				fmt.Printf("%-9s %-7s median %.3fs %v status %s iter %d grad %.2g obj %.6f", name, s, r.Median, r.Seconds, r.Status, r.Iterations, r.GradNorm, r.Objective)
				if r.MaxCoefDiff != nil {
					fmt.Printf(" |coef-sklearn| %.2g", *r.MaxCoefDiff)
				}
				fmt.Println()
			}
		}
	}
	if *markdown != "" {
		if err := os.WriteFile(*markdown, []byte(markdownSection(*dir, runs, *tol)), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "logreg:", err)
			os.Exit(1)
		}
	}
}

func readRuns(path string) ([]run, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var runs []run
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var r run
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		runs = append(runs, r)
	}
	return runs, nil
}

// anchorRun is the part of anchor_logreg.py's result file we show.
type anchorRun struct {
	Median   float64   `json:"fit_s_median"`
	Seconds  []float64 `json:"fit_s"`
	Iter     int       `json:"n_iter"`
	GradNorm float64   `json:"grad_max_abs"`
	Version  string    `json:"sklearn"`
}

func readAnchor(dir, name, solver string) *anchorRun {
	b, err := os.ReadFile(filepath.Join(dir, "logreg_"+name+"_"+solver+".json"))
	if err != nil {
		return nil
	}
	var a anchorRun
	if json.Unmarshal(b, &a) != nil {
		return nil
	}
	return &a
}

func markdownSection(dir string, runs []run, tol float64) string {
	var b strings.Builder
	b.WriteString("## Logistic regression fit (`train.Fit`) beside scikit-learn\n\n")
	b.WriteString("Same design matrices in the same run (`bench/logreg.bench.sh`: for each data set, `kit dense` or `kit bank` writes the matrix, `bench/anchors/sklearn_logreg.py` times scikit-learn on it, then `bench/logreg` times prevoir). ")
	fmt.Fprintf(&b, "C = 1, no standardisation (the anchor's matrices as they are); prevoir stops at max |gradient| <= %g (absolute, sum-scale objective); ", tol)
	b.WriteString("scikit-learn at tol 1e-8 (newton-cholesky's tolerance is on the gradient divided by n; lbfgs stops on SciPy's relative-reduction rule first). ")
	b.WriteString("Seconds are medians of the repeats; fit only, data already in memory. Ratio = prevoir newton / scikit-learn newton-cholesky (target <= 1.5).\n\n")
	b.WriteString("| data | rows x cols | prevoir newton | prevoir lbfgs | sklearn newton-cholesky | sklearn lbfgs | ratio | max abs coef diff vs sklearn |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|\n")
	byKey := map[string]run{}
	var order []string
	for _, r := range runs {
		byKey[r.Dataset+"/"+r.Solver] = r
		if len(order) == 0 || order[len(order)-1] != r.Dataset {
			order = append(order, r.Dataset)
		}
	}
	cell := func(r run, ok bool) string {
		if !ok {
			return "-"
		}
		s := fmt.Sprintf("%.3f s (%d it, grad %.1g)", r.Median, r.Iterations, r.GradNorm)
		if r.Status != "converged" {
			s += " " + r.Status
		}
		return s
	}
	acell := func(a *anchorRun) string {
		if a == nil {
			return "anchor unavailable"
		}
		return fmt.Sprintf("%.3f s (%d it, grad %.1g)", a.Median, a.Iter, a.GradNorm)
	}
	for _, name := range order {
		nt, okN := byKey[name+"/newton"]
		lb, okL := byKey[name+"/lbfgs"]
		any := nt
		if !okN {
			any = lb
		}
		an, al := readAnchor(dir, name, "newton-cholesky"), readAnchor(dir, name, "lbfgs")
		ratio := "-"
		if okN && an != nil && an.Median > 0 {
			ratio = fmt.Sprintf("%.2f", nt.Median/an.Median)
		}
		diff := "-"
		if okN && nt.MaxCoefDiff != nil {
			diff = fmt.Sprintf("%.1g", *nt.MaxCoefDiff)
		}
		fmt.Fprintf(&b, "| %s | %d x %d | %s | %s | %s | %s | %s | %s |\n", name, any.N, any.D, cell(nt, okN), cell(lb, okL), acell(an), acell(al), ratio, diff)
	}
	if len(order) > 0 {
		sk := "scikit-learn unavailable"
		if a := readAnchor(dir, order[0], "newton-cholesky"); a != nil {
			sk = "scikit-learn " + a.Version
		}
		fmt.Fprintf(&b, "\n%s; prevoir on %d goroutines (GOMAXPROCS), Newton's X^T W X by an AVX2/FMA kernel.\n", sk, runtime.GOMAXPROCS(0))
	}
	if len(notes) > 0 {
		b.WriteString("\n")
		for _, n := range notes {
			fmt.Fprintf(&b, "- %s\n", n)
		}
	}
	return b.String()
}

// anchorCoef returns sklearn newton-cholesky's coefficients followed by
// its intercept, from the anchor's result file, or nil.
func anchorCoef(dir, name string) []float64 {
	b, err := os.ReadFile(filepath.Join(dir, "logreg_"+name+"_newton-cholesky.json"))
	if err != nil {
		return nil
	}
	var v struct {
		Coef      []float64 `json:"coef"`
		Intercept float64   `json:"intercept"`
	}
	if json.Unmarshal(b, &v) != nil {
		return nil
	}
	return append(v.Coef, v.Intercept)
}
