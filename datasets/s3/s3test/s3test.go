// Package s3test runs a MinIO server for tests of S3 stores.
//
// One server is shared by every test of a test binary. Use it from a test
// package in three lines:
//
//	func TestMain(m *testing.M) { s3test.Main(m) } // stops the server at the end
//
//	func TestSomething(t *testing.T) {
//		srv := s3test.Start(t)   // skips the test if minio is not installed
//		st, err := s3.New(ctx, srv.NewBucket(t), "some/prefix", srv.Config())
//		...
//	}
//
// Start looks for the minio binary in $PREVOIR_MINIO, then
// $PREVOIR_TOOLS/minio (default $HOME/.cache/prevoir/tools/minio, where
// `make minio` installs it), then $PATH. When it is missing the test is
// skipped, or fails when the environment variable CI is true.
//
// The server listens on 127.0.0.1 only, on free ports, with its data in a
// temporary folder removed by Main. It is started with Pdeathsig on Linux,
// so it also dies with the test binary if Main was not used.
package s3test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/prevoir/prevoir/datasets/datatest"
	"github.com/prevoir/prevoir/datasets/s3"
)

// Credentials of the test server's root user.
const (
	AccessKey = "prevoir-test"
	SecretKey = "prevoir-test-secret"
)

// Region is the test server's region.
const Region = "us-east-1"

// DefaultBucket is a bucket Start creates on the server; prefer NewBucket
// for a fresh one per test.
const DefaultBucket = "prevoir-test"

// Server is a running MinIO server.
type Server struct {
	// Endpoint is the server's URL, http://127.0.0.1:PORT.
	Endpoint string
	// AccessKey and SecretKey are the root user's credentials.
	AccessKey string
	SecretKey string
	// Bucket is an existing bucket shared by all tests (DefaultBucket).
	Bucket string
	// Dir holds the server's data and log (minio.log).
	Dir string

	cmd     *exec.Cmd
	exited  chan struct{} // closed when the process has exited
	buckets atomic.Int64
}

var (
	startOnce sync.Once
	shared    *Server
	startErr  error
)

// Start returns the test binary's MinIO server, starting it on first use.
// It skips t when the minio binary is not found, unless CI is true, and
// fails t if the server does not start.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := FindMinio()
	if err != nil {
		datatest.Missing(t, "s3test: %v", err)
	}
	startOnce.Do(func() { shared, startErr = start(bin) })
	if startErr != nil {
		t.Fatalf("s3test: %v", startErr)
	}
	return shared
}

// FindMinio returns the path of the minio binary: $PREVOIR_MINIO if set,
// else $PREVOIR_TOOLS/minio (default $HOME/.cache/prevoir/tools), else
// minio on $PATH.
func FindMinio() (string, error) {
	if p := os.Getenv("PREVOIR_MINIO"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("minio not found at PREVOIR_MINIO=%s: %v", p, err)
		}
		return p, nil
	}
	tools := os.Getenv("PREVOIR_TOOLS")
	if tools == "" {
		if home, err := os.UserHomeDir(); err == nil {
			tools = filepath.Join(home, ".cache", "prevoir", "tools")
		}
	}
	if tools != "" {
		p := filepath.Join(tools, "minio")
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, nil
		}
	}
	if p, err := exec.LookPath("minio"); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("minio not found in $PREVOIR_MINIO, %s or $PATH; run `make minio`", filepath.Join(tools, "minio"))
}

func start(bin string) (*Server, error) {
	dir, err := os.MkdirTemp("", "prevoir-minio-")
	if err != nil {
		return nil, err
	}
	var lastErr error
	for try := 0; try < 3; try++ { // a free port may be taken before minio binds it
		s, err := launch(bin, dir)
		if err == nil {
			return s, nil
		}
		lastErr = err
	}
	os.RemoveAll(dir)
	return nil, lastErr
}

