package datasets_test

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/datasets/local"
)

// dying simulates a process killed at the commit: the Put of a key with
// this suffix fails (after storing when stored is set: a lost reply), and
// once it has, deletes do nothing (the process is gone).
type dying struct {
	datasets.Store
	suffix string
	stored bool
	mu     sync.Mutex
	dead   bool
}

var errKilled = errors.New("killed by the test")

func (d *dying) Put(ctx context.Context, key string, r io.Reader, size int64, o datasets.PutOptions) (datasets.ObjectInfo, error) {
	if strings.HasSuffix(key, d.suffix) {
		d.mu.Lock()
		d.dead = true
		d.mu.Unlock()
		if d.stored {
			d.Store.Put(ctx, key, r, size, o)
		}
		return datasets.ObjectInfo{}, errKilled
	}
	return d.Store.Put(ctx, key, r, size, o)
}

func (d *dying) Delete(ctx context.Context, key string) error {
	d.mu.Lock()
	dead := d.dead
	d.mu.Unlock()
	if dead && !d.stored {
		return nil
	}
	return d.Store.Delete(ctx, key)
}

func localStore(t *testing.T) (*local.Store, string) {
	dir := t.TempDir()
	st, err := local.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	return st, dir
}

// prepared writes rows to a table and returns its prepared next version.
func prepared[T any](t *testing.T, st datasets.Store, tab *datasets.Table[T], rows []T, base *datasets.Manifest) (*datasets.Writer[T], *datasets.Manifest) {
	t.Helper()
	w, err := datasets.NewWriter(st, tab, datasets.WriterOptions{Dataset: "d", SpillRows: 100})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(context.Background(), rows); err != nil {
		t.Fatal(err)
	}
	m, err := w.Prepare(context.Background(), datasets.CommitOptions{Base: base, Operation: "test", TZ: "UTC"})
	if err != nil {
		t.Fatal(err)
	}
	return w, m
}

func customers(n int) []datasets.Customer {
	out := make([]datasets.Customer, n)
	for i := range out {
		out[i] = datasets.Customer{CustomerID: "C" + string(rune('a'+i%26)) + strings.Repeat("x", i%7)}
	}
	return out
}

// checkCommitted reads every committed manifest of dataset d: each part
// exists, and Validate finds no problem.
func checkCommitted(t *testing.T, st datasets.Store) {
	t.Helper()
	ctx := context.Background()
	tables, err := datasets.ListTables(ctx, st, "d")
	if err != nil {
		t.Fatal(err)
	}
	if len(tables) == 0 {
		return
	}
	if _, err := datasets.Validate(ctx, st, "d"); err != nil {
		t.Fatal(err)
	}
}

// TestCommitTablesTogether: two tables prepared by two writers are
// invisible until the one commit of the dataset, then visible together;
// a kill at that commit leaves neither visible.
func TestCommitTablesTogether(t *testing.T) {
	ctx := context.Background()
	st, _ := localStore(t)
	ko := &dying{Store: st, suffix: "_dataset.json"}
	wo, mo := prepared(t, ko, datasets.Orders, synthOrders(500, 1), nil)
	wc, mc := prepared(t, ko, datasets.Customers, customers(60), nil)
	if tabs, _ := datasets.ListTables(ctx, st, "d"); len(tabs) != 0 {
		t.Fatalf("tables visible before the commit: %v", tabs)
	}
	committed, err := datasets.CommitTables(ctx, ko, "d", "r1", []datasets.TableVersion{{Next: mo}, {Next: mc}}, time.Now())
	if !errors.Is(err, errKilled) || committed {
		t.Fatalf("commit killed: committed %v, %v", committed, err)
	}
	wo.Settle(ctx, committed)
	wc.Settle(ctx, committed)
	if tabs, _ := datasets.ListTables(ctx, st, "d"); len(tabs) != 0 {
		t.Fatalf("tables visible after a killed commit: %v", tabs)
	}
	if names, _ := datasets.ListDatasets(ctx, st); len(names) != 0 {
		t.Fatalf("datasets after a killed commit: %v", names)
	}

	wo, mo = prepared(t, st, datasets.Orders, synthOrders(500, 1), nil)
	wc, mc = prepared(t, st, datasets.Customers, customers(60), nil)
	committed, err = datasets.CommitTables(ctx, st, "d", "r2", []datasets.TableVersion{{Next: mo}, {Next: mc}}, time.Now())
	if err != nil || !committed {
		t.Fatal(committed, err)
	}
	wo.Settle(ctx, committed)
	wc.Settle(ctx, committed)
	if tabs, _ := datasets.ListTables(ctx, st, "d"); !slices.Equal(tabs, []string{"orders", "customers"}) && !slices.Equal(tabs, []string{"customers", "orders"}) {
		t.Fatalf("tables after the commit: %v", tabs)
	}
	checkCommitted(t, st)
	// _manifest.json is the committed version's copy.
	cur, err := datasets.ReadManifestKey(ctx, st, datasets.ManifestKey("d", "orders"))
	if err != nil || cur.Run != mo.Run {
		t.Fatalf("_manifest.json: %v, %v", cur, err)
	}
}

