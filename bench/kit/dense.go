package main

import (
	"bufio"
	"encoding/binary"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
)

// denseCmd writes a synthetic binary classification set with a known
// logistic model, as raw little-endian float64 files another program can
// read: STEM.X.f64 (n*d values, row-major), STEM.y.f64 (n labels 0/1) and
// STEM.json (the model and how it was drawn).
//
// Model: beta_j ~ N(0,1)*1.5/sqrt(d) drawn from -beta-seed, intercept -1;
// each row has x_0 ~ N(0,1) and x_j = 0.5 x_{j-1} + sqrt(0.75) z_j (unit
// variance, neighbours correlated 0.5); y ~ Bernoulli(sigmoid(-1 + x.beta)).
// With -missing p each value is then replaced by NaN with probability p
// (the label comes from the complete row).
func denseCmd(args []string) error {
	fs := flag.NewFlagSet("dense", flag.ContinueOnError)
	n := fs.Int("n", 0, "rows")
	d := fs.Int("d", 0, "columns")
	seed := fs.Uint64("seed", 42, "seed of the rows")
	betaSeed := fs.Int64("beta-seed", -1, "seed of the true model (default: -seed)")
	missing := fs.Float64("missing", 0, "probability that a value is NaN")
	stem := fs.String("out", "", "output stem")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *n < 1 || *d < 1 || *stem == "" || *missing < 0 || *missing >= 1 {
		return fmt.Errorf("dense: need -n >= 1, -d >= 1, -out, 0 <= -missing < 1")
	}
	bs := *seed
	if *betaSeed >= 0 {
		bs = uint64(*betaSeed)
	}
	return writeDense(*stem, *n, *d, *seed, bs, *missing)
}

// denseMeta is STEM.json.
type denseMeta struct {
	N         int       `json:"n"`
	D         int       `json:"d"`
	Seed      uint64    `json:"seed"`
	BetaSeed  uint64    `json:"beta_seed"`
	Missing   float64   `json:"missing"`
	Intercept float64   `json:"intercept"`
	Beta      []float64 `json:"beta"`
	Layout    string    `json:"layout"`
}

