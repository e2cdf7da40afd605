// Command loadgen drives a running `prevoir serve` on loopback and reports
// throughput and latency percentiles as one JSON object on stdout. It
// checks every answer: a non-2xx status, a body it cannot read or a
// lookup whose rows belong to another publication than the freshness it
// names is an error, counted and reported.
//
//	loadgen -url http://127.0.0.1:8080 -token T -mode lookup  [-c 32] [-d 20s] [-ids N]
//	loadgen -url ... -token T -mode predict -model churn@champion [-c 32] [-d 20s]
//	  [-stop-file F]: stop early once F exists
//
// lookup takes its customer ids from the first -ids rows of GET
// /v1/scores/churn (token with scores:read and customers:read); predict
// builds one row from the model's card (every input 1, categorical inputs
// their first level) and posts it, one row a request.
//
// Each client keeps one HTTP/1.1 connection alive and writes prepared
// requests on it, reading each response by its Content-Length, as wrk
// does: net/http's client (a reader and a writer goroutine per
// connection, channels, a header map and a cancel context per request)
// cost more CPU per request than the server it measured, on the same
// cores.
package main

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime/pprof"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

// result is what loadgen prints.
type result struct {
	Mode       string  `json:"mode"`
	Conc       int     `json:"concurrency"`
	Requests   int64   `json:"requests"`
	Errors     int64   `json:"errors"`
	Mixed      int64   `json:"mixed"`
	Seconds    float64 `json:"seconds"`
	PerSecond  float64 `json:"per_second"`
	P50Millis  float64 `json:"p50_ms"`
	P99Millis  float64 `json:"p99_ms"`
	MaxMillis  float64 `json:"max_ms"`
	FirstError string  `json:"first_error,omitempty"`
}

func run() error {
	base := flag.String("url", "http://127.0.0.1:8080", "the server's base URL")
	token := flag.String("token", os.Getenv("LOADGEN_TOKEN"), "bearer token (or LOADGEN_TOKEN)")
	mode := flag.String("mode", "lookup", "lookup or predict")
	model := flag.String("model", "churn@champion", "the model of -mode predict")
	conc := flag.Int("c", 32, "concurrent clients")
	dur := flag.Duration("d", 20*time.Second, "how long to run")
	nids := flag.Int("ids", 100000, "customer ids to look up (lookup)")
	stopFile := flag.String("stop-file", "", "stop early once this file exists")
	cpuProfile := flag.String("cpuprofile", "", "write the load generator's CPU profile to this file")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer f.Close()
		defer pprof.StopCPUProfile()
	}
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}, Timeout: 10 * time.Second}
	u, err := url.Parse(*base)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return fmt.Errorf("-url %q: want http://HOST:PORT", *base)
	}
	head := func(method, path string) string {
		return method + " " + u.Path + path + " HTTP/1.1\r\nHost: " + u.Host + "\r\nAuthorization: Bearer " + *token + "\r\n"
	}
	var reqs [][]byte
	var check func([]byte) (mixed bool, err error)
	switch *mode {
	case "lookup":
		ids, err := customerIDs(client, *base, *token, *nids)
		if err != nil {
			return err
		}
		for _, id := range ids {
			reqs = append(reqs, []byte(head("GET", "/v1/customers/"+id)+"\r\n"))
		}
		check = checkLookup
	case "predict":
		body, err := predictRow(client, *base, *token, *model)
		if err != nil {
			return err
		}
		reqs = append(reqs, []byte(head("POST", "/v1/models/"+*model+"/predict")+
			"Content-Type: application/json\r\nContent-Length: "+strconv.Itoa(len(body))+"\r\n\r\n"+string(body)))
		check = checkPredict
	default:
		return fmt.Errorf("-mode %q: want lookup or predict", *mode)
	}
	stop := &atomic.Bool{}
	if *stopFile != "" {
		go func() {
			for !stop.Load() {
				if _, err := os.Stat(*stopFile); err == nil {
					stop.Store(true)
				}
				time.Sleep(50 * time.Millisecond)
			}
		}()
	}
	res := drive(u.Host, *conc, *dur, stop, reqs, check)
	stop.Store(true)
	res.Mode = *mode
	return json.NewEncoder(os.Stdout).Encode(res)
}

