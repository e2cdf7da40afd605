package datasets_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/datasets/local"
)

// storeFactory returns a new, empty store for one test case.
type storeFactory func(t *testing.T) datasets.Store

// TestStoreConformance runs the same cases against every backend:
// TestStoreConformance/local/<case> and TestStoreConformance/s3/<case>.
func TestStoreConformance(t *testing.T) {
	t.Run("local", func(t *testing.T) {
		runConformance(t, func(t *testing.T) datasets.Store {
			s, err := local.New(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			return s
		})
	})
	t.Run("s3", func(t *testing.T) {
		runConformance(t, s3Factory(t))
	})
}

var conformanceCases = []struct {
	name string
	fn   func(t *testing.T, s datasets.Store)
}{
	{"roundtrip_small", testRoundTripSmall},
	{"roundtrip_100MiB", testRoundTripLarge},
	{"unknown_size", testUnknownSize},
	{"ranged_read", testRangedRead},
	{"not_found", testNotFound},
	{"sorted_listing", testSortedListing},
	{"prefix_isolation", testPrefixIsolation},
	{"hidden_temporaries", testHiddenTemporaries},
	{"overwrite", testOverwrite},
	{"conditional_put", testConditionalPut},
	{"concurrent_if_absent", testConcurrentIfAbsent},
	{"concurrent_compare_and_swap", testConcurrentCAS},
	{"cancellation", testCancellation},
	{"invalid_keys", testInvalidKeys},
	{"delete", testDelete},
	{"temporaries", testTemporaries},
}

func runConformance(t *testing.T, newStore storeFactory) {
	for _, c := range conformanceCases {
		t.Run(c.name, func(t *testing.T) {
			c.fn(t, newStore(t))
		})
	}
}

func put(t *testing.T, s datasets.Store, key string, b []byte) datasets.ObjectInfo {
	t.Helper()
	info, err := datasets.PutBytes(context.Background(), s, key, b, datasets.PutOptions{})
	if err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
	return info
}

func keys(infos []datasets.ObjectInfo) []string {
	out := []string{}
	for _, i := range infos {
		out = append(out, i.Key)
	}
	return out
}

func testRoundTripSmall(t *testing.T, s datasets.Store) {
	ctx := context.Background()
	for _, b := range [][]byte{{}, []byte("x"), []byte("hello, prevoir\n")} {
		key := fmt.Sprintf("small/obj-%d", len(b))
		info := put(t, s, key, b)
		if info.Size != int64(len(b)) || info.ETag == "" {
			t.Fatalf("put info = %+v, want size %d and an ETag", info, len(b))
		}
		got, err := datasets.ReadAll(ctx, s, key)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, b) {
			t.Fatalf("read %q, want %q", got, b)
		}
		st, err := s.Stat(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if st.Size != int64(len(b)) || st.ETag != info.ETag || st.Key != key {
			t.Fatalf("stat = %+v, want size %d etag %s", st, len(b), info.ETag)
		}
		if time.Since(st.ModTime) > time.Hour || time.Until(st.ModTime) > time.Hour {
			t.Fatalf("stat modtime %v is not now", st.ModTime)
		}
	}
}

// patterned returns a deterministic reader of n pseudo-random bytes.
func patterned(n int64, seed int64) io.Reader {
	return io.LimitReader(rand.New(rand.NewSource(seed)), n)
}

func testRoundTripLarge(t *testing.T, s datasets.Store) {
	ctx := context.Background()
	const n = 100 << 20
	h := sha256.New()
	io.Copy(h, patterned(n, 7))
	want := h.Sum(nil)
	if _, err := s.Put(ctx, "large/blob", patterned(n, 7), n, datasets.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	o, err := s.Open(ctx, "large/blob")
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if o.Size() != n {
		t.Fatalf("size %d, want %d", o.Size(), n)
	}
	h.Reset()
	if m, err := io.Copy(h, o); err != nil || m != n {
		t.Fatalf("read %d bytes, err %v", m, err)
	}
	if !bytes.Equal(h.Sum(nil), want) {
		t.Fatal("100 MiB object came back different")
	}
}

func testUnknownSize(t *testing.T, s datasets.Store) {
	ctx := context.Background()
	const n = 3<<20 + 17
	var buf bytes.Buffer
	io.Copy(&buf, patterned(n, 3))
	// io.MultiReader hides the length: the backend must stream.
	info, err := s.Put(ctx, "unknown/size", io.MultiReader(bytes.NewReader(buf.Bytes())), -1, datasets.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if info.Size != n {
		t.Fatalf("size %d, want %d", info.Size, n)
	}
	got, err := datasets.ReadAll(ctx, s, "unknown/size")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, buf.Bytes()) {
		t.Fatal("content differs")
	}
}

func testRangedRead(t *testing.T, s datasets.Store) {
	ctx := context.Background()
	b := make([]byte, 1<<20)
	rand.New(rand.NewSource(1)).Read(b)
	put(t, s, "ranged/obj", b)
	o, err := s.Open(ctx, "ranged/obj")
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	for _, r := range []struct{ off, n int }{{0, 10}, {len(b) - 8, 8}, {12345, 4096}, {len(b) / 2, 1}} {
		p := make([]byte, r.n)
		if _, err := o.ReadAt(p, int64(r.off)); err != nil {
			t.Fatalf("ReadAt(%d, %d): %v", r.off, r.n, err)
		}
		if !bytes.Equal(p, b[r.off:r.off+r.n]) {
			t.Fatalf("ReadAt(%d, %d) returned wrong bytes", r.off, r.n)
		}
	}
	// Reading past the end returns what exists and io.EOF.
	p := make([]byte, 16)
	n, err := o.ReadAt(p, int64(len(b)-4))
	if n != 4 || err != io.EOF {
		t.Fatalf("ReadAt past end: n=%d err=%v, want 4, EOF", n, err)
	}
	// Seek then Read.
	if pos, err := o.Seek(-100, io.SeekEnd); err != nil || pos != int64(len(b)-100) {
		t.Fatalf("Seek end: %d %v", pos, err)
	}
	tail, err := io.ReadAll(o)
	if err != nil || !bytes.Equal(tail, b[len(b)-100:]) {
		t.Fatalf("read after seek: %d bytes, %v", len(tail), err)
	}
	if _, err := o.Seek(500, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	p = make([]byte, 50)
	if _, err := io.ReadFull(o, p); err != nil || !bytes.Equal(p, b[500:550]) {
		t.Fatalf("read after seek start: %v", err)
	}
}

func testNotFound(t *testing.T, s datasets.Store) {
	ctx := context.Background()
	put(t, s, "present/a", []byte("a"))
	for _, k := range []string{"missing", "present/b", "present/a/deeper", "present"} {
		if _, err := s.Open(ctx, k); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Open(%q) err = %v, want fs.ErrNotExist", k, err)
		}
		if _, err := s.Stat(ctx, k); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Stat(%q) err = %v, want fs.ErrNotExist", k, err)
		}
	}
	if objs, err := s.List(ctx, "nothing/here/"); err != nil || len(objs) != 0 {
		t.Errorf("List of an absent prefix = %v, %v; want empty, nil", keys(objs), err)
	}
}

func testSortedListing(t *testing.T, s datasets.Store) {
	ctx := context.Background()
	// Byte order puts "a-b" and "a.b" before "a/b", unlike a folder walk.
	// (A key and a key below it, "a" and "a/b", cannot both be objects on
	// a file system, so the suite never stores both.)
	want := []string{"l/a-b", "l/a.b", "l/a/b", "l/aa", "l/b", "l/month=2011-01/part-1", "l/month=2011-02/part-0", "l/z", "l/\u00e9"}
	shuffled := append([]string(nil), want...)
	rand.New(rand.NewSource(2)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	for _, k := range shuffled {
		put(t, s, k, []byte(k))
	}
	got, err := s.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if !sort.SliceIsSorted(got, func(i, j int) bool { return got[i].Key < got[j].Key }) {
		t.Fatalf("List not sorted: %v", keys(got))
	}
	if fmt.Sprint(keys(got)) != fmt.Sprint(want) {
		t.Fatalf("List = %v\nwant  %v", keys(got), want)
	}
	for _, o := range got {
		if o.Size != int64(len(o.Key)) {
			t.Errorf("List size of %s = %d, want %d", o.Key, o.Size, len(o.Key))
		}
	}
}

func testPrefixIsolation(t *testing.T, s datasets.Store) {
	ctx := context.Background()
	for _, k := range []string{"p/a/1", "p/a/2", "p/ab/1", "p/b/1", "q/a/1"} {
		put(t, s, k, []byte("x"))
	}
	for prefix, want := range map[string][]string{
		"p/a/": {"p/a/1", "p/a/2"},
		"p/a":  {"p/a/1", "p/a/2", "p/ab/1"},
		"p/":   {"p/a/1", "p/a/2", "p/ab/1", "p/b/1"},
		"q":    {"q/a/1"},
		"r/":   {},
	} {
		got, err := s.List(ctx, prefix)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(keys(got)) != fmt.Sprint(want) {
			t.Errorf("List(%q) = %v, want %v", prefix, keys(got), want)
		}
	}
}

// blockingReader yields some bytes, then blocks until released.
type blockingReader struct {
	sent    bool
	started chan struct{}
	release chan struct{}
}

func (b *blockingReader) Read(p []byte) (int, error) {
	if !b.sent {
		b.sent = true
		close(b.started)
		n := copy(p, bytes.Repeat([]byte("t"), 1024))
		return n, nil
	}
	<-b.release
	return 0, io.EOF
}

func testHiddenTemporaries(t *testing.T, s datasets.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	put(t, s, "h/visible", []byte("v"))
	br := &blockingReader{started: make(chan struct{}), release: make(chan struct{})}
	done := make(chan error, 1)
	go func() {
		_, err := s.Put(ctx, "h/inflight", br, -1, datasets.PutOptions{})
		done <- err
	}()
	<-br.started
	time.Sleep(50 * time.Millisecond)
	got, err := s.List(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(keys(got)) != "[h/visible]" {
		t.Fatalf("List during a Put = %v, want only h/visible", keys(got))
	}
	if _, err := s.Stat(context.Background(), "h/inflight"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Stat of an unfinished object: %v, want not exist", err)
	}
	close(br.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	got, _ = s.List(context.Background(), "")
	if fmt.Sprint(keys(got)) != "[h/inflight h/visible]" {
		t.Fatalf("List after the Put = %v", keys(got))
	}
}

func testOverwrite(t *testing.T, s datasets.Store) {
	ctx := context.Background()
	a := put(t, s, "o/k", []byte("first"))
	b := put(t, s, "o/k", []byte("second version"))
	if a.ETag == b.ETag {
		t.Fatal("ETag did not change with the content")
	}
	got, _ := datasets.ReadAll(ctx, s, "o/k")
	if string(got) != "second version" {
		t.Fatalf("got %q", got)
	}
}

func testConditionalPut(t *testing.T, s datasets.Store) {
	ctx := context.Background()
	first, err := datasets.PutBytes(ctx, s, "c/k", []byte("one"), datasets.PutOptions{IfAbsent: true})
	if err != nil {
		t.Fatalf("IfAbsent on a new key: %v", err)
	}
	if _, err := datasets.PutBytes(ctx, s, "c/k", []byte("two"), datasets.PutOptions{IfAbsent: true}); !errors.Is(err, datasets.ErrPreconditionFailed) {
		t.Fatalf("IfAbsent on an existing key: %v, want ErrPreconditionFailed", err)
	}
	if _, err := datasets.PutBytes(ctx, s, "c/k", []byte("two"), datasets.PutOptions{IfMatch: "not-the-etag"}); !errors.Is(err, datasets.ErrPreconditionFailed) {
		t.Fatalf("IfMatch with a wrong ETag: %v, want ErrPreconditionFailed", err)
	}
	if got, _ := datasets.ReadAll(ctx, s, "c/k"); string(got) != "one" {
		t.Fatalf("a failed conditional Put changed the object to %q", got)
	}
	second, err := datasets.PutBytes(ctx, s, "c/k", []byte("two"), datasets.PutOptions{IfMatch: first.ETag})
	if err != nil {
		t.Fatalf("IfMatch with the current ETag: %v", err)
	}
	if _, err := datasets.PutBytes(ctx, s, "c/k", []byte("three"), datasets.PutOptions{IfMatch: first.ETag}); !errors.Is(err, datasets.ErrPreconditionFailed) {
		t.Fatalf("IfMatch with a stale ETag: %v, want ErrPreconditionFailed", err)
	}
	if _, err := datasets.PutBytes(ctx, s, "c/missing", []byte("x"), datasets.PutOptions{IfMatch: second.ETag}); !errors.Is(err, datasets.ErrPreconditionFailed) {
		t.Fatalf("IfMatch on a missing key: %v, want ErrPreconditionFailed", err)
	}
	if _, err := s.Stat(ctx, "c/missing"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("failed IfMatch created the key: %v", err)
	}
	st, _ := s.Stat(ctx, "c/k")
	if st.ETag != second.ETag {
		t.Fatalf("Stat ETag %s, Put ETag %s", st.ETag, second.ETag)
	}
}

func testConcurrentIfAbsent(t *testing.T, s datasets.Store) {
	ctx := context.Background()
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, errs[i] = datasets.PutBytes(ctx, s, "race/key", []byte("writer "+strconv.Itoa(i)), datasets.PutOptions{IfAbsent: true})
		}(i)
	}
	wg.Wait()
	winners := 0
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil:
			winners++
			winner = i
		case !errors.Is(err, datasets.ErrPreconditionFailed):
			t.Errorf("writer %d: %v", i, err)
		}
	}
	if winners != 1 {
		t.Fatalf("%d writers won, want exactly 1", winners)
	}
	got, _ := datasets.ReadAll(ctx, s, "race/key")
	if string(got) != "writer "+strconv.Itoa(winner) {
		t.Fatalf("stored %q, winner was %d", got, winner)
	}
}

