package publish_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/datasets/local"
	"github.com/prevoir/prevoir/datasets/privacy"
	"github.com/prevoir/prevoir/serve/publish"
)

// scaler is a task the publisher knows nothing about: input rows
// (id string, x float64) become (id, x*factor, label) in a main table
// "scores" and, for even x, a second table "evens" (id, x).
type scaler struct{ factor float64 }

func (s scaler) Tables() []publish.TableSpec {
	return []publish.TableSpec{
		{Name: "scores", SortBy: "id", Customer: "id", Columns: []publish.Column{
			{Name: "id", Type: publish.TypeString}, {Name: "value", Type: publish.TypeDouble}, {Name: "n", Type: publish.TypeInt64}}},
		{Name: "evens", SortBy: "id", Customer: "id", Columns: []publish.Column{
			{Name: "id", Type: publish.TypeString}, {Name: "x", Type: publish.TypeDouble}}},
	}
}

func (s scaler) Score(_ context.Context, in [][]any, emit func(int, []any) error) error {
	for _, r := range in {
		x := r[1].(float64)
		var n any = int64(x)
		if x == 3 {
			n = nil
		}
		if err := emit(0, []any{r[0], x * s.factor, n}); err != nil {
			return err
		}
		if int(x)%2 == 0 {
			if err := emit(1, []any{r[0], x}); err != nil {
				return err
			}
		}
	}
	return nil
}

// source yields rows c<i> with x = i, in reverse id order.
func source(n int) publish.Source {
	return func(ctx context.Context, fn func([]any) error) error {
		for i := n - 1; i >= 0; i-- {
			if err := fn([]any{fmt.Sprintf("c%03d", i), float64(i)}); err != nil {
				return err
			}
		}
		return nil
	}
}