// drive runs conc clients for dur, each on its own keep-alive connection
// sending the requests reqs in turn, and summarises their latencies. It
// stops early when stop is set.
func drive(addr string, conc int, dur time.Duration, stop *atomic.Bool, reqs [][]byte, check func([]byte) (bool, error)) result {
	var requests, errs, mixed atomic.Int64
	var first atomic.Value
	lat := make([][]time.Duration, conc)
	deadline := time.Now().Add(dur)
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			c := &conn{addr: addr}
			defer c.close()
			for i := w; time.Now().Before(deadline) && !stop.Load(); i += conc {
				t0 := time.Now()
				status, body, err := c.do(reqs[i%len(reqs)], t0.Add(10*time.Second))
				if err == nil && status != 200 {
					err = fmt.Errorf("status %d: %s", status, bytes.TrimSpace(body))
				}
				lat[w] = append(lat[w], time.Since(t0))
				requests.Add(1)
				if err == nil {
					var mix bool
					if mix, err = check(body); mix {
						mixed.Add(1)
					}
				}
				if err != nil {
					errs.Add(1)
					first.CompareAndSwap(nil, err.Error())
				}
			}
		}(w)
	}
	wg.Wait()
	secs := time.Since(start).Seconds()
	all := slices.Concat(lat...)
	slices.Sort(all)
	pct := func(p float64) float64 {
		if len(all) == 0 {
			return 0
		}
		return float64(all[min(len(all)-1, int(p*float64(len(all))))]) / 1e6
	}
	r := result{Conc: conc, Requests: requests.Load(), Errors: errs.Load(), Mixed: mixed.Load(), Seconds: secs,
		PerSecond: float64(requests.Load()) / secs, P50Millis: pct(0.50), P99Millis: pct(0.99), MaxMillis: pct(1)}
	if f, ok := first.Load().(string); ok {
		r.FirstError = f
	}
	return r
}

// conn is one client's keep-alive HTTP/1.1 connection, as wrk keeps
// them: the request is written as prepared bytes and the response read
// by its Content-Length, with no goroutines, channels or header maps per
// request, so that the load generator takes as little as it can of the
// CPU it shares with the server. A response it cannot read that way
// (chunked, cut, malformed) is an error, and the connection is redialled.
type conn struct {
	addr string
	c    net.Conn
	r    *bufio.Reader
	body []byte
}

func (c *conn) close() {
	if c.c != nil {
		c.c.Close()
		c.c = nil
	}
}

// do sends req and returns the response's status and body (valid until
// the next do).
func (c *conn) do(req []byte, deadline time.Time) (status int, body []byte, err error) {
	if c.c == nil {
		if c.c, err = net.DialTimeout("tcp", c.addr, time.Until(deadline)); err != nil {
			c.c = nil
			return 0, nil, err
		}
		if c.r == nil {
			c.r = bufio.NewReaderSize(c.c, 64<<10)
		} else {
			c.r.Reset(c.c)
		}
	}
	status, body, keep, err := c.roundTrip(req, deadline)
	if err != nil || !keep {
		c.close()
	}
	return status, body, err
}

func (c *conn) roundTrip(req []byte, deadline time.Time) (status int, body []byte, keep bool, err error) {
	c.c.SetDeadline(deadline)
	if _, err := c.c.Write(req); err != nil {
		return 0, nil, false, err
	}
	line, err := c.r.ReadSlice('\n')
	if err != nil {
		return 0, nil, false, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.1 ")) {
		return 0, nil, false, fmt.Errorf("status line %q", line)
	}
	status, err = strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, nil, false, fmt.Errorf("status line %q", line)
	}
	length, keep := -1, true
	for {
		line, err := c.r.ReadSlice('\n')
		if err != nil {
			return 0, nil, false, err
		}
		h := bytes.TrimRight(line, "\r\n")
		if len(h) == 0 {
			break
		}
		name, value, ok := bytes.Cut(h, []byte(":"))
		if !ok {
			return 0, nil, false, fmt.Errorf("header line %q", h)
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(value)); err != nil || length < 0 {
				return 0, nil, false, fmt.Errorf("Content-Length %q", value)
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			return 0, nil, false, fmt.Errorf("Transfer-Encoding %q: a response without Content-Length", value)
		case bytes.EqualFold(name, []byte("Connection")) && bytes.EqualFold(value, []byte("close")):
			keep = false
		}
	}
	if length < 0 {
		return 0, nil, false, fmt.Errorf("status %d without Content-Length", status)
	}
	if cap(c.body) < length {
		c.body = make([]byte, length)
	}
	c.body = c.body[:length]
	if _, err := io.ReadFull(c.r, c.body); err != nil {
		return 0, nil, false, err
	}
	return status, c.body, keep, nil
}

