// Command xgbpredict measures prevoir scoring an XGBoost JSON model
// (gbdt.Import through its XGBoost JSON reader, scored with XGBoost's float32 arithmetic): batch throughput at
// each thread count and single-row latency, on the rows and model
// bench/anchors/xgb_predict.py measures xgboost on. With -anchor
// and -markdown it writes both side by side as a markdown section.
//
//	xgbpredict -model xgb_d6_300.json -ref xgb_d6_300.pred_first10k.csv \
//	    -x dense_1000000x32.X.f64 -json prevoir.json \
//	    -anchor xgb_predict.json -markdown xgb.md
//
// bench/xgb.bench.sh runs it.
package main

import (
	"context"
	"encoding/binary"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prevoir/prevoir/models"
	"github.com/prevoir/prevoir/models/gbdt"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "xgbpredict:", err)
		os.Exit(1)
	}
}

type options struct {
	model, ref, x, jsonOut, anchor, markdown string
	rows, cols, repeats, latencyCalls        int
	threads                                  []int
	trees                                    int
}

// result is one figure, as a JSON line.
type result struct {
	Kind        string    `json:"kind"`
	Threads     int       `json:"nthread,omitempty"`
	Rows        int       `json:"rows,omitempty"`
	Runs        int       `json:"runs,omitempty"`
	MedianS     float64   `json:"median_s,omitempty"`
	RowsPerS    float64   `json:"rows_per_s,omitempty"`
	RowsPerSMin float64   `json:"rows_per_s_min,omitempty"`
	RowsPerSMax float64   `json:"rows_per_s_max,omitempty"`
	Calls       int       `json:"calls,omitempty"`
	MedianUS    float64   `json:"median_us,omitempty"`
	P90US       float64   `json:"p90_us,omitempty"`
	P99US       float64   `json:"p99_us,omitempty"`
	MaxUS       float64   `json:"max_us,omitempty"`
	ImportS     float64   `json:"import_s,omitempty"`
	MaxDiff     []float64 `json:"max_scaled_diff,omitempty"`
}

func run() error {
	var o options
	var threads string
	flag.StringVar(&o.model, "model", "", "XGBoost JSON model")
	flag.StringVar(&o.ref, "ref", "", "anchor's reference CSV for the first rows (margin,probability)")
	flag.StringVar(&o.x, "x", "", "row-major little-endian float64 matrix")
	flag.IntVar(&o.rows, "rows", 1_000_000, "rows to score")
	flag.IntVar(&o.cols, "cols", 32, "columns of the matrix")
	flag.IntVar(&o.trees, "trees", 300, "trees in the model (for the report)")
	flag.StringVar(&threads, "threads", "1,2", "thread counts")
	flag.IntVar(&o.repeats, "repeats", 5, "timed batch runs per thread count")
	flag.IntVar(&o.latencyCalls, "latency-calls", 10_000, "timed single-row calls")
	flag.StringVar(&o.jsonOut, "json", "", "write results here")
	flag.StringVar(&o.anchor, "anchor", "", "bench/anchors/xgb_predict.py's results JSON, for -markdown")
	flag.StringVar(&o.markdown, "markdown", "", "write a markdown section here")
	flag.Parse()
	for _, s := range strings.Split(threads, ",") {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return fmt.Errorf("-threads %q", threads)
		}
		o.threads = append(o.threads, n)
	}
	res, err := measure(&o)
	if err != nil {
		return err
	}
	if o.jsonOut != "" {
		b, _ := json.MarshalIndent(res, "", " ")
		if err := os.WriteFile(o.jsonOut, b, 0o644); err != nil {
			return err
		}
	}
	if o.markdown != "" {
		return report(&o, res)
	}
	return nil
}

func importModel(path string, threads int) (*gbdt.Model, time.Duration, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, 0, err
	}
	start := time.Now()
	m, err := gbdt.Import(context.Background(), f, st.Size(), gbdt.Options{Threads: threads})
	return m, time.Since(start), err
}

func readMatrix(path string, rows, cols int) ([]float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b := make([]byte, rows*cols*8)
	if _, err := io.ReadFull(f, b); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	x := make([]float64, rows*cols)
	for i := range x {
		x[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[i*8:]))
	}
	return x, nil
}