// TestCommitLostReply: the commit's Put succeeds but its reply is lost.
// The writer must not delete the parts the committed manifest lists.
func TestCommitLostReply(t *testing.T) {
	ctx := context.Background()
	st, _ := localStore(t)
	ko := &dying{Store: st, suffix: "_dataset.json", stored: true}
	w, err := datasets.NewWriter(ko, datasets.Orders, datasets.WriterOptions{Dataset: "d"})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(ctx, synthOrders(300, 2))
	m, err := w.Commit(ctx, datasets.CommitOptions{Operation: "test"})
	if !errors.Is(err, errKilled) || m == nil {
		t.Fatalf("commit with a lost reply: %v, %v", m, err)
	}
	checkCommitted(t, st)
}

// TestConcurrentCommits: imports of different tables at once all land
// (a commit merges the others'); of one table from one base, one wins and
// the others fail with ErrConflict having deleted only their own parts.
func TestConcurrentCommits(t *testing.T) {
	ctx := context.Background()
	st, _ := localStore(t)
	writeAll(t, st, synthOrders(100, 3), datasets.WriterOptions{Dataset: "d"}, 100)
	base, err := datasets.ReadManifest(ctx, st, "d", "orders")
	if err != nil {
		t.Fatal(err)
	}
	const n = 6
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if i%2 == 0 {
				w, _ := datasets.NewWriter(st, datasets.Orders, datasets.WriterOptions{Dataset: "d"})
				w.Write(ctx, synthOrders(200, uint64(10+i)))
				_, errs[i] = w.Commit(ctx, datasets.CommitOptions{Base: base, Operation: "test"})
				return
			}
			cw, _ := datasets.NewWriter(st, datasets.Customers, datasets.WriterOptions{Dataset: "d"})
			cw.Write(ctx, customers(10+i))
			var cb *datasets.Manifest
			for try := 0; try < 20; try++ {
				cb, _ = datasets.ReadManifest(ctx, st, "d", "customers")
				_, errs[i] = cw.Commit(ctx, datasets.CommitOptions{Base: cb, Operation: "test"})
				if !errors.Is(errs[i], datasets.ErrConflict) {
					return
				}
				cw, _ = datasets.NewWriter(st, datasets.Customers, datasets.WriterOptions{Dataset: "d"})
				cw.Write(ctx, customers(10+i))
			}
		}(i)
	}
	wg.Wait()
	won := 0
	for i, err := range errs {
		switch {
		case err == nil && i%2 == 0:
			won++
		case err != nil && i%2 == 0 && !errors.Is(err, datasets.ErrConflict):
			t.Errorf("orders commit %d: %v", i, err)
		case err != nil && i%2 == 1:
			t.Errorf("customers commit %d: %v", i, err)
		}
	}
	if won != 1 {
		t.Fatalf("%d orders commits from one base won, want 1", won)
	}
	m, _ := datasets.ReadManifest(ctx, st, "d", "customers")
	if m == nil || m.Rows != 11+13+15 {
		t.Fatalf("customers: %+v, want the rows of all %d commits", m, n/2)
	}
	checkCommitted(t, st)
	// The losers deleted their parts: only orphans left are none.
	vs, _ := datasets.Validate(ctx, st, "d")
	for _, v := range vs {
		if len(v.Orphans) != 0 {
			t.Errorf("%s: orphans %v", v.Table, v.Orphans)
		}
	}
}

