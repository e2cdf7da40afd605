package features

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/datasets/s3"
	"github.com/prevoir/prevoir/datasets/s3/s3test"
)

func TestMain(m *testing.M) { s3test.Main(m) }

// pausingStore passes every call through, but holds the first Put of a key
// ending in suffix until release is closed (after closing reached).
type pausingStore struct {
	datasets.Store
	suffix  string
	once    sync.Once
	reached chan struct{}
	release chan struct{}
}

func newPausingStore(st datasets.Store, suffix string) *pausingStore {
	return &pausingStore{Store: st, suffix: suffix, reached: make(chan struct{}), release: make(chan struct{})}
}

func (p *pausingStore) Put(ctx context.Context, key string, r io.Reader, size int64, opts datasets.PutOptions) (datasets.ObjectInfo, error) {
	if strings.HasSuffix(key, p.suffix) {
		p.once.Do(func() {
			close(p.reached)
			<-p.release
		})
	}
	return p.Store.Put(ctx, key, r, size, opts)
}

// checkFeatureTables checks that every feature manifest under features/
// lists parts that exist and read with the manifest's row count.
func checkFeatureTables(t *testing.T, st datasets.Store, dataset string) int {
	t.Helper()
	tabs, err := List(context.Background(), st, dataset)
	if err != nil {
		t.Fatal(err)
	}
	for _, tb := range tabs {
		m, err := readManifestKey(context.Background(), st, tb.Key)
		if err != nil {
			t.Fatal(err)
		}
		n := int64(0)
		if err := Rows(context.Background(), st, m, func([]any) error { n++; return nil }); err != nil {
			t.Fatalf("%s: %v", tb.Key, err)
		}
		if n != m.Rows {
			t.Fatalf("%s: %d rows read, manifest says %d", tb.Key, n, m.Rows)
		}
	}
	return len(tabs)
}

// TestInterleavedBuilds: build B writes its parts, then waits before its
// manifest; build A of the same table runs whole; then B commits. Before
// the commit protocol, A deleted B's parts (not in A's manifest) and B then
// committed a manifest listing them: a table that does not read. Now B's
// compare-and-swap fails, B deletes only its own parts and ends with A's
// table.
func TestInterleavedBuilds(t *testing.T) {
	base := newStore(t)
	randomHistory(3, 150).write(t, base, "d", 97)
	o := Options{Dataset: "d", AsOf: "2024-03-01", Labels: true}
	ctx := context.Background()
	pb := newPausingStore(base, "_manifest.json")
	type out struct {
		r   *Result
		err error
	}
	bDone := make(chan out, 1)
	go func() {
		r, err := Build(ctx, pb, o)
		bDone <- out{r, err}
	}()
	<-pb.reached
	a := mustBuild(t, base, o)
	close(pb.release)
	b := <-bDone
	if b.err != nil {
		t.Fatalf("build B: %v", b.err)
	}
	if !b.r.Reused || b.r.Manifest.Run != a.Manifest.Run {
		t.Fatalf("build B ended with run %s (reused %v), want A's table %s", b.r.Manifest.Run, b.r.Reused, a.Manifest.Run)
	}
	checkFeatureTables(t, base, "d")
	objs, err := base.List(ctx, "features/")
	if err != nil {
		t.Fatal(err)
	}
	for _, ob := range objs {
		if strings.Contains(ob.Key, "/part-") && !strings.Contains(ob.Key, a.Manifest.Run) {
			t.Errorf("build B left its part %s", ob.Key)
		}
	}

	// A build from other inputs that loses the race is a clear error.
	pc := newPausingStore(base, "_manifest.json")
	oc := o
	oc.Force = true
	cDone := make(chan out, 1)
	go func() {
		r, err := Build(ctx, pc, oc)
		cDone <- out{r, err}
	}()
	<-pc.reached
	// Another dataset version of orders: A2 commits a table from it.
	more := randomHistory(4, 20)
	w, err := datasets.NewWriter(base, datasets.Orders, datasets.WriterOptions{Dataset: "d"})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(ctx, more.orders)
	prev, _ := datasets.ReadManifest(ctx, base, "d", "orders")
	if _, err := w.Commit(ctx, datasets.CommitOptions{Base: prev, Operation: "test", TZ: "UTC"}); err != nil {
		t.Fatal(err)
	}
	mustBuild(t, base, o)
	close(pc.release)
	c := <-cDone
	if !errors.Is(c.err, datasets.ErrConflict) {
		t.Fatalf("build from older inputs after a newer commit: %v, want ErrConflict", c.err)
	}
	checkFeatureTables(t, base, "d")
}

// TestConcurrentBuilds races N builds of one table (Force: each writes its
// own parts) on a local folder and on MinIO: each ends with a committed
// table, and every manifest's parts exist and read.
func TestConcurrentBuilds(t *testing.T) {
	for _, backend := range []string{"local", "s3"} {
		t.Run(backend, func(t *testing.T) {
			var st datasets.Store
			if backend == "local" {
				st = newStore(t)
			} else {
				srv := s3test.Start(t)
				var err error
				st, err = s3.New(context.Background(), srv.NewBucket(t), "race", srv.Config())
				if err != nil {
					t.Fatal(err)
				}
			}
			randomHistory(9, 120).write(t, st, "d", 50)
			o := Options{Dataset: "d", AsOf: "2024-03-01", Labels: true, Force: true}
			const n = 6
			var wg sync.WaitGroup
			errs := make([]error, n)
			for i := 0; i < n; i++ {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					_, errs[i] = Build(context.Background(), st, o)
				}(i)
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Errorf("build %d: %v", i, err)
				}
			}
			if got := checkFeatureTables(t, st, "d"); got != 1 {
				t.Fatalf("%d feature tables, want 1", got)
			}
		})
	}
}