// readRef reads the anchor's margin,probability CSV.
func readRef(path string) (margin, prob []float64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, nil, err
	}
	for _, r := range recs[1:] {
		m, err1 := strconv.ParseFloat(r[0], 64)
		p, err2 := strconv.ParseFloat(r[1], 64)
		if err := errors.Join(err1, err2); err != nil {
			return nil, nil, err
		}
		margin, prob = append(margin, m), append(prob, p)
	}
	return margin, prob, nil
}

func maxScaledDiff(got, want []float64) float64 {
	d := 0.0
	for i := range want {
		d = max(d, math.Abs(got[i]-want[i])/math.Max(1, math.Abs(want[i])))
	}
	return d
}

func emit(res *[]result, r result) {
	*res = append(*res, r)
	b, _ := json.Marshal(r)
	fmt.Fprintln(os.Stderr, string(b))
}

func measure(o *options) ([]result, error) {
	x, err := readMatrix(o.x, o.rows, o.cols)
	if err != nil {
		return nil, err
	}
	refM, refP, err := readRef(o.ref)
	if err != nil {
		return nil, err
	}
	var res []result
	all := models.Batch{Rows: o.rows, Cols: o.cols, Values: x}
	head := models.Batch{Rows: len(refM), Cols: o.cols, Values: x[:len(refM)*o.cols]}
	dst := make([]float64, o.rows)
	for _, nt := range o.threads {
		m, took, err := importModel(o.model, nt)
		if err != nil {
			return nil, err
		}
		// The reference check warms up too.
		var diffs []float64
		for _, k := range []struct {
			kind models.OutputKind
			want []float64
		}{{models.Raw, refM}, {models.Response, refP}} {
			if err := m.Score(dst, head, k.kind); err != nil {
				return nil, err
			}
			d := maxScaledDiff(dst[:head.Rows], k.want)
			if d > 1e-5 {
				return nil, fmt.Errorf("prevoir differs from xgboost on the reference rows: %.3g", d)
			}
			diffs = append(diffs, d)
		}
		if nt == o.threads[0] {
			emit(&res, result{Kind: "check", Rows: head.Rows, ImportS: took.Seconds(), MaxDiff: diffs})
		}
		ts := make([]float64, o.repeats)
		for i := range ts {
			start := time.Now()
			if err := m.Score(dst, all, models.Response); err != nil {
				return nil, err
			}
			ts[i] = time.Since(start).Seconds()
		}
		med := median(ts)
		emit(&res, result{Kind: "batch", Threads: nt, Rows: o.rows, Runs: o.repeats, MedianS: med,
			RowsPerS: float64(o.rows) / med, RowsPerSMin: float64(o.rows) / slices.Max(ts), RowsPerSMax: float64(o.rows) / slices.Min(ts)})
	}
	m, _, err := importModel(o.model, 1)
	if err != nil {
		return nil, err
	}
	one := dst[:1]
	row := func(i int) models.Batch {
		i %= o.rows
		return models.Batch{Rows: 1, Cols: o.cols, Values: x[i*o.cols : (i+1)*o.cols]}
	}
	for i := range 1000 {
		if err := m.Score(one, row(i), models.Response); err != nil {
			return nil, err
		}
	}
	lat := make([]float64, o.latencyCalls)
	for i := range lat {
		b := row(i)
		start := time.Now()
		if err := m.Score(one, b, models.Response); err != nil {
			return nil, err
		}
		lat[i] = float64(time.Since(start).Nanoseconds()) / 1e3
	}
	slices.Sort(lat)
	emit(&res, result{Kind: "latency_1row", Threads: 1, Calls: len(lat), MedianUS: pct(lat, 50), P90US: pct(lat, 90),
		P99US: pct(lat, 99), MaxUS: lat[len(lat)-1]})
	return res, nil
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return pct(s, 50)
}

// pct is the p-th percentile of sorted s, interpolated as numpy does.
func pct(s []float64, p float64) float64 {
	r := p / 100 * float64(len(s)-1)
	i := int(r)
	if i+1 >= len(s) {
		return s[len(s)-1]
	}
	return s[i] + (r-float64(i))*(s[i+1]-s[i])
}

// anchorResults is what bench/anchors/xgb_predict.py writes.
type anchorResults struct {
	XGBoost string `json:"xgboost"`
	Results []struct {
		Kind     string  `json:"kind"`
		Trees    int     `json:"trees"`
		Threads  int     `json:"nthread"`
		Rows     int     `json:"rows"`
		RowsPerS float64 `json:"rows_per_s"`
		MedianUS float64 `json:"median_us"`
		P90US    float64 `json:"p90_us"`
		P99US    float64 `json:"p99_us"`
	} `json:"results"`
}