// customerIDs reads the first n customer ids of the churn publication.
func customerIDs(client *http.Client, base, token string, n int) ([]string, error) {
	req, _ := http.NewRequest("GET", fmt.Sprintf("%s/v1/scores/churn?format=csv&limit=%d", base, n), nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("ids from /v1/scores/churn: %s", resp.Status)
	}
	r := csv.NewReader(bufio.NewReader(resp.Body))
	var ids []string
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		ids = append(ids, rec[0])
	}
	if len(ids) < 2 {
		return nil, fmt.Errorf("no customer in the churn publication")
	}
	return ids[1:], nil
}

// checkLookup reports a lookup mixing publications: a task whose rows'
// as_of is not its freshness's as_of (a row's null as_of counts too). It
// decodes only the as_of fields, skipping the rest, so that checking
// every answer costs the machine the server runs on as little as it can.
func checkLookup(b []byte) (bool, error) {
	var got struct {
		Tasks map[string]struct {
			Freshness struct {
				AsOf string `json:"as_of"`
			} `json:"freshness"`
			Tables map[string][]struct {
				AsOf json.RawMessage `json:"as_of"`
			} `json:"tables"`
		} `json:"tasks"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		return false, err
	}
	for task, t := range got.Tasks {
		want := t.Freshness.AsOf
		for table, rows := range t.Tables {
			for _, r := range rows {
				if r.AsOf == nil || sameJSONString(r.AsOf, want) {
					continue
				}
				return true, fmt.Errorf("%s/%s: a row as of %s under freshness %s", task, table, r.AsOf, want)
			}
		}
	}
	return false, nil
}

// sameJSONString reports whether raw is the JSON string s: its quoted
// bytes, or failing that (escapes), its decoded value.
func sameJSONString(raw json.RawMessage, s string) bool {
	if len(raw) == len(s)+2 && raw[0] == '"' && string(raw[1:len(raw)-1]) == s {
		return true
	}
	var v string
	return json.Unmarshal(raw, &v) == nil && v == s
}

func checkPredict(b []byte) (bool, error) {
	var got struct {
		Predictions []*float64 `json:"predictions"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		return false, err
	}
	if len(got.Predictions) != 1 || got.Predictions[0] == nil {
		return false, fmt.Errorf("predictions %s", b)
	}
	return false, nil
}

// predictRow builds a one-row request body from the model's card.
func predictRow(client *http.Client, base, token, ref string) ([]byte, error) {
	name := ref
	if i := bytes.IndexByte([]byte(ref), '@'); i >= 0 {
		name = ref[:i]
	}
	req, _ := http.NewRequest("GET", base+"/v1/models/"+name, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var m struct {
		Aliases  map[string]int `json:"aliases"`
		Versions []struct {
			Version int `json:"version"`
			Card    struct {
				Inputs struct {
					Features []struct{ Name, Kind string } `json:"features"`
				} `json:"inputs"`
				Preprocessing struct {
					Encoders map[string][]string `json:"encoders"`
				} `json:"preprocessing"`
			} `json:"card"`
		} `json:"versions"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil || len(m.Versions) == 0 {
		return nil, fmt.Errorf("model %s: %s (%v)", name, resp.Status, err)
	}
	c := m.Versions[len(m.Versions)-1].Card
	for _, v := range m.Versions {
		if alias := ref[min(len(ref), len(name)+1):]; m.Aliases[alias] == v.Version || alias == fmt.Sprint(v.Version) {
			c = v.Card
		}
	}
	row := map[string]any{}
	for _, f := range c.Inputs.Features {
		row[f.Name] = 1
		if lv := c.Preprocessing.Encoders[f.Name]; f.Kind == "categorical" && len(lv) > 0 {
			row[f.Name] = lv[0]
		}
	}
	return json.Marshal(map[string]any{"rows": []any{row}})
}
