package main

import (
	"encoding/csv"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
)

// rfmcmpCmd checks that two RFM tables (CSV with a header, one row per
// customer) agree: the same columns and customers, integer columns equal,
// monetary_* columns within 0.005 (both round to cents). It prints
// "match (N customers, label rate R)" and exits 0, or the differences and
// exits 1.
func rfmcmpCmd(args []string) error {
	if len(args) != 2 {
		return fmt.Errorf("usage: kit rfmcmp A.csv B.csv")
	}
	msg, ok, err := compareRFM(args[0], args[1])
	if err != nil {
		return err
	}
	fmt.Println(msg)
	if !ok {
		os.Exit(1)
	}
	return nil
}

// rfmTable is a CSV keyed by customer_id.
type rfmTable struct {
	cols []string
	rows map[string][]string
}

func readRFM(path string) (rfmTable, error) {
	f, err := os.Open(path)
	if err != nil {
		return rfmTable{}, err
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return rfmTable{}, fmt.Errorf("%s: %w", path, err)
	}
	if len(recs) == 0 || len(recs[0]) == 0 || recs[0][0] != "customer_id" {
		return rfmTable{}, fmt.Errorf("%s: first column is not customer_id", path)
	}
	t := rfmTable{cols: recs[0], rows: make(map[string][]string, len(recs)-1)}
	for i, r := range recs[1:] {
		if _, dup := t.rows[r[0]]; dup {
			return rfmTable{}, fmt.Errorf("%s:%d: customer %s twice", path, i+2, r[0])
		}
		t.rows[r[0]] = r
	}
	return t, nil
}

func compareRFM(pathA, pathB string) (string, bool, error) {
	a, err := readRFM(pathA)
	if err != nil {
		return "", false, err
	}
	b, err := readRFM(pathB)
	if err != nil {
		return "", false, err
	}
	if !slices.Equal(a.cols, b.cols) {
		return fmt.Sprintf("columns differ: %v vs %v", a.cols, b.cols), false, nil
	}
	if len(a.rows) != len(b.rows) {
		return fmt.Sprintf("customer sets differ: %d vs %d rows", len(a.rows), len(b.rows)), false, nil
	}
	diffs := make([]int, len(a.cols))
	maxMoney := make([]float64, len(a.cols))
	label := slices.Index(a.cols, "label")
	positives := 0
	for id, ra := range a.rows {
		rb, ok := b.rows[id]
		if !ok {
			return fmt.Sprintf("customer sets differ: %s only in %s", id, pathA), false, nil
		}
		for j, c := range a.cols {
			if strings.HasPrefix(c, "monetary") {
				x, err1 := strconv.ParseFloat(ra[j], 64)
				y, err2 := strconv.ParseFloat(rb[j], 64)
				if err1 != nil || err2 != nil {
					return "", false, fmt.Errorf("customer %s: %s: %q vs %q is not a number", id, c, ra[j], rb[j])
				}
				if d := math.Abs(x - y); d > 0.005+1e-9 {
					diffs[j]++
					maxMoney[j] = max(maxMoney[j], d)
				}
			} else if !sameInt(ra[j], rb[j]) {
				diffs[j]++
			}
		}
		if label >= 0 && ra[label] == "1" {
			positives++
		}
	}
	var bad []string
	for j, c := range a.cols {
		switch {
		case diffs[j] > 0 && strings.HasPrefix(c, "monetary"):
			bad = append(bad, fmt.Sprintf("%s: %d rows differ, max %.4f", c, diffs[j], maxMoney[j]))
		case diffs[j] > 0:
			bad = append(bad, fmt.Sprintf("%s: %d rows differ", c, diffs[j]))
		}
	}
	if len(bad) > 0 {
		return strings.Join(bad, "; "), false, nil
	}
	rate := 0.0
	if len(a.rows) > 0 {
		rate = float64(positives) / float64(len(a.rows))
	}
	return fmt.Sprintf("match (%d customers, label rate %.4f)", len(a.rows), rate), true, nil
}

// sameInt compares integer cells as numbers ("3" and "3.0" agree), and
// other cells as text.
func sameInt(x, y string) bool {
	if x == y {
		return true
	}
	a, err1 := strconv.ParseFloat(x, 64)
	b, err2 := strconv.ParseFloat(y, 64)
	return err1 == nil && err2 == nil && a == b
}
