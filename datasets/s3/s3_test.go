package s3_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/datasets/s3"
	"github.com/prevoir/prevoir/datasets/s3/s3test"
)

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		os.Exit(helperProcess())
	}
	if os.Getenv(bigPutEnv) != "" {
		os.Exit(bigPutProcess())
	}
	s3test.Main(m)
}

// newStore opens a store on a fresh bucket of the shared server.
func newStore(t *testing.T, prefix string) (*s3.Store, *s3test.Server, string) {
	t.Helper()
	srv := s3test.Start(t)
	bucket := srv.NewBucket(t)
	st, err := s3.New(context.Background(), bucket, prefix, srv.Config())
	if err != nil {
		t.Fatal(err)
	}
	return st, srv, bucket
}

// countingTransport counts requests and response body bytes.
type countingTransport struct {
	base      http.RoundTripper
	requests  atomic.Int64
	bodyBytes atomic.Int64
}

func newCountingTransport() *countingTransport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DisableCompression = true
	return &countingTransport{base: tr}
}

func (c *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	c.requests.Add(1)
	resp, err := c.base.RoundTrip(req)
	if err == nil {
		resp.Body = &countingBody{ReadCloser: resp.Body, n: &c.bodyBytes}
	}
	return resp, err
}

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}

func TestReadWriteListDelete(t *testing.T) {
	st, srv, bucket := newStore(t, "some/prefix")
	ctx := context.Background()
	if got, want := st.URL(), "s3://"+bucket+"/some/prefix"; got != want {
		t.Errorf("URL = %q, want %q", got, want)
	}

	content := []byte("0123456789abcdefghij")
	info, err := datasets.PutBytes(ctx, st, "a/b.bin", content, datasets.PutOptions{ContentType: "application/octet-stream"})
	if err != nil {
		t.Fatal(err)
	}
	if info.Key != "a/b.bin" || info.Size != int64(len(content)) || info.ETag == "" || strings.Contains(info.ETag, `"`) || info.ModTime.IsZero() {
		t.Errorf("Put info = %+v", info)
	}
	// The object lives under prefix + "/" + key.
	if _, err := srv.Client().StatObject(ctx, bucket, "some/prefix/a/b.bin", minio.StatObjectOptions{}); err != nil {
		t.Errorf("object not stored under the prefix: %v", err)
	}

	si, err := st.Stat(ctx, "a/b.bin")
	if err != nil {
		t.Fatal(err)
	}
	if si.Size != info.Size || si.ETag != info.ETag || si.ModTime.IsZero() {
		t.Errorf("Stat = %+v, Put returned %+v", si, info)
	}

	got, err := datasets.ReadAll(ctx, st, "a/b.bin")
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("ReadAll = %q, %v", got, err)
	}

	o, err := st.Open(ctx, "a/b.bin")
	if err != nil {
		t.Fatal(err)
	}
	if o.Size() != int64(len(content)) {
		t.Errorf("Size = %d", o.Size())
	}
	buf := make([]byte, 4)
	if n, err := o.ReadAt(buf, 10); n != 4 || err != nil || string(buf) != "abcd" {
		t.Errorf("ReadAt(4, 10) = %d, %v, %q", n, err, buf)
	}
	if n, err := o.ReadAt(buf, 18); n != 2 || err != io.EOF || string(buf[:n]) != "ij" {
		t.Errorf("ReadAt at the end = %d, %v, %q; want 2, EOF, \"ij\"", n, err, buf[:n])
	}
	if n, err := o.ReadAt(buf, 20); n != 0 || err != io.EOF {
		t.Errorf("ReadAt past the end = %d, %v; want 0, EOF", n, err)
	}
	if pos, err := o.Seek(-5, io.SeekEnd); pos != 15 || err != nil {
		t.Errorf("Seek(-5, end) = %d, %v", pos, err)
	}
	rest, err := io.ReadAll(o)
	if err != nil || string(rest) != "fghij" {
		t.Errorf("read after Seek = %q, %v", rest, err)
	}
	if _, err := o.Seek(2, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	if n, err := io.ReadFull(o, buf); n != 4 || err != nil || string(buf) != "2345" {
		t.Errorf("read after Seek(2) = %q, %v", buf[:n], err)
	}
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := o.Read(buf); err == nil {
		t.Error("Read after Close succeeded")
	}

	// Missing keys.
	if _, err := st.Stat(ctx, "a/missing"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Stat missing: %v, want fs.ErrNotExist", err)
	}
	if _, err := st.Open(ctx, "a/missing"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open missing: %v, want fs.ErrNotExist", err)
	} else {
		t.Logf("Open missing: %v", err)
	}
	if _, err := st.Open(ctx, "a"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open of a key prefix: %v, want fs.ErrNotExist", err)
	}

	// Empty objects.
	if _, err := datasets.PutBytes(ctx, st, "empty", nil, datasets.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if b, err := datasets.ReadAll(ctx, st, "empty"); err != nil || len(b) != 0 {
		t.Errorf("ReadAll(empty) = %q, %v", b, err)
	}

	// List: sorted by bytes, relative keys, hiding temporary objects and
	// what lies outside the prefix.
	for _, k := range []string{"a/c", "a-b", "a0", "B", "a/b/c"} {
		if _, err := datasets.PutBytes(ctx, st, k, []byte(k), datasets.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"some/prefix/a/.prevoir-tmp-1", "some/prefix/.prevoir-x/y", "some/prefixed", "other/a", "some/prefix/dir/"} {
		if _, err := srv.Client().PutObject(ctx, bucket, name, strings.NewReader("x"), 1, minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	list, err := st.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, oi := range list {
		keys = append(keys, oi.Key)
		if oi.ETag == "" || oi.ModTime.IsZero() {
			t.Errorf("List entry %+v lacks ETag or ModTime", oi)
		}
	}
	if got, want := strings.Join(keys, " "), "B a-b a/b.bin a/b/c a/c a0 empty"; got != want {
		t.Errorf("List(\"\") = %s\nwant         %s", got, want)
	}
	list, err = st.List(ctx, "a/")
	if err != nil {
		t.Fatal(err)
	}
	keys = keys[:0]
	for _, oi := range list {
		keys = append(keys, oi.Key)
	}
	if got, want := strings.Join(keys, " "), "a/b.bin a/b/c a/c"; got != want {
		t.Errorf("List(\"a/\") = %s, want %s", got, want)
	}
	if _, err := st.List(ctx, "../"); !errors.Is(err, datasets.ErrInvalidKey) {
		t.Errorf("List(\"../\") = %v, want ErrInvalidKey", err)
	}

	// Delete, twice.
	for i := 0; i < 2; i++ {
		if err := st.Delete(ctx, "a/b.bin"); err != nil {
			t.Fatalf("Delete #%d: %v", i+1, err)
		}
	}
	if _, err := st.Stat(ctx, "a/b.bin"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Stat after Delete: %v", err)
	}
}

func TestInvalidKeysDoNoIO(t *testing.T) {
	srv := s3test.Start(t)
	ctr := newCountingTransport()
	cfg := srv.Config()
	cfg.Transport = ctr
	st, err := s3.New(context.Background(), srv.Bucket, "p", cfg)
	if err != nil {
		t.Fatal(err)
	}
	before := ctr.requests.Load()
	ctx := context.Background()
	for _, key := range []string{"", "/a", "a/", "a//b", "..", "a/../b", ".prevoir-tmp", "a\x00b"} {
		if _, err := st.Stat(ctx, key); !errors.Is(err, datasets.ErrInvalidKey) {
			t.Errorf("Stat(%q) = %v", key, err)
		}
		if _, err := st.Open(ctx, key); !errors.Is(err, datasets.ErrInvalidKey) {
			t.Errorf("Open(%q) = %v", key, err)
		}
		if _, err := datasets.PutBytes(ctx, st, key, []byte("x"), datasets.PutOptions{}); !errors.Is(err, datasets.ErrInvalidKey) {
			t.Errorf("Put(%q) = %v", key, err)
		}
		if err := st.Delete(ctx, key); !errors.Is(err, datasets.ErrInvalidKey) {
			t.Errorf("Delete(%q) = %v", key, err)
		}
	}
	if n := ctr.requests.Load() - before; n != 0 {
		t.Errorf("invalid keys made %d requests", n)
	}
}

func TestConditionalPut(t *testing.T) {
	st, _, _ := newStore(t, "cas")
	ctx := context.Background()
	put := func(key, body string, size int64, opts datasets.PutOptions) (datasets.ObjectInfo, error) {
		return st.Put(ctx, key, strings.NewReader(body), size, opts)
	}
	v1, err := put("k", "one", 3, datasets.PutOptions{IfAbsent: true})
	if err != nil {
		t.Fatalf("IfAbsent on a new key: %v", err)
	}
	for _, size := range []int64{3, -1} {
		_, err := put("k", "two", size, datasets.PutOptions{IfAbsent: true})
		if !errors.Is(err, datasets.ErrPreconditionFailed) {
			t.Fatalf("IfAbsent on an existing key (size %d) = %v, want ErrPreconditionFailed", size, err)
		}
		t.Logf("IfAbsent on an existing key (size %d): %v", size, err)
	}
	for _, size := range []int64{3, -1} {
		_, err := put("k", "two", size, datasets.PutOptions{IfMatch: "0123456789abcdef0123456789abcdef"})
		if !errors.Is(err, datasets.ErrPreconditionFailed) {
			t.Fatalf("IfMatch with a wrong ETag (size %d) = %v, want ErrPreconditionFailed", size, err)
		}
		t.Logf("IfMatch with a wrong ETag (size %d): %v", size, err)
	}
	_, err = put("nothing", "two", 3, datasets.PutOptions{IfMatch: v1.ETag})
	if !errors.Is(err, datasets.ErrPreconditionFailed) {
		t.Fatalf("IfMatch on a missing key = %v, want ErrPreconditionFailed", err)
	}
	t.Logf("IfMatch on a missing key: %v", err)
	if _, err := st.Stat(ctx, "nothing"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a failed IfMatch created the key: %v", err)
	}
	if b, _ := datasets.ReadAll(ctx, st, "k"); string(b) != "one" {
		t.Fatalf("failed conditional Puts changed the object to %q", b)
	}
	v2, err := put("k", "two", 3, datasets.PutOptions{IfMatch: v1.ETag})
	if err != nil {
		t.Fatalf("IfMatch with the current ETag: %v", err)
	}
	if v2.ETag == v1.ETag {
		t.Errorf("ETag unchanged by a new content: %s", v2.ETag)
	}
	if _, err := put("k", "three", -1, datasets.PutOptions{IfMatch: v2.ETag}); err != nil {
		t.Fatalf("IfMatch with the current ETag, unknown size: %v", err)
	}
	if _, err := put("k", "four", 4, datasets.PutOptions{IfMatch: v2.ETag}); !errors.Is(err, datasets.ErrPreconditionFailed) {
		t.Fatalf("IfMatch with a stale ETag = %v", err)
	}
	if b, _ := datasets.ReadAll(ctx, st, "k"); string(b) != "three" {
		t.Fatalf("content = %q, want three", b)
	}
	if _, err := put("k", "x", 1, datasets.PutOptions{IfAbsent: true, IfMatch: v2.ETag}); err == nil {
		t.Error("IfAbsent with IfMatch succeeded")
	}
}

// An open object reads the version Open saw, or fails.
func TestObjectPinnedToVersion(t *testing.T) {
	st, _, _ := newStore(t, "")
	ctx := context.Background()
	if _, err := datasets.PutBytes(ctx, st, "k", []byte("version one"), datasets.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	o, err := st.Open(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if _, err := datasets.PutBytes(ctx, st, "k", []byte("version two"), datasets.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 3)
	_, err = o.ReadAt(buf, 0)
	if !errors.Is(err, datasets.ErrChanged) {
		t.Errorf("ReadAt of an overwritten object = %v, want datasets.ErrChanged", err)
	}
	t.Logf("ReadAt of an overwritten object: %v", err)
	if b, err := datasets.ReadAll(ctx, st, "k"); err != nil || string(b) != "version two" {
		t.Errorf("ReadAll after the change = %q, %v", b, err)
	}
}

// IfMatch compare-and-swap from 8 goroutines on one ETag: one wins.
func TestIfMatchRace(t *testing.T) {
	st, _, _ := newStore(t, "p")
	ctx := context.Background()
	v0, err := datasets.PutBytes(ctx, st, "k", []byte("start"), datasets.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	const n = 8
	var wins, losses atomic.Int64
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, err := datasets.PutBytes(ctx, st, "k", []byte(fmt.Sprintf("writer %d", i)), datasets.PutOptions{IfMatch: v0.ETag})
			switch {
			case err == nil:
				wins.Add(1)
			case errors.Is(err, datasets.ErrPreconditionFailed):
				losses.Add(1)
			default:
				t.Errorf("writer %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 || losses.Load() != n-1 {
		t.Errorf("%d wins, %d losses; want 1 and %d", wins.Load(), losses.Load(), n-1)
	}
}

const helperEnv = "PREVOIR_S3_TEST_HELPER"

// helperProcess is the child of TestIfAbsentProcesses: it waits for the
// start time, tries a conditional Put, and prints "won" or "lost".
func helperProcess() int {
	cfg := s3.Config{
		Endpoint:        os.Getenv("HELPER_ENDPOINT"),
		AccessKeyID:     s3test.AccessKey,
		SecretAccessKey: s3test.SecretKey,
		Region:          s3test.Region,
	}
	ctx := context.Background()
	st, err := s3.New(ctx, os.Getenv("HELPER_BUCKET"), "race", cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	startNanos, _ := strconv.ParseInt(os.Getenv("HELPER_START"), 10, 64)
	time.Sleep(time.Until(time.Unix(0, startNanos)))
	body := "written by " + os.Getenv(helperEnv)
	_, err = datasets.PutBytes(ctx, st, "k", []byte(body), datasets.PutOptions{IfAbsent: true})
	switch {
	case err == nil:
		fmt.Println("won")
	case errors.Is(err, datasets.ErrPreconditionFailed):
		fmt.Println("lost")
	default:
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// 8 processes race an IfAbsent Put on one key: exactly one wins.
func TestIfAbsentProcesses(t *testing.T) {
	st, srv, bucket := newStore(t, "race")
	const n = 8
	start := time.Now().Add(2 * time.Second) // time for the children to start and connect
	cmds := make([]*exec.Cmd, n)
	outs := make([]bytes.Buffer, n)
	for i := range n {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(),
			helperEnv+"="+strconv.Itoa(i),
			"HELPER_ENDPOINT="+srv.Endpoint,
			"HELPER_BUCKET="+bucket,
			"HELPER_START="+strconv.FormatInt(start.UnixNano(), 10),
		)
		cmd.Stdout = &outs[i]
		cmd.Stderr = &outs[i]
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds[i] = cmd
	}
	winner := -1
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Errorf("child %d: %v: %s", i, err, outs[i].String())
			continue
		}
		switch out := strings.TrimSpace(outs[i].String()); out {
		case "won":
			if winner >= 0 {
				t.Errorf("children %d and %d both won", winner, i)
			}
			winner = i
		case "lost":
		default:
			t.Errorf("child %d said %q", i, out)
		}
	}
	if winner < 0 {
		t.Fatal("no child won")
	}
	if time.Now().Before(start) {
		t.Fatal("children finished before the start time")
	}
	b, err := datasets.ReadAll(context.Background(), st, "k")
	if err != nil {
		t.Fatal(err)
	}
	if want := "written by " + strconv.Itoa(winner); string(b) != want {
		t.Errorf("content = %q, want %q", b, want)
	}
}

func TestMissingBucket(t *testing.T) {
	srv := s3test.Start(t)
	_, err := s3.New(context.Background(), "no-such-bucket-here", "p", srv.Config())
	if err == nil {
		t.Fatal("New on a missing bucket succeeded")
	}
	t.Logf("missing bucket: %v", err)
	if !strings.Contains(err.Error(), `"no-such-bucket-here"`) || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("error does not name the missing bucket: %v", err)
	}
}

func TestWrongCredentials(t *testing.T) {
	srv := s3test.Start(t)
	for _, region := range []string{s3test.Region, ""} {
		cfg := srv.Config()
		cfg.SecretAccessKey = "not-the-secret"
		cfg.Region = region
		began := time.Now()
		_, err := s3.New(context.Background(), srv.Bucket, "p", cfg)
		took := time.Since(began)
		if err == nil {
			t.Fatal("New with a wrong secret succeeded")
		}
		t.Logf("wrong credentials (region %q, %v): %v", region, took.Round(time.Millisecond), err)
		if !strings.Contains(err.Error(), "credentials refused") || strings.Contains(err.Error(), "\n") {
			t.Errorf("want one line saying credentials were refused, got: %v", err)
		}
		if took > 5*time.Second {
			t.Errorf("took %v to report wrong credentials", took)
		}
	}
}

func TestUnreachableEndpoint(t *testing.T) {
	// A port that was free a moment ago: connection refused.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cfg := s3.Config{Endpoint: "http://" + addr, AccessKeyID: "a", SecretAccessKey: "b", Region: "us-east-1"}
	began := time.Now()
	_, err = s3.New(context.Background(), "bucket", "", cfg)
	took := time.Since(began)
	if err == nil {
		t.Fatal("New on a closed port succeeded")
	}
	t.Logf("unreachable endpoint (%v): %v", took.Round(time.Millisecond), err)
	if !strings.Contains(err.Error(), "cannot reach http://"+addr) || strings.Contains(err.Error(), "\n") {
		t.Errorf("want one line saying the endpoint is unreachable, got: %v", err)
	}
	if took > 5*time.Second {
		t.Errorf("took %v to report an unreachable endpoint", took)
	}
}

func TestConfigErrors(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name   string
		bucket string
		prefix string
		cfg    s3.Config
		want   string
	}{
		{"no bucket", "", "", s3.Config{}, "missing bucket"},
		{"bad prefix", "b", "a/../b", s3.Config{AccessKeyID: "a", SecretAccessKey: "b"}, "prefix"},
		{"bad endpoint", "b", "", s3.Config{Endpoint: "127.0.0.1:9000", AccessKeyID: "a", SecretAccessKey: "b"}, "http:// or https://"},
		{"half a key", "b", "", s3.Config{Endpoint: "http://127.0.0.1:1", AccessKeyID: "a"}, "both"},
		{"missing credentials file", "b", "", s3.Config{Endpoint: "http://127.0.0.1:1", CredentialsFile: "/nonexistent/credentials", Profile: "p"}, `profile "p" of /nonexistent/credentials`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s3.New(ctx, tt.bucket, tt.prefix, tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestCredentialsFile(t *testing.T) {
	srv := s3test.Start(t)
	file := t.TempDir() + "/credentials"
	ini := fmt.Sprintf("[default]\naws_access_key_id = wrong\naws_secret_access_key = wrong\n\n[test]\naws_access_key_id = %s\naws_secret_access_key = %s\n", srv.AccessKey, srv.SecretKey)
	if err := os.WriteFile(file, []byte(ini), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := s3.Config{Endpoint: srv.Endpoint, CredentialsFile: file, Profile: "test", Region: s3test.Region}
	if _, err := s3.New(context.Background(), srv.Bucket, "p", cfg); err != nil {
		t.Errorf("profile test: %v", err)
	}
	cfg.Profile = "" // means "default", whose keys are wrong
	if _, err := s3.New(context.Background(), srv.Bucket, "p", cfg); err == nil {
		t.Error("default profile with wrong keys succeeded")
	}
}

// endless is an infinite stream of bytes.
type endless struct{}

func (endless) Read(p []byte) (int, error) { return len(p), nil }

func TestCancel(t *testing.T) {
	st, _, _ := newStore(t, "p")
	if _, err := datasets.PutBytes(context.Background(), st, "k", []byte("x"), datasets.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := st.Stat(canceled, "k"); !errors.Is(err, context.Canceled) {
		t.Errorf("Stat: %v, want context.Canceled", err)
	}
	if _, err := st.Open(canceled, "k"); !errors.Is(err, context.Canceled) {
		t.Errorf("Open: %v, want context.Canceled", err)
	}
	if _, err := datasets.PutBytes(canceled, st, "k2", []byte("x"), datasets.PutOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("Put: %v, want context.Canceled", err)
	}
	if _, err := st.List(canceled, ""); !errors.Is(err, context.Canceled) {
		t.Errorf("List: %v, want context.Canceled", err)
	}
	if err := st.Delete(canceled, "k"); !errors.Is(err, context.Canceled) {
		t.Errorf("Delete: %v, want context.Canceled", err)
	}

	// A streaming Put of an endless body stops soon after cancel.
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	began := time.Now()
	_, err := st.Put(ctx, "endless", endless{}, -1, datasets.PutOptions{})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("endless Put: %v, want context.DeadlineExceeded", err)
	}
	if took := time.Since(began); took > 5*time.Second {
		t.Errorf("endless Put took %v to stop", took)
	}
	if _, err := st.Stat(context.Background(), "endless"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a canceled Put left an object: %v", err)
	}

	// Reads of an open object use the context of Open.
	ctx, cancel = context.WithCancel(context.Background())
	o, err := st.Open(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if _, err := o.ReadAt(make([]byte, 1), 0); !errors.Is(err, context.Canceled) {
		t.Errorf("ReadAt after cancel: %v, want context.Canceled", err)
	}
}

// pattern is a reproducible stream of n bytes: byte i is
// patternTable[i % len(patternTable)], a table of prime length so that
// parts and ranges never line up with its period.
type pattern struct{ off, n int64 }

var patternTable = func() []byte {
	b := make([]byte, 65521)
	x := uint32(1)
	for i := range b {
		x = x*1664525 + 1013904223 // Numerical Recipes LCG
		b[i] = byte(x >> 24)
	}
	return b
}()

func patternByte(i int64) byte { return patternTable[i%int64(len(patternTable))] }

func (p *pattern) Read(b []byte) (int, error) {
	if p.off >= p.n {
		return 0, io.EOF
	}
	if int64(len(b)) > p.n-p.off {
		b = b[:p.n-p.off]
	}
	n := 0
	for n < len(b) {
		n += copy(b[n:], patternTable[(p.off+int64(n))%int64(len(patternTable)):])
	}
	p.off += int64(n)
	return n, nil
}

// checkTail reads the last 8 bytes of key through a counting transport
// and checks they are right and that only kilobytes crossed the wire.
func checkTail(t *testing.T, srv *s3test.Server, bucket, prefix, key string, size int64) {
	t.Helper()
	ctr := newCountingTransport()
	cfg := srv.Config()
	cfg.Transport = ctr
	st, err := s3.New(context.Background(), bucket, prefix, cfg)
	if err != nil {
		t.Fatal(err)
	}
	o, err := st.Open(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if o.Size() != size {
		t.Fatalf("Size = %d, want %d", o.Size(), size)
	}
	before := ctr.bodyBytes.Load()
	tail := make([]byte, 8)
	if n, err := o.ReadAt(tail, size-8); n != 8 || err != nil {
		t.Fatalf("ReadAt = %d, %v", n, err)
	}
	for i, b := range tail {
		if want := patternByte(size - 8 + int64(i)); b != want {
			t.Fatalf("byte %d = %#x, want %#x", size-8+int64(i), b, want)
		}
	}
	got := ctr.bodyBytes.Load() - before
	t.Logf("ranged read of the last 8 bytes of %d: %d response body bytes", size, got)
	if got > 16<<10 {
		t.Errorf("ranged read of 8 bytes transferred %d bytes", got)
	}
}

func TestRangedReadTransfersLittle(t *testing.T) {
	st, srv, bucket := newStore(t, "p")
	const size = 40 << 20 // more than two parts
	if _, err := st.Put(context.Background(), "big", &pattern{n: size}, -1, datasets.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	checkTail(t, srv, bucket, "p", "big", size)

	// The whole object, by sequential Reads and by concurrent ReadAts.
	want, _ := io.ReadAll(&pattern{n: size})
	o, err := st.Open(context.Background(), "big")
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	got, err := io.ReadAll(o)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("sequential read: %d bytes, %v; content equal: %v", len(got), err, bytes.Equal(got, want))
	}
	got = make([]byte, size)
	var wg sync.WaitGroup
	const chunk = 3 << 20
	for off := int64(0); off < size; off += chunk {
		wg.Go(func() {
			end := min(off+chunk, size)
			if n, err := o.ReadAt(got[off:end], off); n != int(end-off) || err != nil {
				t.Errorf("ReadAt(%d bytes at %d) = %d, %v", end-off, off, n, err)
			}
		})
	}
	wg.Wait()
	if !bytes.Equal(got, want) {
		t.Error("concurrent ReadAt: content differs")
	}
}

// peakRSS returns VmHWM from /proc/self/status, in bytes.
func peakRSS() (int64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmHWM in /proc/self/status")
}

const bigPutEnv = "PREVOIR_S3_TEST_BIGPUT"

// bigPutProcess is the child of TestPutUnknownSize1GiB: in a fresh
// process, so that no other test's memory counts, it streams 1 GiB with
// size -1 and prints its peak resident memory.
func bigPutProcess() int {
	cfg := s3.Config{
		Endpoint:        os.Getenv("HELPER_ENDPOINT"),
		AccessKeyID:     s3test.AccessKey,
		SecretAccessKey: s3test.SecretKey,
		Region:          s3test.Region,
	}
	ctx := context.Background()
	st, err := s3.New(ctx, os.Getenv("HELPER_BUCKET"), "p", cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	info, err := st.Put(ctx, "huge", &pattern{n: 1 << 30}, -1, datasets.PutOptions{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	peak, err := peakRSS()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(info.Size, peak)
	return 0
}

// A 1 GiB object of unknown size is streamed in PartSize parts: the peak
// resident memory of the process stays under 200 MiB (minio-go's default
// part size for unknown sizes would buffer about 537 MiB). The upload runs
// in a child process so that the measure is of the Put alone.
func TestPutUnknownSize1GiB(t *testing.T) {
	if testing.Short() {
		t.Skip("uploads 1 GiB")
	}
	if _, err := peakRSS(); err != nil {
		t.Skipf("cannot measure peak memory: %v", err)
	}
	_, srv, bucket := newStore(t, "p")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), bigPutEnv+"=1", "HELPER_ENDPOINT="+srv.Endpoint, "HELPER_BUCKET="+bucket)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	began := time.Now()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("child: %v: %s", err, stderr.String())
	}
	var size, peak int64
	if _, err := fmt.Sscan(string(out), &size, &peak); err != nil {
		t.Fatalf("child said %q: %v", out, err)
	}
	t.Logf("Put of 1 GiB, size -1: %v, peak RSS of the process %d MiB", time.Since(began).Round(time.Millisecond), peak>>20)
	if size != 1<<30 {
		t.Errorf("Put size = %d", size)
	}
	if peak > 200<<20 {
		t.Errorf("peak RSS %d MiB, want under 200 MiB", peak>>20)
	}
	checkTail(t, srv, bucket, "p", "huge", 1<<30)
}