// TestCollect: a killed writer's parts, a version kept but never
// committed, and a temporary are orphans: validate reports them, gc spares
// them under --min-age, removes exactly them at 0s, and every committed
// part stays.
func TestCollect(t *testing.T) {
	ctx := context.Background()
	st, dir := localStore(t)
	writeAll(t, st, synthOrders(300, 4), datasets.WriterOptions{Dataset: "d", SpillRows: 100}, 100)
	base, _ := datasets.ReadManifest(ctx, st, "d", "orders")
	committed, _ := st.List(ctx, "")

	// A writer killed before its commit: parts only.
	w, _ := datasets.NewWriter(st, datasets.Orders, datasets.WriterOptions{Dataset: "d", SpillRows: 100})
	w.Write(ctx, synthOrders(200, 5))
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	// A writer killed at the commit: parts and a kept copy.
	ko := &dying{Store: st, suffix: "_dataset.json"}
	w2, _ := datasets.NewWriter(ko, datasets.Orders, datasets.WriterOptions{Dataset: "d", SpillRows: 100})
	w2.Write(ctx, synthOrders(200, 6))
	if _, err := w2.Commit(ctx, datasets.CommitOptions{Base: base, Operation: "test"}); !errors.Is(err, errKilled) {
		t.Fatal(err)
	}
	// A Put killed mid-write.
	tmp := filepath.Join(dir, "datasets", "d", "orders", ".prevoir-tmp-0123456789ab-part-x.parquet")
	if err := os.WriteFile(tmp, []byte("half"), 0o600); err != nil {
		t.Fatal(err)
	}
	all, _ := st.List(ctx, "")
	orphans := len(all) - len(committed) + 1

	vs, err := datasets.Validate(ctx, st, "d")
	if err != nil || len(vs) != 1 || len(vs[0].Orphans) != orphans {
		t.Fatalf("validate: %v orphans (want %d), %v", vs, orphans, err)
	}
	layers := []datasets.GCLayer{datasets.DatasetsGCLayer()}
	rep, err := datasets.Collect(ctx, st, layers, datasets.GCOptions{MinAge: time.Hour})
	if err != nil || len(rep.Removed) != 0 {
		t.Fatalf("gc with a 1h grace removed %v, %v", rep, err)
	}
	rep, err = datasets.Collect(ctx, st, layers, datasets.GCOptions{DryRun: true})
	if err != nil || len(rep.Removed) != orphans {
		t.Fatalf("dry run: %d removed (want %d), %v", len(rep.Removed), orphans, err)
	}
	if now, _ := st.List(ctx, ""); len(now) != len(all) {
		t.Fatal("dry run removed objects")
	}
	rep, err = datasets.Collect(ctx, st, layers, datasets.GCOptions{})
	if err != nil || len(rep.Removed) != orphans || rep.Bytes == 0 {
		t.Fatalf("gc: %d removed (want %d), %d bytes, %v", len(rep.Removed), orphans, rep.Bytes, err)
	}
	after, _ := st.List(ctx, "")
	if !slices.Equal(keys(after), keys(committed)) {
		t.Fatalf("after gc:\n%v\nwant the committed objects:\n%v", keys(after), keys(committed))
	}
	if _, err := os.Stat(tmp); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("temporary left: %v", err)
	}
	checkCommitted(t, st)
}

// TestLegacyDataset: a dataset written before _dataset.json existed (its
// tables' _manifest.json were the commit points, a kept copy lost) reads
// as before, and the next commit adopts it, recovering the copy.
func TestLegacyDataset(t *testing.T) {
	ctx := context.Background()
	st, _ := localStore(t)
	writeAll(t, st, synthOrders(100, 7), datasets.WriterOptions{Dataset: "d"}, 100)
	st.Delete(ctx, datasets.DatasetManifestKey("d"))
	st.Delete(ctx, datasets.HistoryKey("d", "orders", 1))
	m, err := datasets.ReadManifest(ctx, st, "d", "orders")
	if err != nil || m.Seq != 1 {
		t.Fatalf("legacy read: %v, %v", m, err)
	}
	w, _ := datasets.NewWriter(st, datasets.Orders, datasets.WriterOptions{Dataset: "d"})
	w.Write(ctx, synthOrders(50, 8))
	if _, err := w.Commit(ctx, datasets.CommitOptions{Base: m, Operation: "test"}); err != nil {
		t.Fatal(err)
	}
	d, err := datasets.ReadDatasetManifest(ctx, st, "d")
	if err != nil || d.Legacy() || d.Tables["orders"].Seq != 2 {
		t.Fatalf("adopted: %+v, %v", d, err)
	}
	if _, err := datasets.ReadManifestKey(ctx, st, datasets.HistoryKey("d", "orders", 1)); err != nil {
		t.Fatalf("kept copy 1 not recovered: %v", err)
	}
	checkCommitted(t, st)
}
