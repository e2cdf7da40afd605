package synth

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/datasets/local"
)

func newStore(t testing.TB) *local.Store {
	t.Helper()
	st, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// storeHashes returns key -> SHA-256 of every object under datasets/,
// manifests excluded (they record the creation time).
func storeHashes(t testing.TB, st datasets.Store) map[string]string {
	t.Helper()
	ctx := context.Background()
	objs, err := st.List(ctx, "datasets/")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, o := range objs {
		if strings.Contains(o.Key, "_manifest") {
			continue
		}
		b, err := datasets.ReadAll(ctx, st, o.Key)
		if err != nil {
			t.Fatal(err)
		}
		s := sha256.Sum256(b)
		out[o.Key] = hex.EncodeToString(s[:])
	}
	return out
}

// Two generations with the same options, at GOMAXPROCS 1 and 2, write the
// same parts and latent files with the same bytes; CSV output too.
func TestDeterministicAcrossGOMAXPROCS(t *testing.T) {
	ctx := context.Background()
	o := Options{Name: "det", Customers: 1500, Seed: 7, Days: 120}
	prev := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(prev)
	var hashes []map[string]string
	var csvs [][]byte
	for _, procs := range []int{1, 2} {
		runtime.GOMAXPROCS(procs)
		st := newStore(t)
		if _, err := Generate(ctx, st, o, StoreOptions{}); err != nil {
			t.Fatal(err)
		}
		// Parts are named by the generation's id and a unique run suffix;
		// manifests record the run: compare the rows' objects by their
		// names without the suffix.
		norm := map[string]string{}
		run := regexp.MustCompile(regexp.QuoteMeta(o.RunID()) + `-\d{8}T\d{6}Z-[0-9a-f]{6}`)
		for k, h := range storeHashes(t, st) {
			if strings.HasSuffix(k, ".json") {
				continue
			}
			norm[run.ReplaceAllString(k, o.RunID())] = h
		}
		hashes = append(hashes, norm)
		var buf bytes.Buffer
		if _, err := WriteCSV(ctx, o, &buf); err != nil {
			t.Fatal(err)
		}
		csvs = append(csvs, buf.Bytes())
	}
	a, b := hashes[0], hashes[1]
	parts := 0
	for k, h := range a {
		if strings.HasSuffix(k, ".parquet") {
			parts++
			if !strings.Contains(k, "/part-"+o.RunID()+"-") {
				t.Errorf("part %s not named by the run id %s", k, o.RunID())
			}
		}
		if b[k] != h {
			t.Errorf("%s: %s at GOMAXPROCS=1, %q at 2", k, h, b[k])
		}
	}
	if len(a) != len(b) || parts == 0 {
		t.Errorf("%d objects vs %d (%d parts)", len(a), len(b), parts)
	}
	if !bytes.Equal(csvs[0], csvs[1]) {
		t.Error("CSV differs between GOMAXPROCS 1 and 2")
	}
	// The seed changes the data, and the run id.
	o2 := o
	o2.Seed++
	if o2.RunID() == o.RunID() {
		t.Error("run id ignores the seed")
	}
	var buf bytes.Buffer
	if _, err := WriteCSV(ctx, o2, &buf); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(buf.Bytes(), csvs[0]) {
		t.Error("another seed gave the same CSV")
	}
}

// The CSV's header and line format are those of gen_orders.py.
func TestCSVFormat(t *testing.T) {
	var buf bytes.Buffer
	sum, err := WriteCSV(context.Background(), Options{Customers: 50, Seed: 1}, &buf)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if lines[0]+"\n" != CSVHeader || int64(len(lines)-1) != sum.Lines {
		t.Fatalf("header %q, %d lines for %d", lines[0], len(lines)-1, sum.Lines)
	}
	f := strings.Split(lines[1], ",")
	if len(f) != 8 || f[0] != "000001" || !strings.HasSuffix(f[2], "Z") || len(f[2]) != 20 || !strings.HasPrefix(f[3], "P") || !strings.HasPrefix(f[7], "W") {
		t.Errorf("first line %q", lines[1])
	}
	if !strings.HasPrefix(f[1], "1") || len(f[1]) != 5 {
		t.Errorf("order id %q: want 10000*customer+seq", f[1])
	}
}

// Generating the same options again reuses the dataset; other options
// refuse to overwrite it unless asked.
func TestGenerateTwice(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	o := Options{Name: "twice", Customers: 200, Seed: 3, Days: 60}
	r1, err := Generate(ctx, st, o, StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	before := storeHashes(t, st)
	r2, err := Generate(ctx, st, o, StoreOptions{})
	if err != nil || !r2.Reused || r2.Lines != r1.Lines {
		t.Fatalf("second run: %+v %v", r2, err)
	}
	o.Seed = 4
	if _, err := Generate(ctx, st, o, StoreOptions{}); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Fatalf("other seed over an existing dataset: %v", err)
	}
	after := storeHashes(t, st)
	if len(after) != len(before) {
		t.Fatalf("refused generation changed the store: %d objects, then %d", len(before), len(after))
	}
	if _, err := Generate(ctx, st, o, StoreOptions{Replace: true}); err != nil {
		t.Fatal(err)
	}
	m, err := datasets.ReadManifest(ctx, st, "twice", "orders")
	if err != nil || m.Seq != 2 || m.Origin != o.RunID() || !strings.HasPrefix(m.Run, o.RunID()+"-") {
		t.Fatalf("replaced manifest %+v %v", m, err)
	}
}

func TestOptionsValidate(t *testing.T) {
	for _, o := range []Options{
		{Customers: 0},
		{Customers: 10, Days: 3},
		{Customers: 10, Warehouses: 30},
		{Customers: 10, Products: 10},
		{Customers: 10, End: DefaultEnd.Add(3600e9)},
		{Customers: 10, BasketLines: 1.2},
		{Customers: 10, BasketLines: 60},
	} {
		if err := o.withDefaults().validate(); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
	if _, err := Generate(context.Background(), newStore(t), Options{Name: "bad/name", Customers: 10}, StoreOptions{}); err == nil {
		t.Error("bad dataset name accepted")
	}
}

// TestBasketLines: orders have BasketLines lines on average (trigger
// orders, a few percent, are smaller); the default's rows and run id are
// the same whether BasketLines is left zero or given as the default.
func TestBasketLines(t *testing.T) {
	ctx := context.Background()
	gen := func(o Options) (Summary, []byte) {
		var buf bytes.Buffer
		sum, err := WriteCSV(ctx, o, &buf)
		if err != nil {
			t.Fatal(err)
		}
		return sum, buf.Bytes()
	}
	base := Options{Customers: 2000, Seed: 9}
	s0, b0 := gen(base)
	withDefault := base
	withDefault.BasketLines = DefaultBasketLines
	s1, b1 := gen(withDefault)
	if !bytes.Equal(b0, b1) || s0.RunID != s1.RunID {
		t.Fatal("BasketLines = DefaultBasketLines changed the default's rows or run id")
	}
	big := base
	big.BasketLines = 13
	s2, _ := gen(big)
	if s2.RunID == s0.RunID {
		t.Error("BasketLines does not change the run id")
	}
	for _, c := range []struct {
		s    Summary
		want float64
	}{{s0, DefaultBasketLines}, {s2, 13}} {
		got := float64(c.s.Lines) / float64(c.s.Orders)
		if got < 0.8*c.want || got > 1.05*c.want {
			t.Errorf("%.2f lines per order, want about %g", got, c.want)
		}
	}
}
