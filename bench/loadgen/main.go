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
package main

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
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
	flag.Parse()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *conc * 2, DisableCompression: true}, Timeout: 10 * time.Second}
	var next func(i int) (*http.Request, func([]byte) (mixed bool, err error))
	switch *mode {
	case "lookup":
		ids, err := customerIDs(client, *base, *token, *nids)
		if err != nil {
			return err
		}
		urls := make([]string, len(ids))
		for i, id := range ids {
			urls[i] = *base + "/v1/customers/" + id
		}
		next = func(i int) (*http.Request, func([]byte) (bool, error)) {
			req, _ := http.NewRequest("GET", urls[i%len(urls)], nil)
			return req, checkLookup
		}
	case "predict":
		body, err := predictRow(client, *base, *token, *model)
		if err != nil {
			return err
		}
		next = func(int) (*http.Request, func([]byte) (bool, error)) {
			req, _ := http.NewRequest("POST", *base+"/v1/models/"+*model+"/predict", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			return req, checkPredict
		}
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
	res := drive(client, *token, *conc, *dur, stop, next)
	stop.Store(true)
	res.Mode = *mode
	return json.NewEncoder(os.Stdout).Encode(res)
}

// drive runs conc clients for dur and summarises their latencies.
// It stops early when stop is set.
func drive(client *http.Client, token string, conc int, dur time.Duration, stop *atomic.Bool, next func(int) (*http.Request, func([]byte) (bool, error))) result {
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
			var buf bytes.Buffer // one read buffer per client, reused
			auth := "Bearer " + token
			for i := w; time.Now().Before(deadline) && !stop.Load(); i += conc {
				req, check := next(i)
				req.Header["Authorization"] = []string{auth}
				t0 := time.Now()
				resp, err := client.Do(req)
				var body []byte
				if err == nil {
					buf.Reset()
					_, err = buf.ReadFrom(resp.Body)
					resp.Body.Close()
					body = buf.Bytes()
					if err == nil && resp.StatusCode != 200 {
						err = fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(body))
					}
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
