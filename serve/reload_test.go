package serve

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prevoir/prevoir/serve/publish"
)

// TestReloadUnderLoad: lookups and predictions run while new publications
// land and the champion alias moves; the server picks them up by polling
// and by POST /v1/admin/reload. Every request succeeds and no response
// mixes two publications (each row's as_of and probability belong to the
// as_of its freshness names) or two model versions (the prediction is the
// one of the version the response names).
func TestReloadUnderLoad(t *testing.T) {
	st := newStore(t)
	const n = 200
	days := []string{"2024-03-01", "2024-03-02", "2024-03-03", "2024-03-04", "2024-03-05"}
	publishAll(t, st, days[0], n)
	registerModels(t, st)
	s, err := New(st, Options{Dataset: testDataset, Tokens: testTokens(t), Poll: 10 * time.Millisecond, Kinds: testRegistryKinds(), Logger: newTextLogger(discard{})})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	runErr := make(chan error, 1)
	go func() { runErr <- s.Run(ctx, ln) }()
	base := "http://" + ln.Addr().String()
	waitReady(t, base)

	var stop atomic.Bool
	var requests, failures atomic.Int64
	seenAsOf, seenVersion := sync.Map{}, sync.Map{}
	fail := func(format string, args ...any) {
		if failures.Add(1) <= 5 {
			t.Errorf(format, args...)
		}
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				requests.Add(1)
				if i%2 == 0 {
					c := (i*7 + w) % n
					asOf, err := checkLookup(client, base, c)
					if err != nil {
						fail("lookup C%05d: %v", c, err)
					}
					seenAsOf.Store(asOf, true)
					continue
				}
				v, err := checkPredict(client, base)
				if err != nil {
					fail("predict: %v", err)
				}
				seenVersion.Store(v, true)
			}
		}(w)
	}
	reg := testRegistry(st)
	for i, day := range days[1:] {
		time.Sleep(60 * time.Millisecond)
		publishRows(t, st, "churn", day, publish.FormatParquet, churnRows(n, day), churnSpec)
		if _, err := reg.Promote(context.Background(), "churn", 1+(i+1)%2, "champion"); err != nil {
			t.Fatal(err)
		}
		if i%2 == 1 {
			resp, b := do(t, "POST", base+"/v1/admin/reload", tokAdmin, nil)
			if resp.StatusCode != 200 {
				t.Fatalf("admin reload: %s %s", resp.Status, b)
			}
		}
		// Let the lookups see this publication before the next lands
		// (bounded: a missed one fails the count below).
		for w := 0; w < 500; w++ {
			if _, ok := seenAsOf.Load(day); ok {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	time.Sleep(100 * time.Millisecond)
	stop.Store(true)
	wg.Wait()
	cancel()
	if err := <-runErr; err != nil {
		t.Fatal(err)
	}
	asOfs, versions := 0, 0
	seenAsOf.Range(func(k, _ any) bool { asOfs++; return true })
	seenVersion.Range(func(k, _ any) bool { versions++; return true })
	t.Logf("%d requests, %d failures, %d as_of seen by lookups, %d versions by predictions", requests.Load(), failures.Load(), asOfs, versions)
	if failures.Load() > 0 {
		t.Fatalf("%d of %d requests failed or mixed", failures.Load(), requests.Load())
	}
	if asOfs < len(days) || versions < 2 {
		t.Fatalf("the swaps were not seen (%d as_of, %d versions): the test checked nothing", asOfs, versions)
	}
}

type discard struct{}

func (discard) Write(b []byte) (int, error) { return len(b), nil }

func waitReady(t *testing.T, base string) {
	t.Helper()
	for i := 0; i < 500; i++ {
		if resp, err := http.Get(base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("never ready")
}

func get(client *http.Client, method, url, token, body string) (int, []byte, error) {
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// checkLookup checks that customer c's churn row belongs to the
// publication its freshness names.
func checkLookup(client *http.Client, base string, c int) (string, error) {
	code, b, err := get(client, "GET", fmt.Sprintf("%s/v1/customers/C%05d", base, c), tokCustomers, "")
	if err != nil || code != 200 {
		return "", fmt.Errorf("%d %v %s", code, err, b)
	}
	var got lookupBody
	if err := json.Unmarshal(b, &got); err != nil {
		return "", err
	}
	ch := got.Tasks["churn"]
	rows := ch.Tables["churn"]
	if len(rows) != 1 {
		return "", fmt.Errorf("%d churn rows", len(rows))
	}
	asOf := ch.Freshness.AsOf
	want := math.Mod(float64(c)*0.137, 1)*0.5 + dayOf(asOf)
	if rows[0]["as_of"] != asOf || math.Abs(rows[0]["probability"].(float64)-want) > 1e-12 {
		return "", fmt.Errorf("mixed: freshness as of %s, row %v", asOf, rows[0])
	}
	return asOf, nil
}

// checkPredict checks that the champion's prediction is the one of the
// version the response names (intercept -2 for 1, 0 for 2).
func checkPredict(client *http.Client, base string) (int, error) {
	code, b, err := get(client, "POST", base+"/v1/models/churn@champion/predict", tokPredict, `{"rows":[{"recency_days":20,"segment":"b"}]}`)
	if err != nil || code != 200 {
		return 0, fmt.Errorf("%d %v %s", code, err, b)
	}
	var got predictBody
	if err := json.Unmarshal(b, &got); err != nil {
		return 0, err
	}
	icept := map[int]float64{1: -2, 2: 0}[got.Version]
	if math.Abs(*got.Predictions[0]-sigmoid(icept+1+1)) > 1e-12 {
		return 0, fmt.Errorf("mixed: version %d predicts %v", got.Version, *got.Predictions[0])
	}
	return got.Version, nil
}
