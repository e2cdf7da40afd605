package gbdt

import (
	"bytes"
	"context"
	"errors"
	"math/rand"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/prevoir/prevoir/models"
)

// hangLimit fails a refusal that takes this long: far beyond the under a
// second a refusal takes on a quiet machine, so only a hang (reading the
// whole input, a loop) trips it, never a loaded CI machine. Speed is
// measured by benchmarks, not asserted by unit tests.
const hangLimit = 30 * time.Second

// refusedQuickly imports r and wants a refusal mentioning want, having
// allocated under 64 MiB (the time is logged; hangLimit catches a hang).
func refusedQuickly(t *testing.T, name string, r interface {
	ReadAt([]byte, int64) (int, error)
}, size int64, opts Options, want string) {
	t.Helper()
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	_, err := Import(context.Background(), r, size, opts)
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	alloc := after.TotalAlloc - before.TotalAlloc
	if !errors.Is(err, models.ErrUnsupported) || !strings.Contains(err.Error(), want) {
		t.Errorf("%s: err = %v, want a refusal mentioning %q", name, err, want)
	}
	if elapsed >= hangLimit {
		t.Errorf("%s: refused in %v: a hang", name, elapsed)
	}
	if alloc >= 64<<20 {
		t.Errorf("%s: allocated %d MiB, want under 64", name, alloc>>20)
	}
	t.Logf("%s: %v, allocated %.2f MiB: %v", name, elapsed, float64(alloc)/(1<<20), err)
}

func TestHostileInputs(t *testing.T) {
	lgb, err := os.ReadFile(filepath.Join(fixtures, "lgb4", "binary_categorical.txt"))
	if err != nil {
		t.Fatal(err)
	}
	rnd := make([]byte, 1<<20)
	rand.New(rand.NewSource(1)).Read(rnd)
	xgb := xgbBinary("binary:logistic", "gbtree", 2, 0, stumpTrees, -1)
	bigTrees := xgbBinary("binary:logistic", "gbtree", 2, 0, stumpTrees, 1<<31)
	maxTrees := xgbBinary("binary:logistic", "gbtree", 2, 0, stumpTrees, 1<<31-1)
	hugeTree := xgbBinary("binary:logistic", "gbtree", 2, 0, stumpTrees, -1)
	// first tree's num_nodes: after 136+8+15+8+6 header bytes, 160 of gbtree param, 4 of num_roots
	off := 136 + 8 + len("binary:logistic") + 8 + len("gbtree") + 160 + 4
	copy(hugeTree[off:], []byte{0xff, 0xff, 0xff, 0x7f})
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"truncated LightGBM text", lgb[:len(lgb)/2], "truncated"},
		{"truncated LightGBM header", lgb[:200], "truncated"},
		{"truncated XGBoost binary", xgb[:len(xgb)-30], "truncated"},
		{"zeros", make([]byte, 1<<20), "zero bytes"},
		{"random bytes", rnd, "binary data of no known model format"},
		{"binf", append([]byte("binf"), rnd[:4096]...), "XGBoost 1.0+ binary (binf header): re-save the model as JSON"},
		{"XGBoost tree count 2^31", bigTrees, "declares 2147483648 trees"},
		{"XGBoost tree count 2^31-1", maxTrees, "declares 2147483647 trees"},
		{"XGBoost node count 2^31-1", hugeTree, "declares 2147483647 nodes"},
		{"LightGBM num_leaves 2^31", bytes.Replace(lgb, []byte("num_leaves=31"), []byte("num_leaves=2147483648"), 1), "num_leaves"},
		{"LightGBM tree_sizes 10^6", bytes.Replace(lgb, []byte("tree_sizes="), []byte("tree_sizes="+strings.Repeat("1 ", 1_000_000)), 1), "over the limit"},
		{"LightGBM 100 MiB line", append([]byte("tree\nversion=v4\nfeature_names="), bytes.Repeat([]byte("a"), 100<<20)...), "line too long"},
		{"LightGBM split on feature 99", bytes.Replace(lgb, []byte("split_feature=0 0 0 2"), []byte("split_feature=99 0 0 2"), 1), "feature 99"},
		{"LightGBM cycle", bytes.Replace(lgb, []byte("left_child=1 7 8"), []byte("left_child=1 0 8"), 1), "child node 0"},
		{"pickle", append([]byte{0x80, 4}, rnd[:100]...), "pickle"},
	}
	for _, c := range cases {
		refusedQuickly(t, c.name, bytes.NewReader(c.data), int64(len(c.data)), Options{}, c.want)
	}
}

// TestSparse2GB: a 2 GiB sparse file is refused from its size alone, and
// with a limit above its size, from its first bytes (zeros).
func TestSparse2GB(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sparse.model")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(2 << 30); err != nil {
		t.Skipf("cannot make a sparse file here: %v", err)
	}
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	refusedQuickly(t, "2 GiB sparse, default limit", f, st.Size(), Options{}, "over the 256.0 MiB limit")
	refusedQuickly(t, "2 GiB sparse, 4 GiB limit", f, st.Size(), Options{Limits: Limits{MaxBytes: 4 << 30}}, "zero bytes")
}