func newStore(t *testing.T) datasets.Store {
	st, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func opts(asOf, format string) publish.Options {
	return publish.Options{Dataset: "d", Task: "toy", AsOf: asOf, Format: format, PartRows: 7, PrevoirVersion: "test",
		Lineage: publish.Lineage{Params: map[string]any{"factor": 2}, Notes: []string{"toy"}}}
}

// read returns the rows of a table of the publication a reader resolves,
// as text.
func read(t *testing.T, st datasets.Store, asOf, table string) ([]string, *publish.Manifest, error) {
	t.Helper()
	m, err := publish.Resolve(context.Background(), st, "d", "toy", asOf)
	if err != nil {
		return nil, nil, err
	}
	var rows []string
	err = publish.Rows(context.Background(), st, m, table, func(r []any) error {
		rows = append(rows, strings.TrimSpace(fmt.Sprintln(r...)))
		return nil
	})
	return rows, m, err
}

func TestPublishRoundTrip(t *testing.T) {
	for _, format := range []string{publish.FormatParquet, publish.FormatCSV} {
		t.Run(format, func(t *testing.T) {
			st := newStore(t)
			m, err := publish.Publish(context.Background(), st, opts("2024-05-01", format), source(20), scaler{2})
			if err != nil {
				t.Fatal(err)
			}
			if m.Rows != 20 || len(m.Tables) != 2 || m.Tables[1].Rows != 10 || len(m.Tables[0].Parts) != 3 {
				t.Fatalf("manifest rows %d, tables %d, evens %d, parts %d", m.Rows, len(m.Tables), m.Tables[1].Rows, len(m.Tables[0].Parts))
			}
			rows, got, err := read(t, st, "latest", "")
			if err != nil {
				t.Fatal(err)
			}
			if got.Run != m.Run || got.Params["factor"] != float64(2) || got.Format != format || got.PrevoirVersion != "test" {
				t.Errorf("read manifest %+v", got)
			}
			if len(rows) != 20 || rows[0] != "c000 0 0" || rows[3] != "c003 6 <nil>" || rows[19] != "c019 38 19" {
				t.Errorf("rows not sorted by id or wrong: %q", rows)
			}
			evens, _, err := read(t, st, "2024-05-01", "evens")
			if err != nil || len(evens) != 10 || evens[1] != "c002 2" {
				t.Errorf("evens %q, %v", evens, err)
			}
			for _, p := range m.Tables[0].Parts {
				if !strings.Contains(p.Key, m.Run) || !strings.HasSuffix(p.Key, "."+format) || !strings.HasPrefix(p.Key, "scores/d/toy/2024-05-01/scores/part-") {
					t.Errorf("part key %s", p.Key)
				}
			}
		})
	}
}

func TestExport(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	m, err := publish.Publish(ctx, st, opts("2024-05-01", ""), source(4), scaler{0.5})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	skip := func(id string) bool { return id == "c001" }
	if n, err := publish.Export(ctx, st, m, &b, publish.ExportOptions{Skip: skip}); err != nil || n != 3 {
		t.Fatalf("csv: %d rows, %v", n, err)
	}
	if want := "id,value,n\nc000,0,0\nc002,1,2\nc003,1.5,\n"; b.String() != want {
		t.Errorf("csv:\n%s\nwant:\n%s", b.String(), want)
	}
	b.Reset()
	if _, err := publish.Export(ctx, st, m, &b, publish.ExportOptions{Format: publish.ExportJSONL, Table: "evens"}); err != nil {
		t.Fatal(err)
	}
	if want := "{\"id\":\"c000\",\"x\":0}\n{\"id\":\"c002\",\"x\":2}\n"; b.String() != want {
		t.Errorf("jsonl:\n%s\nwant:\n%s", b.String(), want)
	}
	b.Reset()
	if n, err := publish.Export(ctx, st, m, &b, publish.ExportOptions{Format: publish.ExportParquet}); err != nil || n != 4 {
		t.Fatalf("parquet: %d, %v", n, err)
	}
	f, err := parquet.OpenFile(bytes.NewReader(b.Bytes()), int64(b.Len()))
	if err != nil || f.NumRows() != 4 {
		t.Fatalf("parquet export: %v", err)
	}
	var names []string
	for _, c := range f.Schema().Fields() {
		names = append(names, c.Name())
	}
	if strings.Join(names, ",") != "id,value,n" {
		t.Errorf("parquet columns %v, want id,value,n in order", names)
	}
	var fe *datasets.FieldError
	if _, err := publish.Export(ctx, st, m, &b, publish.ExportOptions{Format: "xlsx"}); !errors.As(err, &fe) || fe.Field != "Format" {
		t.Errorf("bad format: %v", err)
	}
}

// TestRerunReplaces: a rerun of the same as_of replaces the publication;
// a reader that read the first manifest still reads all of its parts
// until store gc, which then collects exactly the replaced parts.
func TestRerunReplaces(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	a, err := publish.Publish(ctx, st, opts("2024-05-01", ""), source(10), scaler{2})
	if err != nil {
		t.Fatal(err)
	}
	b, err := publish.Publish(ctx, st, opts("2024-05-01", ""), source(12), scaler{3})
	if err != nil {
		t.Fatal(err)
	}
	rows, m, err := read(t, st, "", "")
	if err != nil || m.Run != b.Run || len(rows) != 12 || rows[1] != "c001 3 1" {
		t.Fatalf("after rerun: run %s (want %s), rows %q, %v", m.Run, b.Run, rows, err)
	}
	var n int
	if err := publish.Rows(ctx, st, a, "", func([]any) error { n++; return nil }); err != nil || n != 10 {
		t.Errorf("the first run's manifest no longer reads: %d rows, %v", n, err)
	}
	rep, err := datasets.Collect(ctx, st, []datasets.GCLayer{publish.GCLayer()}, datasets.GCOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := len(a.Tables[0].Parts) + len(a.Tables[1].Parts); len(rep.Removed) != want {
		t.Errorf("gc removed %d objects, want the first run's %d parts", len(rep.Removed), want)
	}
	for _, it := range rep.Removed {
		if !strings.Contains(it.Key, a.Run) {
			t.Errorf("gc removed %s, not a part of the replaced run", it.Key)
		}
	}
	if rows, _, err := read(t, st, "", ""); err != nil || len(rows) != 12 {
		t.Errorf("after gc: %d rows, %v", len(rows), err)
	}
}

// pausingStore holds the first Put of a key with suffix until released.
type pausingStore struct {
	datasets.Store
	suffix           string
	once             sync.Once
	reached, release chan struct{}
}

func (p *pausingStore) Put(ctx context.Context, key string, r io.Reader, size int64, o datasets.PutOptions) (datasets.ObjectInfo, error) {
	if strings.HasSuffix(key, p.suffix) {
		p.once.Do(func() { close(p.reached); <-p.release })
	}
	return p.Store.Put(ctx, key, r, size, o)
}

// TestReaderNeverSeesMix: while a rerun has written its parts and waits
// before its manifest, readers see the first publication whole; after,
// the rerun's whole.
func TestReaderNeverSeesMix(t *testing.T) {
	base := newStore(t)
	ctx := context.Background()
	if _, err := publish.Publish(ctx, base, opts("2024-05-01", ""), source(10), scaler{2}); err != nil {
		t.Fatal(err)
	}
	want1, _, _ := read(t, base, "", "")
	ps := &pausingStore{Store: base, suffix: "_manifest.json", reached: make(chan struct{}), release: make(chan struct{})}
	done := make(chan error)
	go func() {
		_, err := publish.Publish(ctx, ps, opts("2024-05-01", ""), source(15), scaler{5})
		done <- err
	}()
	<-ps.reached
	got, _, err := read(t, base, "", "")
	if err != nil || strings.Join(got, "|") != strings.Join(want1, "|") {
		t.Errorf("during the rerun, reader saw %q (%v), want the first publication", got, err)
	}
	close(ps.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	got, _, err = read(t, base, "", "")
	if err != nil || len(got) != 15 || got[2] != "c002 10 2" {
		t.Errorf("after the rerun: %q, %v", got, err)
	}
}

// failingStore fails the nth Put (counting from 1) and every later one.
type failingStore struct {
	datasets.Store
	n, puts atomic.Int64
}

func (f *failingStore) Put(ctx context.Context, key string, r io.Reader, size int64, o datasets.PutOptions) (datasets.ObjectInfo, error) {
	if f.puts.Add(1) >= f.n.Load() {
		return datasets.ObjectInfo{}, fmt.Errorf("put %s: injected failure", key)
	}
	return f.Store.Put(ctx, key, r, size, o)
}

// TestFailAtEveryPut: a rerun failing at each of its Puts leaves readers
// the first publication whole (or the rerun's, once its manifest is in),
// deletes its own parts when its manifest did not go in, and a clean
// rerun then completes.
func TestFailAtEveryPut(t *testing.T) {
	ctx := context.Background()
	for n := int64(1); ; n++ {
		base := newStore(t)
		if _, err := publish.Publish(ctx, base, opts("2024-05-01", ""), source(10), scaler{2}); err != nil {
			t.Fatal(err)
		}
		first, _, _ := read(t, base, "", "")
		fs := &failingStore{Store: base}
		fs.n.Store(n)
		m, err := publish.Publish(ctx, fs, opts("2024-05-02", ""), source(16), scaler{3})
		if err == nil {
			if n < 6 {
				t.Fatalf("put %d: no error, but the publication needs 6 puts", n)
			}
			break
		}
		got, cur, rerr := read(t, base, "", "")
		if rerr != nil || strings.Join(got, "|") != strings.Join(first, "|") || cur.AsOf != "2024-05-01" {
			t.Errorf("fail at put %d: LATEST reader saw %d rows as of %v (%v), want the first publication", n, len(got), cur, rerr)
		}
		if m == nil {
			// The manifest did not go in: none of the rerun's parts remain.
			objs, _ := base.List(ctx, "scores/d/toy/2024-05-02/")
			if len(objs) != 0 {
				t.Errorf("fail at put %d: %d objects left: %v", n, len(objs), objs[0].Key)
			}
		} else if rows, _, err := read(t, base, "2024-05-02", ""); err != nil || len(rows) != 16 {
			t.Errorf("fail at put %d: manifest in, but %d rows (%v)", n, len(rows), err)
		}
		if _, err := publish.Publish(ctx, base, opts("2024-05-02", ""), source(16), scaler{3}); err != nil {
			t.Fatalf("fail at put %d: clean rerun: %v", n, err)
		}
		if rows, cur, err := read(t, base, "", ""); err != nil || len(rows) != 16 || cur.AsOf != "2024-05-02" {
			t.Errorf("fail at put %d: after the rerun %d rows, %v", n, len(rows), err)
		}
	}
}

// TestConflict: two runs of one as_of from the same base; the one whose
// compare-and-swap loses removes its parts and says so; the winner stands.
func TestConflict(t *testing.T) {
	base := newStore(t)
	ctx := context.Background()
	ps := &pausingStore{Store: base, suffix: "_manifest.json", reached: make(chan struct{}), release: make(chan struct{})}
	done := make(chan error)
	go func() {
		_, err := publish.Publish(ctx, ps, opts("2024-05-01", ""), source(15), scaler{5})
		done <- err
	}()
	<-ps.reached
	won, err := publish.Publish(ctx, base, opts("2024-05-01", ""), source(10), scaler{2})
	if err != nil {
		t.Fatal(err)
	}
	close(ps.release)
	if err := <-done; !errors.Is(err, datasets.ErrConflict) {
		t.Fatalf("loser: %v, want ErrConflict", err)
	}
	rows, m, err := read(t, base, "", "")
	if err != nil || m.Run != won.Run || len(rows) != 10 {
		t.Fatalf("after the race: %d rows of run %v, %v", len(rows), m, err)
	}
	objs, _ := base.List(ctx, "scores/")
	for _, o := range objs {
		if datasets.IsPart(o.Key) && !strings.Contains(o.Key, won.Run) {
			t.Errorf("the loser left %s", o.Key)
		}
	}
}

func TestLatestNeverMovesBack(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	for _, d := range []string{"2024-05-02", "2024-05-01"} {
		if _, err := publish.Publish(ctx, st, opts(d, ""), source(3), scaler{1}); err != nil {
			t.Fatal(err)
		}
	}
	p, err := publish.ReadLatest(ctx, st, "d", "toy")
	if err != nil || p.AsOf != "2024-05-02" {
		t.Errorf("LATEST = %v, %v; want 2024-05-02", p, err)
	}
	es, err := publish.List(ctx, st, "", "")
	if err != nil || len(es) != 2 || es[0].AsOf != "2024-05-01" || es[0].Latest || !es[1].Latest {
		t.Errorf("list = %+v, %v", es, err)
	}
}

func TestNoPublication(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	if _, err := publish.Resolve(ctx, st, "d", "toy", ""); !errors.Is(err, publish.ErrNoPublication) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("latest of nothing: %v", err)
	}
	if _, err := publish.Publish(ctx, st, opts("2024-05-01", ""), source(3), scaler{1}); err != nil {
		t.Fatal(err)
	}
	if _, err := publish.Resolve(ctx, st, "d", "toy", "2024-04-01"); !errors.Is(err, publish.ErrNoPublication) {
		t.Errorf("missing as_of: %v", err)
	}
	var fe *datasets.FieldError
	if _, err := publish.Resolve(ctx, st, "d", "toy", "yesterday"); !errors.As(err, &fe) {
		t.Errorf("bad as_of: %v", err)
	}
}

// TestForgottenNeverPublished: the publisher drops a forgotten customer's
// rows from every table with a customer column, whatever the scorer emits.
func TestForgottenNeverPublished(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	noop := privacy.RewriterFunc{Name: "none", Func: func(context.Context, privacy.IDs) ([]privacy.Rewrite, error) { return nil, nil }}
	if _, err := privacy.Forget(ctx, st, []string{"c002"}, time.Now(), noop); err != nil {
		t.Fatal(err)
	}
	m, err := publish.Publish(ctx, st, opts("2024-05-01", ""), source(5), scaler{1})
	if err != nil {
		t.Fatal(err)
	}
	if m.Rows != 4 || m.Suppressed != 1 || m.Tables[1].Rows != 2 {
		t.Errorf("rows %d, suppressed %d, evens %d", m.Rows, m.Suppressed, m.Tables[1].Rows)
	}
	for _, tb := range []string{"scores", "evens"} {
		rows, _, _ := read(t, st, "", tb)
		for _, r := range rows {
			if strings.HasPrefix(r, "c002") {
				t.Errorf("%s holds the forgotten customer: %s", tb, r)
			}
		}
	}
}

func TestRetain(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	for _, d := range []string{"2024-05-01", "2024-05-02", "2024-05-03", "2024-05-04"} {
		if _, err := publish.Publish(ctx, st, opts(d, ""), source(3), scaler{1}); err != nil {
			t.Fatal(err)
		}
	}
	// LATEST stays on 05-04; keep 2 keeps 05-04 and 05-03.
	rm, err := publish.Retain(ctx, st, 2, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(rm) != 2 || rm[0].AsOf != "2024-05-02" || rm[1].AsOf != "2024-05-01" {
		t.Errorf("removed %+v", rm)
	}
	es, _ := publish.List(ctx, st, "", "")
	if len(es) != 2 || es[0].AsOf != "2024-05-03" {
		t.Errorf("left %+v", es)
	}
	objs, _ := st.List(ctx, "scores/d/toy/2024-05-01/")
	if len(objs) != 0 {
		t.Errorf("left %d objects of a removed publication", len(objs))
	}
	// LATEST is never removed, even beyond keep.
	if err := publish.MoveLatest(ctx, st, "d", "toy", "2024-05-03", "x", time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := publish.Retain(ctx, st, 1, false); err != nil {
		t.Fatal(err)
	}
	if _, _, err := read(t, st, "", ""); err != nil {
		t.Errorf("LATEST's publication removed: %v", err)
	}
	if _, err := publish.Retain(ctx, st, 0, false); err == nil {
		t.Error("keep 0 accepted")
	}
}

// shardSource yields the rows of source(n) whose index is i mod shards.
func shardSource(n, i, shards int) publish.Source {
	return func(ctx context.Context, fn func([]any) error) error {
		return source(n)(ctx, func(r []any) error {
			if int(r[1].(float64))%shards != i {
				return nil
			}
			return fn(r)
		})
	}
}

// TestShardedCommit: shards write receipts that store gc keeps; the
// commit refuses while a shard is missing, naming it; once all are in,
// the publication exports byte for byte as an unsharded run's, and the
// spent receipts and shard parts are gone.
func TestShardedCommit(t *testing.T) {
	ctx := context.Background()
	plain := newStore(t)
	if _, err := publish.Publish(ctx, plain, opts("2024-05-01", ""), source(30), scaler{2}); err != nil {
		t.Fatal(err)
	}
	export := func(st datasets.Store, table string) string {
		m, err := publish.Resolve(ctx, st, "d", "toy", "")
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if _, err := publish.Export(ctx, st, m, &b, publish.ExportOptions{Table: table}); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	st := newStore(t)
	for _, i := range []int{0, 2} {
		o := opts("2024-05-01", "")
		o.Shard, o.Shards = i, 3
		if _, err := publish.Publish(ctx, st, o, shardSource(30, i, 3), scaler{2}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := publish.Resolve(ctx, st, "d", "toy", ""); !errors.Is(err, publish.ErrNoPublication) {
		t.Errorf("a shard published: %v", err)
	}
	_, err := publish.Commit(ctx, st, "d", "toy", "2024-05-01", 3, publish.CommitOptions{})
	if !errors.Is(err, publish.ErrShardsMissing) || !strings.Contains(err.Error(), "missing: 1") {
		t.Fatalf("commit without shard 1: %v", err)
	}
	rep, err := datasets.Collect(ctx, st, []datasets.GCLayer{publish.GCLayer()}, datasets.GCOptions{})
	if err != nil || len(rep.Removed) != 0 {
		t.Fatalf("gc removed pending shards' parts: %+v, %v", rep.Removed, err)
	}
	o := opts("2024-05-01", "")
	o.Shard, o.Shards = 1, 3
	if _, err := publish.Publish(ctx, st, o, shardSource(30, 1, 3), scaler{2}); err != nil {
		t.Fatal(err)
	}
	m, err := publish.Commit(ctx, st, "d", "toy", "2024-05-01", 3, publish.CommitOptions{PartRows: 7})
	if err != nil {
		t.Fatal(err)
	}
	if m.Rows != 30 || m.Shards != 3 {
		t.Errorf("committed %d rows, %d shards", m.Rows, m.Shards)
	}
	for _, tb := range []string{"scores", "evens"} {
		if got, want := export(st, tb), export(plain, tb); got != want {
			t.Errorf("%s: sharded export differs from the unsharded one:\n%s\nwant:\n%s", tb, got, want)
		}
	}
	objs, _ := st.List(ctx, "scores/")
	for _, ob := range objs {
		if strings.Contains(ob.Key, "/_shards/") || datasets.IsPart(ob.Key) && !strings.Contains(ob.Key, m.Run) {
			t.Errorf("left after commit: %s", ob.Key)
		}
	}
	// A rerun of the commit (say after a kill during its cleanup) finds
	// it done.
	again, err := publish.Commit(ctx, st, "d", "toy", "2024-05-01", 3, publish.CommitOptions{})
	if err != nil || again.Run != m.Run {
		t.Errorf("second commit: %v, %v; want run %s", again, err, m.Run)
	}
}

// TestShardedCommitBadPart: a shard part changed since its receipt makes
// the commit fail naming it, before any manifest; the commit's merged
// parts are removed and the shards stay for a rerun.
func TestShardedCommitBadPart(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	var receipts []*publish.Manifest
	for i := range 3 {
		o := opts("2024-05-01", "")
		o.Shard, o.Shards = i, 3
		r, err := publish.Publish(ctx, st, o, shardSource(30, i, 3), scaler{2})
		if err != nil {
			t.Fatal(err)
		}
		receipts = append(receipts, r)
	}
	ps := receipts[2].Tables[0].Parts
	bad := ps[len(ps)-1].Key // read after merged parts were written (PartRows 4)
	if _, err := datasets.PutBytes(ctx, st, bad, []byte("not the part"), datasets.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err := publish.Commit(ctx, st, "d", "toy", "2024-05-01", 3, publish.CommitOptions{PartRows: 4})
	if err == nil || !strings.Contains(err.Error(), bad) {
		t.Fatalf("commit over a changed part: %v, want an error naming %s", err, bad)
	}
	if _, err := publish.Resolve(ctx, st, "d", "toy", ""); !errors.Is(err, publish.ErrNoPublication) {
		t.Errorf("after the failed commit: %v, want no publication", err)
	}
	listed := map[string]bool{}
	for _, r := range receipts {
		for _, tb := range r.Tables {
			for _, p := range tb.Parts {
				listed[p.Key] = true
			}
		}
	}
	objs, _ := st.List(ctx, "scores/")
	for _, ob := range objs {
		if datasets.IsPart(ob.Key) && !listed[ob.Key] {
			t.Errorf("the failed commit left %s", ob.Key)
		}
	}
}

func TestShardsDisagree(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	for i := 0; i < 2; i++ {
		o := opts("2024-05-01", "")
		o.Shard, o.Shards = i, 2
		o.Lineage.Model = &publish.ModelRef{Name: "m", Version: i + 1}
		if _, err := publish.Publish(ctx, st, o, shardSource(10, i, 2), scaler{2}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := publish.Commit(ctx, st, "d", "toy", "2024-05-01", 2, publish.CommitOptions{}); err == nil || !strings.Contains(err.Error(), "different models") {
		t.Errorf("commit of shards scored by two models: %v", err)
	}
}
