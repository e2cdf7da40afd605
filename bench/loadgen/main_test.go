package main

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestCheckLookup: a lookup whose rows belong to another publication than
// the freshness it names is counted as mixed; a consistent one is not.
func TestCheckLookup(t *testing.T) {
	ok := `{"customer_id":"C1","tasks":{"churn":{"freshness":{"as_of":"2024-03-02"},"tables":{"churn":[{"as_of":"2024-03-02","probability":0.5}]}}}}`
	mixed := `{"customer_id":"C1","tasks":{"churn":{"freshness":{"as_of":"2024-03-02"},"tables":{"churn":[{"as_of":"2024-03-01","probability":0.5}]}}}}`
	if m, err := checkLookup([]byte(ok)); m || err != nil {
		t.Fatalf("consistent: %v %v", m, err)
	}
	if m, err := checkLookup([]byte(mixed)); !m || err == nil {
		t.Fatalf("mixed: %v %v", m, err)
	}
	escaped := `{"tasks":{"churn":{"freshness":{"as_of":"2024-03-02"},"tables":{"churn":[{"as_of":"2024\u002d03-02"}],"offers":[{"rank":1}]}}}}`
	if m, err := checkLookup([]byte(escaped)); m || err != nil {
		t.Fatalf("escaped as_of, a table without one: %v %v", m, err)
	}
	null := `{"tasks":{"churn":{"freshness":{"as_of":"2024-03-02"},"tables":{"churn":[{"as_of":null}]}}}}`
	if m, _ := checkLookup([]byte(null)); !m {
		t.Fatal("a null as_of passed")
	}
	if _, err := checkLookup([]byte(`{"tasks":`)); err == nil {
		t.Fatal("a cut body passed")
	}
	if _, err := checkPredict([]byte(`{"predictions":[null]}`)); err == nil {
		t.Fatal("a null prediction passed")
	}
}

// TestConn: the keep-alive client reads responses by Content-Length on
// one connection, refuses a chunked one as an error and redials after it.
func TestConn(t *testing.T) {
	var conns atomic.Int64
	hs := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer T" {
			w.WriteHeader(401)
			return
		}
		if r.URL.Path == "/chunked" {
			w.Write([]byte("part"))
			w.(http.Flusher).Flush()
			return
		}
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Length", strconv.Itoa(len(b)+len(r.URL.Path)))
		w.Write([]byte(r.URL.Path))
		w.Write(b)
	}))
	hs.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	hs.Start()
	defer hs.Close()
	addr := strings.TrimPrefix(hs.URL, "http://")
	c := &conn{addr: addr}
	defer c.close()
	deadline := time.Now().Add(5 * time.Second)
	get := func(path string) []byte {
		return []byte("GET " + path + " HTTP/1.1\r\nHost: " + addr + "\r\nAuthorization: Bearer T\r\n\r\n")
	}
	for i := 0; i < 3; i++ {
		if st, body, err := c.do(get("/v1/customers/C1"), deadline); st != 200 || string(body) != "/v1/customers/C1" || err != nil {
			t.Fatalf("%d %q %v", st, body, err)
		}
	}
	post := []byte("POST /p HTTP/1.1\r\nHost: " + addr + "\r\nAuthorization: Bearer T\r\nContent-Length: 5\r\n\r\nhello")
	if st, body, err := c.do(post, deadline); st != 200 || string(body) != "/phello" || err != nil {
		t.Fatalf("post: %d %q %v", st, body, err)
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("%d connections for 4 requests", n)
	}
	if _, _, err := c.do(get("/chunked"), deadline); err == nil || !strings.Contains(err.Error(), "Transfer-Encoding") {
		t.Fatalf("chunked: %v", err)
	}
	if st, _, err := c.do([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), deadline); st != 401 || err != nil {
		t.Fatalf("after a redial: %d %v", st, err)
	}
	if n := conns.Load(); n != 2 {
		t.Fatalf("%d connections, want a redial after the error", n)
	}
}