func writeDense(stem string, n, d int, seed, betaSeed uint64, missing float64) error {
	meta := denseMeta{N: n, D: d, Seed: seed, BetaSeed: betaSeed, Missing: missing, Intercept: -1,
		Layout: "little-endian float64, row-major"}
	// Already made with the same parameters: keep it.
	if b, err := os.ReadFile(stem + ".json"); err == nil {
		var old denseMeta
		if json.Unmarshal(b, &old) == nil && old.N == n && old.D == d && old.Seed == seed &&
			old.BetaSeed == betaSeed && old.Missing == missing {
			if st, err := os.Stat(stem + ".X.f64"); err == nil && st.Size() == int64(n*d*8) {
				return nil
			}
		}
	}
	br := newRNG(betaSeed, 0x62657461)
	meta.Beta = make([]float64, d)
	for j := range meta.Beta {
		meta.Beta[j] = br.NormFloat64() * 1.5 / math.Sqrt(float64(d))
	}
	if err := os.MkdirAll(filepath.Dir(stem), 0o755); err != nil {
		return err
	}
	r := newRNG(seed, uint64(n)<<20|uint64(d))
	row := make([]float64, d)
	var buf [8]byte
	put := func(w io.Writer, v float64) error {
		binary.LittleEndian.PutUint64(buf[:], math.Float64bits(v))
		_, err := w.Write(buf[:])
		return err
	}
	err := writeFiles([]string{stem + ".X.f64", stem + ".y.f64"}, func(ws []*bufio.Writer) error {
		c := math.Sqrt(0.75)
		for range n {
			eta := meta.Intercept
			for j := range row {
				if j == 0 {
					row[j] = r.NormFloat64()
				} else {
					row[j] = 0.5*row[j-1] + c*r.NormFloat64()
				}
				eta += row[j] * meta.Beta[j]
			}
			y := 0.0
			if r.Float64() < 1/(1+math.Exp(-eta)) {
				y = 1
			}
			for _, v := range row {
				if missing > 0 && r.Float64() < missing {
					v = math.NaN()
				}
				if err := put(ws[0], v); err != nil {
					return err
				}
			}
			if err := put(ws[1], y); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	b, _ := json.MarshalIndent(meta, "", " ")
	return os.WriteFile(stem+".json", b, 0o644)
}

// writeFiles creates the files (each through a temporary name renamed on
// success), hands fn buffered writers and flushes them.
func writeFiles(paths []string, fn func([]*bufio.Writer) error) (err error) {
	var files []*os.File
	var ws []*bufio.Writer
	defer func() {
		for i, f := range files {
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				os.Remove(paths[i] + ".tmp")
			}
		}
		if err == nil {
			for _, p := range paths {
				if err = os.Rename(p+".tmp", p); err != nil {
					return
				}
			}
		}
	}()
	for _, p := range paths {
		f, err := os.Create(p + ".tmp")
		if err != nil {
			return err
		}
		files = append(files, f)
		ws = append(ws, bufio.NewWriterSize(f, 1<<20))
	}
	if err := fn(ws); err != nil {
		return err
	}
	for _, w := range ws {
		if err := w.Flush(); err != nil {
			return err
		}
	}
	return nil
}

var (
	bankNumeric     = []string{"age", "balance", "day", "campaign", "pdays", "previous"}
	bankCategorical = []string{"job", "marital", "education", "default", "housing", "loan", "contact", "month", "poutcome"}
)

// bankCmd encodes UCI Bank Marketing's bank-full.csv as the design matrix
// the logistic benchmark fits (both scikit-learn and prevoir read it):
// `duration` (it leaks the outcome) and `y` left out of the inputs; the
// numeric columns standardised (mean, population standard deviation);
// every level of each categorical column one-hot, levels sorted, columns
// named col=level; numerics first, then the dummies; label y last (1 for
// "yes").
func bankCmd(args []string) error {
	fs := flag.NewFlagSet("bank", flag.ContinueOnError)
	in := fs.String("in", "", "bank-full.csv (';'-separated)")
	out := fs.String("out", "", "design CSV to write")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *in == "" || *out == "" {
		return fmt.Errorf("bank: need -in and -out")
	}
	f, err := os.Open(*in)
	if err != nil {
		return err
	}
	defer f.Close()
	cr := csv.NewReader(f)
	cr.Comma = ';'
	recs, err := cr.ReadAll()
	if err != nil {
		return fmt.Errorf("bank: %w", err)
	}
	if len(recs) < 2 {
		return fmt.Errorf("bank: %s has no rows", *in)
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	for _, h := range append(append([]string{"y"}, bankNumeric...), bankCategorical...) {
		if _, ok := col[h]; !ok {
			return fmt.Errorf("bank: %s: no column %q", *in, h)
		}
	}
	rows := recs[1:]
	num := make([][]float64, len(bankNumeric))
	for k, h := range bankNumeric {
		num[k] = make([]float64, len(rows))
		sum := 0.0
		for i, r := range rows {
			v, err := strconv.ParseFloat(r[col[h]], 64)
			if err != nil {
				return fmt.Errorf("bank: %s:%d: %s: %w", *in, i+2, h, err)
			}
			num[k][i] = v
			sum += v
		}
		mean := sum / float64(len(rows))
		ss := 0.0
		for _, v := range num[k] {
			ss += (v - mean) * (v - mean)
		}
		sd := math.Sqrt(ss / float64(len(rows)))
		if sd == 0 {
			return fmt.Errorf("bank: %s: column %s is constant: it cannot be standardised", *in, h)
		}
		for i := range num[k] {
			num[k][i] = (num[k][i] - mean) / sd
		}
	}
	header := slices.Clone(bankNumeric)
	levels := make([][]string, len(bankCategorical))
	for k, h := range bankCategorical {
		seen := map[string]bool{}
		for _, r := range rows {
			if v := r[col[h]]; !seen[v] {
				seen[v] = true
				levels[k] = append(levels[k], v)
			}
		}
		slices.Sort(levels[k])
		for _, l := range levels[k] {
			header = append(header, h+"="+l)
		}
	}
	header = append(header, "y")
	return writeFiles([]string{*out}, func(ws []*bufio.Writer) error {
		cw := csv.NewWriter(ws[0])
		if err := cw.Write(header); err != nil {
			return err
		}
		rec := make([]string, len(header))
		for i, r := range rows {
			j := 0
			for k := range bankNumeric {
				rec[j] = strconv.FormatFloat(num[k][i], 'g', 17, 64)
				j++
			}
			for k, h := range bankCategorical {
				for _, l := range levels[k] {
					rec[j] = "0"
					if r[col[h]] == l {
						rec[j] = "1"
					}
					j++
				}
			}
			rec[j] = "0"
			if r[col["y"]] == "yes" {
				rec[j] = "1"
			}
			if err := cw.Write(rec); err != nil {
				return err
			}
		}
		cw.Flush()
		return cw.Error()
	})
}