func launch(bin, dir string) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	console, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	logf, err := os.Create(filepath.Join(dir, "minio.log"))
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := exec.Command(bin, "server", "--quiet",
		"--address", addr,
		"--console-address", "127.0.0.1:"+strconv.Itoa(console),
		"--certs-dir", filepath.Join(dir, "certs"), // never pick up ~/.minio/certs
		filepath.Join(dir, "data"))
	cmd.Env = append(cleanEnv(),
		"MINIO_ROOT_USER="+AccessKey,
		"MINIO_ROOT_PASSWORD="+SecretKey,
		"MINIO_REGION="+Region,
		"MINIO_BROWSER=off",
		"MINIO_UPDATE=off",
	)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %v", bin, err)
	}
	s := &Server{
		Endpoint:  "http://" + addr,
		AccessKey: AccessKey,
		SecretKey: SecretKey,
		Bucket:    DefaultBucket,
		Dir:       dir,
		cmd:       cmd,
		exited:    make(chan struct{}),
	}
	go func() { cmd.Wait(); close(s.exited) }()
	if err := s.waitReady(30 * time.Second); err != nil {
		s.kill()
		return nil, fmt.Errorf("minio on %s: %v; log:\n%s", addr, err, s.logTail())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Client().MakeBucket(ctx, DefaultBucket, minio.MakeBucketOptions{Region: Region}); err != nil {
		s.kill()
		return nil, fmt.Errorf("minio on %s: make bucket %s: %v", addr, DefaultBucket, err)
	}
	return s, nil
}

// cleanEnv is the environment without MINIO_* settings of the developer's
// own servers.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MINIO_") {
			env = append(env, kv)
		}
	}
	return env
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (s *Server) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	client := &http.Client{Timeout: time.Second}
	for {
		resp, err := client.Get(s.Endpoint + "/minio/health/live")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = errors.New(resp.Status)
		}
		select {
		case <-s.exited:
			return fmt.Errorf("exited: %v", s.cmd.ProcessState)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %v: %v", timeout, err)
		}
	}
}

func (s *Server) logTail() string {
	b, _ := os.ReadFile(filepath.Join(s.Dir, "minio.log"))
	if len(b) > 4096 {
		b = b[len(b)-4096:]
	}
	return string(bytes.TrimSpace(b))
}

func (s *Server) kill() {
	if s.cmd.Process != nil {
		s.cmd.Process.Kill()
	}
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
	}
}

// Main runs the tests of m, then stops the shared server (if a test
// started it) and removes its data, and exits. Call it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	Stop()
	os.Exit(code)
}

// Stop stops the shared server, if it was started, and removes its data.
// Main calls it; it is for TestMains that do more than Main.
func Stop() {
	if shared != nil {
		shared.kill()
		os.RemoveAll(shared.Dir)
	}
}

// Config returns an s3.Config for the server with the root credentials.
func (s *Server) Config() s3.Config {
	return s3.Config{
		Endpoint:        s.Endpoint,
		AccessKeyID:     s.AccessKey,
		SecretAccessKey: s.SecretKey,
		Region:          Region,
	}
}

// Client returns a minio-go client of the server with root credentials,
// for what the store does not do (creating buckets, inspecting objects).
func (s *Server) Client() *minio.Client {
	c, err := minio.New(strings.TrimPrefix(s.Endpoint, "http://"), &minio.Options{
		Creds:        credentials.NewStaticV4(s.AccessKey, s.SecretKey, ""),
		Region:       Region,
		BucketLookup: minio.BucketLookupPath,
	})
	if err != nil {
		panic(err) // the endpoint is ours: programmer error
	}
	return c
}

var notBucketChar = regexp.MustCompile(`[^a-z0-9-]+`)

// NewBucket creates a fresh, empty bucket named after t and returns its
// name. The harness creates buckets; the product never does.
func (s *Server) NewBucket(t testing.TB) string {
	t.Helper()
	n := s.buckets.Add(1)
	name := fmt.Sprintf("t%d-%s", n, notBucketChar.ReplaceAllString(strings.ToLower(t.Name()), "-"))
	if len(name) > 63 {
		name = name[:63]
	}
	name = strings.TrimRight(name, "-")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Client().MakeBucket(ctx, name, minio.MakeBucketOptions{Region: Region}); err != nil {
		t.Fatalf("s3test: make bucket %s: %v", name, err)
	}
	return name
}
