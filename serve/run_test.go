package serve

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prevoir/prevoir/serve/publish"
)

// startServer runs s on a loopback port until the test ends (or stop is
// called) and returns its base URL.
func startServer(t *testing.T, s *Server) (base string, stop func() error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, ln) }()
	stopped := false
	stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		return <-done
	}
	t.Cleanup(func() { stop() })
	base = "http://" + ln.Addr().String()
	waitReady(t, base)
	return base, stop
}

// TestSlowLorisAndIdleConnections: a client dribbling its headers and
// 1,000 idle connections neither block other clients nor stay open past
// the header timeout.
func TestSlowLorisAndIdleConnections(t *testing.T) {
	st := newStore(t)
	publishAll(t, st, "2024-03-01", 50)
	s, err := New(st, Options{Dataset: testDataset, Tokens: testTokens(t), ReadHeaderTimeout: 300 * time.Millisecond, Poll: -1, Logger: newTextLogger(discard{})})
	if err != nil {
		t.Fatal(err)
	}
	base, _ := startServer(t, s)
	addr := strings.TrimPrefix(base, "http://")
	var idle []net.Conn
	for i := 0; i < 1000; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("idle connection %d: %v", i, err)
		}
		idle = append(idle, c)
	}
	defer func() {
		for _, c := range idle {
			c.Close()
		}
	}()
	loris, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer loris.Close()
	lorisClosed := make(chan time.Duration, 1)
	start := time.Now()
	go func() {
		for _, b := range []byte("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa") {
			if _, err := loris.Write([]byte{b}); err != nil {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	go func() {
		io.Copy(io.Discard, loris) // returns when the server closes it
		lorisClosed <- time.Since(start)
	}()
	client := &http.Client{Timeout: 2 * time.Second}
	for i := 0; i < 20; i++ {
		t0 := time.Now()
		req, _ := http.NewRequest("GET", base+"/v1/customers/C00001", nil)
		req.Header.Set("Authorization", "Bearer "+tokCustomers)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("request %d beside the slow clients: %v", i, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || time.Since(t0) > time.Second {
			t.Fatalf("request %d: %s in %v", i, resp.Status, time.Since(t0))
		}
		time.Sleep(20 * time.Millisecond)
	}
	select {
	case d := <-lorisClosed:
		if d > 2*time.Second {
			t.Fatalf("the slow client was held %v", d)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("the slow client is still connected")
	}
	// The idle connections were closed too.
	idle[0].SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := idle[0].Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("idle connection: %v, want closed by the server", err)
	}
}

// TestGracefulShutdown: a stream in flight when Run's context ends is
// finished whole; new connections are refused; Run returns nil.
func TestGracefulShutdown(t *testing.T) {
	st := newStore(t)
	publishRows(t, st, "churn", "2024-03-01", publish.FormatParquet, churnRows(30000, "2024-03-01"), churnSpec)
	s, err := New(st, Options{Dataset: testDataset, Tokens: testTokens(t), Poll: -1, Logger: newTextLogger(discard{})})
	if err != nil {
		t.Fatal(err)
	}
	base, stop := startServer(t, s)
	req, _ := http.NewRequest("GET", base+"/v1/scores/churn", nil)
	req.Header.Set("Authorization", "Bearer "+tokScores)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReaderSize(resp.Body, 16)
	if _, err := br.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	time.Sleep(100 * time.Millisecond)
	if _, err := net.DialTimeout("tcp", strings.TrimPrefix(base, "http://"), time.Second); err == nil {
		t.Error("a new connection was accepted during shutdown")
	}
	rest, err := io.ReadAll(br)
	resp.Body.Close()
	if err != nil || resp.Trailer.Get(HeaderComplete) != "true" || strings.Count(string(rest), "\n") != 30000 {
		t.Fatalf("the stream in flight: %v, trailer %q, %d lines", err, resp.Trailer.Get(HeaderComplete), strings.Count(string(rest), "\n"))
	}
	if err := <-stopped; err != nil {
		t.Fatalf("Run: %v", err)
	}
}