// testConcurrentCAS increments a counter from 8 goroutines with
// compare-and-swap: no update may be lost.
func testConcurrentCAS(t *testing.T, s datasets.Store) {
	ctx := context.Background()
	put(t, s, "cas/counter", []byte("0"))
	const workers, each = 8, 5
	var wg sync.WaitGroup
	errc := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for done := 0; done < each; {
				st, err := s.Stat(ctx, "cas/counter")
				if err != nil {
					errc <- err
					return
				}
				b, err := datasets.ReadAll(ctx, s, "cas/counter")
				if err != nil {
					errc <- err
					return
				}
				v, _ := strconv.Atoi(string(b))
				// The content read may be newer than the Stat: then the
				// ETag is stale and the Put fails, which is what we want.
				_, err = datasets.PutBytes(ctx, s, "cas/counter", []byte(strconv.Itoa(v+1)), datasets.PutOptions{IfMatch: st.ETag})
				if errors.Is(err, datasets.ErrPreconditionFailed) {
					continue
				}
				if err != nil {
					errc <- err
					return
				}
				done++
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	b, _ := datasets.ReadAll(ctx, s, "cas/counter")
	if string(b) != strconv.Itoa(workers*each) {
		t.Fatalf("counter = %s, want %d: updates were lost", b, workers*each)
	}
}

func testCancellation(t *testing.T, s datasets.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := datasets.PutBytes(ctx, s, "x/cancelled", []byte("x"), datasets.PutOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("Put with a cancelled context: %v, want context.Canceled", err)
	}
	if _, err := s.Open(ctx, "x/cancelled"); err == nil {
		t.Error("Open with a cancelled context succeeded")
	}
	if _, err := s.List(ctx, ""); err == nil {
		t.Error("List with a cancelled context succeeded")
	}
	// A Put cancelled mid-stream leaves nothing behind.
	ctx2, cancel2 := context.WithCancel(context.Background())
	br := &blockingReader{started: make(chan struct{}), release: make(chan struct{})}
	done := make(chan error, 1)
	go func() {
		_, err := s.Put(ctx2, "x/midstream", br, -1, datasets.PutOptions{})
		done <- err
	}()
	<-br.started
	cancel2()
	close(br.release)
	select {
	case err := <-done:
		if err == nil {
			t.Error("Put cancelled mid-stream succeeded")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Put did not return after cancellation")
	}
	if _, err := s.Stat(context.Background(), "x/midstream"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("cancelled Put left an object: %v", err)
	}
	if objs, _ := s.List(context.Background(), ""); len(objs) != 0 {
		t.Errorf("cancelled Puts left objects: %v", keys(objs))
	}
}

func testInvalidKeys(t *testing.T, s datasets.Store) {
	ctx := context.Background()
	for _, k := range []string{"", "..", "a/../b", "../escape", "/abs", "a//b", "a/", "./a", "a/.", ".prevoir-tmp", "a\\b", "a\x00b"} {
		if _, err := datasets.PutBytes(ctx, s, k, []byte("x"), datasets.PutOptions{}); !errors.Is(err, datasets.ErrInvalidKey) {
			t.Errorf("Put(%q): %v, want ErrInvalidKey", k, err)
		}
		if _, err := s.Open(ctx, k); !errors.Is(err, datasets.ErrInvalidKey) {
			t.Errorf("Open(%q): %v, want ErrInvalidKey", k, err)
		}
		if _, err := s.Stat(ctx, k); !errors.Is(err, datasets.ErrInvalidKey) {
			t.Errorf("Stat(%q): %v, want ErrInvalidKey", k, err)
		}
		if err := s.Delete(ctx, k); !errors.Is(err, datasets.ErrInvalidKey) {
			t.Errorf("Delete(%q): %v, want ErrInvalidKey", k, err)
		}
	}
	if objs, _ := s.List(ctx, ""); len(objs) != 0 {
		t.Errorf("invalid keys stored objects: %v", keys(objs))
	}
}

func testDelete(t *testing.T, s datasets.Store) {
	ctx := context.Background()
	put(t, s, "d/a/1", []byte("1"))
	put(t, s, "d/a/2", []byte("2"))
	if err := s.Delete(ctx, "d/a/1"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "d/a/1"); err != nil {
		t.Fatalf("deleting a missing key: %v", err)
	}
	if err := s.Delete(ctx, "never/was"); err != nil {
		t.Fatalf("deleting a never-stored key: %v", err)
	}
	got, _ := s.List(ctx, "d/")
	if fmt.Sprint(keys(got)) != "[d/a/2]" {
		t.Fatalf("after delete: %v", keys(got))
	}
	if err := s.Delete(ctx, "d/a/2"); err != nil {
		t.Fatal(err)
	}
	// The key space is empty again and reusable.
	put(t, s, "d/a", []byte("now an object"))
	if got, _ := s.List(ctx, ""); fmt.Sprint(keys(got)) != "[d/a]" {
		t.Fatalf("reuse after delete: %v", keys(got))
	}
}

// stallingReader yields n bytes, then blocks until release is closed and
// fails: a writer killed mid-Put.
type stallingReader struct {
	n       int64
	started chan struct{}
	release chan struct{}
	once    sync.Once
}

func (r *stallingReader) Read(p []byte) (int, error) {
	if r.n > 0 {
		k := min(int64(len(p)), r.n)
		r.n -= k
		return int(k), nil
	}
	r.once.Do(func() { close(r.started) })
	<-r.release
	return 0, errors.New("writer killed")
}

// testTemporaries: a Put that stalls leaves a temporary that List hides
// and Temporaries shows (a killed writer's leftover); RemoveTemporary
// removes it, and refuses a key that names an object.
func testTemporaries(t *testing.T, s datasets.Store) {
	ctx := context.Background()
	sc, ok := s.(datasets.Scavenger)
	if !ok {
		t.Fatalf("%T does not implement datasets.Scavenger", s)
	}
	put(t, s, "tmp/visible", []byte("v"))
	if got, err := sc.Temporaries(ctx, ""); err != nil || len(got) != 0 {
		t.Fatalf("Temporaries of a quiet store = %v, %v", got, err)
	}
	// More than one S3 part, so the upload is multipart and stays open.
	r := &stallingReader{n: 17 << 20, started: make(chan struct{}), release: make(chan struct{})}
	done := make(chan error, 1)
	go func() {
		_, err := s.Put(ctx, "tmp/stalled", r, -1, datasets.PutOptions{})
		done <- err
	}()
	<-r.started
	var temps []datasets.ObjectInfo
	// Listed by the object's own key as prefix: MinIO lists incomplete
	// uploads only by exact object name (AWS S3 by any prefix).
	for try := 0; try < 100; try++ {
		var err error
		if temps, err = sc.Temporaries(ctx, "tmp/stalled"); err != nil {
			t.Fatal(err)
		}
		if len(temps) > 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(temps) != 1 || len(temps[0].Key) < 4 || temps[0].Key[:4] != "tmp/" || temps[0].ModTime.IsZero() {
		t.Fatalf("Temporaries during a stalled Put = %+v, want one under tmp/", temps)
	}
	if got, _ := sc.Temporaries(ctx, "other/"); len(got) != 0 {
		t.Fatalf("Temporaries(other/) = %v", got)
	}
	if objs, _ := s.List(ctx, ""); fmt.Sprint(keys(objs)) != "[tmp/visible]" {
		t.Fatalf("List shows %v", keys(objs))
	}
	if err := sc.RemoveTemporary(ctx, temps[0].Key); err != nil {
		t.Fatal(err)
	}
	if got, err := sc.Temporaries(ctx, ""); err != nil || len(got) != 0 {
		t.Fatalf("Temporaries after RemoveTemporary = %v, %v", got, err)
	}
	close(r.release)
	if err := <-done; err == nil {
		t.Fatal("a Put whose body failed succeeded")
	}
	if err := sc.RemoveTemporary(ctx, "tmp/visible"); err == nil {
		if _, serr := s.Stat(ctx, "tmp/visible"); serr != nil {
			t.Fatalf("RemoveTemporary removed an object: %v", serr)
		}
	}
}
