package main

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func genOrders(t *testing.T, customers, lines int, seed uint64) []byte {
	t.Helper()
	var b bytes.Buffer
	w := bufio.NewWriter(&b)
	n, err := writeOrders(w, customers, lines, seed)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if n != lines {
		t.Fatalf("writeOrders returned %d lines, want %d", n, lines)
	}
	return b.Bytes()
}

// TestOrdersExactAndDeterministic: exactly -lines rows, the documented
// header, the same bytes for the same seed, other bytes for another.
func TestOrdersExactAndDeterministic(t *testing.T) {
	a := genOrders(t, 500, 10_000, 42)
	recs, err := csv.NewReader(bytes.NewReader(a)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(recs[0], ","); got != "customer_id,order_id,timestamp,product_id,category,quantity,unit_price,warehouse" {
		t.Fatalf("header %q", got)
	}
	if len(recs)-1 != 10_000 {
		t.Fatalf("%d lines, want 10000", len(recs)-1)
	}
	prevOrder, prevTS := 0, ""
	for i, r := range recs[1:] {
		o, _ := strconv.Atoi(r[1])
		if o < prevOrder || (o > prevOrder && r[2] < prevTS) {
			t.Fatalf("line %d: order %s at %s after order %d at %s: not chronological", i+2, r[1], r[2], prevOrder, prevTS)
		}
		prevOrder, prevTS = o, r[2]
		if r[2] < "2023-01-01T00:00:00Z" || r[2] >= "2025-01-01T00:00:00Z" {
			t.Fatalf("line %d: timestamp %s outside 2023-2024", i+2, r[2])
		}
		if q, err := strconv.Atoi(r[5]); err != nil || q < 1 {
			t.Fatalf("line %d: quantity %q", i+2, r[5])
		}
		if p, err := strconv.ParseFloat(r[6], 64); err != nil || p < 0.15 {
			t.Fatalf("line %d: unit_price %q", i+2, r[6])
		}
	}
	if !bytes.Equal(a, genOrders(t, 500, 10_000, 42)) {
		t.Fatal("same seed, different file")
	}
	if bytes.Equal(a, genOrders(t, 500, 10_000, 43)) {
		t.Fatal("another seed, same file")
	}
}

func writeCSV(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCompareRFM(t *testing.T) {
	dir := t.TempDir()
	head := "customer_id,recency_days,monetary_30,label\n"
	a := writeCSV(t, dir, "a.csv", head+"1,3,10.00,1\n2,40,0.00,0\n")
	for _, c := range []struct {
		name, body, want string
		ok               bool
	}{
		{"same, other order and spelling", head + "2,40.0,0,0\n1,3,10.004,1\n", "match (2 customers, label rate 0.5000)", true},
		{"money beyond a cent", head + "1,3,10.02,1\n2,40,0.00,0\n", "monetary_30: 1 rows differ", false},
		{"integer differs", head + "1,4,10.00,1\n2,40,0.00,0\n", "recency_days: 1 rows differ", false},
		{"customer missing", head + "1,3,10.00,1\n", "customer sets differ", false},
		{"other customer", head + "1,3,10.00,1\n3,40,0.00,0\n", "customer sets differ", false},
		{"columns", "customer_id,recency_days,label\n1,3,1\n2,40,0\n", "columns differ", false},
	} {
		b := writeCSV(t, dir, "b.csv", c.body)
		msg, ok, err := compareRFM(a, b)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if ok != c.ok || !strings.HasPrefix(msg, c.want) {
			t.Errorf("%s: got %v %q, want %v %q...", c.name, ok, msg, c.ok, c.want)
		}
	}
}

// TestTimeit: exit codes are reported, not errors; a command that cannot
// start is an error; the peak memory of a child that allocates shows.
func TestTimeit(t *testing.T) {
	r, err := timeit([]string{"sh", "-c", "exit 3"}, 2, 1, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(r.RC) != 1 || r.RC[0] != 3 || r.N != 2 {
		t.Fatalf("rc %v n %d, want [3] 2", r.RC, r.N)
	}
	if r.Wall.Min <= 0 && r.Wall.Max <= 0 || r.Wall.Min > r.Wall.Median || r.Wall.Median > r.Wall.Max {
		t.Fatalf("wall %+v", r.Wall)
	}
	if _, err := timeit([]string{filepath.Join(t.TempDir(), "no-such-command")}, 1, 0, ""); err == nil {
		t.Fatal("a missing command timed without error")
	}
	log := filepath.Join(t.TempDir(), "log")
	if _, err := timeit([]string{"sh", "-c", "echo hello; echo oops >&2"}, 1, 0, log); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(log); string(b) != "hello\noops\n" {
		t.Fatalf("log %q", b)
	}
}

func TestSummarize(t *testing.T) {
	if s := summarize([]float64{3, 1, 2}); s != (stats{1, 2, 3}) {
		t.Fatalf("odd: %+v", s)
	}
	if s := summarize([]float64{4, 1, 2, 3}); s != (stats{1, 2.5, 4}) {
		t.Fatalf("even: %+v", s)
	}
}

// TestDense: the files have the announced size, the NaN share is near
// -missing, labels are 0/1 with a rate the model implies, and a second
// call with the same parameters keeps the files.
func TestDense(t *testing.T) {
	stem := filepath.Join(t.TempDir(), "d")
	const n, d = 20_000, 8
	if err := writeDense(stem, n, d, 7, 7, 0.1); err != nil {
		t.Fatal(err)
	}
	x, err := os.ReadFile(stem + ".X.f64")
	if err != nil {
		t.Fatal(err)
	}
	y, err := os.ReadFile(stem + ".y.f64")
	if err != nil {
		t.Fatal(err)
	}
	if len(x) != n*d*8 || len(y) != n*8 {
		t.Fatalf("%d and %d bytes, want %d and %d", len(x), len(y), n*d*8, n*8)
	}
	nan := 0
	for i := 0; i < len(x); i += 8 {
		if math.IsNaN(math.Float64frombits(leU64(x[i:]))) {
			nan++
		}
	}
	// Binomial(160000, 0.1): sd 120; 5 sd either side.
	if share := float64(nan) / float64(n*d); math.Abs(share-0.1) > 0.004 {
		t.Fatalf("NaN share %.4f, want 0.1", share)
	}
	pos := 0
	for i := 0; i < len(y); i += 8 {
		switch v := math.Float64frombits(leU64(y[i:])); v {
		case 1:
			pos++
		case 0:
		default:
			t.Fatalf("label %v", v)
		}
	}
	// Intercept -1 and unit-variance x.beta of sd about 1.5: the rate is
	// well below a half and well above zero.
	if rate := float64(pos) / n; rate < 0.2 || rate > 0.45 {
		t.Fatalf("positive rate %.3f", rate)
	}
	st1, _ := os.Stat(stem + ".X.f64")
	if err := writeDense(stem, n, d, 7, 7, 0.1); err != nil {
		t.Fatal(err)
	}
	if st2, _ := os.Stat(stem + ".X.f64"); !st2.ModTime().Equal(st1.ModTime()) {
		t.Fatal("same parameters, files rewritten")
	}
}

func leU64(b []byte) uint64 {
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}

// TestBank encodes a tiny file shaped like bank-full.csv.
func TestBank(t *testing.T) {
	dir := t.TempDir()
	head := `"age";"job";"marital";"education";"default";"balance";"housing";"loan";"contact";"day";"month";"duration";"campaign";"pdays";"previous";"poutcome";"y"` + "\n"
	in := writeCSV(t, dir, "bank.csv", head+
		`30;"admin.";"married";"primary";"no";100;"yes";"no";"cellular";5;"may";120;1;-1;0;"unknown";"no"`+"\n"+
		`50;"blue-collar";"single";"primary";"no";300;"no";"no";"cellular";7;"jun";300;3;20;1;"unknown";"yes"`+"\n")
	out := filepath.Join(dir, "design.csv")
	if err := bankCmd([]string{"-in", in, "-out", out}); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(mustOpen(t, out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	wantHead := "age,balance,day,campaign,pdays,previous,job=admin.,job=blue-collar,marital=married,marital=single," +
		"education=primary,default=no,housing=no,housing=yes,loan=no,contact=cellular,month=jun,month=may,poutcome=unknown,y"
	if got := strings.Join(recs[0], ","); got != wantHead {
		t.Fatalf("header\n got %s\nwant %s", got, wantHead)
	}
	// age: mean 40, population sd 10 -> -1 and 1.
	if recs[1][0] != "-1" || recs[2][0] != "1" || recs[1][len(recs[1])-1] != "0" || recs[2][len(recs[2])-1] != "1" {
		t.Fatalf("rows %v %v", recs[1], recs[2])
	}
	constant := head + `30;"admin.";"married";"primary";"no";100;"yes";"no";"cellular";5;"may";120;1;-1;0;"unknown";"no"` + "\n"
	constant += `50;"admin.";"married";"primary";"no";100;"yes";"no";"cellular";5;"may";120;1;-1;0;"unknown";"yes"` + "\n"
	if err := bankCmd([]string{"-in", writeCSV(t, dir, "const.csv", constant), "-out", out}); err == nil || !strings.Contains(err.Error(), "balance is constant") {
		t.Fatalf("constant column: %v", err)
	}
	if recs[1][6] != "1" || recs[1][7] != "0" || recs[2][6] != "0" || recs[2][7] != "1" {
		t.Fatalf("job dummies %v %v", recs[1][6:8], recs[2][6:8])
	}
}

func mustOpen(t *testing.T, p string) *os.File {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}