func report(o *options, res []result) error {
	b, err := os.ReadFile(o.anchor)
	if err != nil {
		return err
	}
	var a anchorResults
	if err := json.Unmarshal(b, &a); err != nil {
		return fmt.Errorf("%s: %w", o.anchor, err)
	}
	xgbBatch := map[int]float64{}
	var xgbLat [3]float64
	for _, r := range a.Results {
		if r.Trees != o.trees {
			continue
		}
		switch r.Kind {
		case "batch_inplace":
			xgbBatch[r.Threads] = r.RowsPerS
		case "latency_1row":
			xgbLat = [3]float64{r.MedianUS, r.P90US, r.P99US}
		}
	}
	pvBatch := map[int]result{}
	var lat, check result
	for _, r := range res {
		switch r.Kind {
		case "batch":
			pvBatch[r.Threads] = r
		case "latency_1row":
			lat = r
		case "check":
			check = r
		}
	}
	var w strings.Builder
	fmt.Fprintf(&w, "## XGBoost prediction: %d trees, depth 6, 32 features, 10%% missing\n\n", o.trees)
	fmt.Fprintf(&w, "xgboost %s (`Booster.inplace_predict`, `bench/anchors/xgb_predict.py`) beside prevoir "+
		"(`gbdt.Import` of the same XGBoost JSON through `models/gbdt/internal/xgbjson`, scored by prevoir's float32 scorer via `Model.Score`, "+
		"response), on the same %d rows x 32 float64 with 10%% NaN (`kit dense -missing 0.1`), in one run. "+
		"binary:logistic, max_depth 6, eta 0.1, hist, trained by xgboost on 200,000 rows with the same missing rate. "+
		"Batch: median of %d runs over all rows; single row: %d calls on one thread, one row each.\n\n",
		a.XGBoost, o.rows, o.repeats, o.latencyCalls)
	fmt.Fprintf(&w, "| figure | xgboost | prevoir | prevoir / xgboost |\n|---|---:|---:|---:|\n")
	for _, nt := range o.threads {
		p := pvBatch[nt]
		fmt.Fprintf(&w, "| batch, %d thread%s (rows/s) | %s | %s (%s-%s) | %.2fx |\n", nt, plural(nt), kilo(xgbBatch[nt]),
			kilo(p.RowsPerS), kilo(p.RowsPerSMin), kilo(p.RowsPerSMax), p.RowsPerS/xgbBatch[nt])
	}
	if len(o.threads) >= 2 {
		t0, t1 := o.threads[0], o.threads[len(o.threads)-1]
		fmt.Fprintf(&w, "| speed-up %d -> %d threads | %.2fx | %.2fx | |\n", t0, t1, xgbBatch[t1]/xgbBatch[t0],
			pvBatch[t1].RowsPerS/pvBatch[t0].RowsPerS)
	}
	fmt.Fprintf(&w, "| single row, median (us) | %.1f | %.1f | %.2fx the time |\n", xgbLat[0], lat.MedianUS, lat.MedianUS/xgbLat[0])
	fmt.Fprintf(&w, "| single row, p90 / p99 (us) | %.1f / %.1f | %.1f / %.1f | |\n", xgbLat[1], xgbLat[2], lat.P90US, lat.P99US)
	fmt.Fprintf(&w, "\nprevoir vs xgboost on the anchor's first %d reference rows: max |prevoir - xgboost| / max(1, |xgboost|) "+
		"= %.2g (margin), %.2g (probability). Import (read, validate, build the scorer): %.2f s. "+
		"%d cores, GOMAXPROCS %d. Targets (issue 9): throughput >= 0.33x xgboost at each thread count, "+
		"1 -> 2 thread speed-up >= 1.7x, single-row median < 30 us.\n",
		check.Rows, at(check.MaxDiff, 0), at(check.MaxDiff, 1), check.ImportS, runtime.NumCPU(), runtime.GOMAXPROCS(0))
	if err := os.WriteFile(o.markdown, []byte(w.String()), 0o644); err != nil {
		return err
	}
	fmt.Print(w.String())
	return nil
}

func at(v []float64, i int) float64 {
	if i < len(v) {
		return v[i]
	}
	return math.NaN()
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func kilo(v float64) string {
	return strconv.FormatFloat(v/1e3, 'f', 0, 64) + "k"
}
