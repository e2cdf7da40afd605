package serve

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/datasets/datatest"
	"github.com/prevoir/prevoir/datasets/local"
	"github.com/prevoir/prevoir/datasets/privacy"
	"github.com/prevoir/prevoir/features"
	"github.com/prevoir/prevoir/models"
	"github.com/prevoir/prevoir/models/gbdt"
	"github.com/prevoir/prevoir/models/logistic"
	"github.com/prevoir/prevoir/models/registry"
	"github.com/prevoir/prevoir/serve/publish"
)

const testDataset = "demo"

// Test tokens, one per scope, and one with every scope.
const (
	tokScores    = "tok-scores-0123456789"
	tokCustomers = "tok-customers-0123456789"
	tokPredict   = "tok-predict-0123456789"
	tokAdmin     = "tok-admin-0123456789"
	tokAll       = "tok-all-0123456789abcdef"
)

func testTokens(t testing.TB) []Token {
	t.Helper()
	toks, err := ParseTokens(strings.NewReader(fmt.Sprintf(`# test tokens
%s scores:read
%s customers:read
%s predict
%s admin
%s scores:read,customers:read,predict,admin
`, tokScores, tokCustomers, tokPredict, tokAdmin, tokAll)), "test")
	if err != nil {
		t.Fatal(err)
	}
	return toks
}

func newStore(t testing.TB) datasets.Store {
	t.Helper()
	st, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// tableScorer is a publish.Scorer over prepared rows: each input row is
// the table's index followed by the output row.
type tableScorer struct{ specs []publish.TableSpec }

func (s tableScorer) Tables() []publish.TableSpec { return s.specs }
func (s tableScorer) Score(_ context.Context, in [][]any, emit func(int, []any) error) error {
	for _, r := range in {
		if err := emit(r[0].(int), r[1:]); err != nil {
			return err
		}
	}
	return nil
}

func col(name, typ string) publish.Column { return publish.Column{Name: name, Type: typ} }

const (
	tS = publish.TypeString
	tD = publish.TypeDouble
	tI = publish.TypeInt64
)

// The tables the tasks declare (churn as serve/churn does; offers,
// demand, preposition and triggers as their tasks declare them).
var (
	churnSpec = publish.TableSpec{Name: "churn", SortBy: "customer_id", Customer: "customer_id", Columns: []publish.Column{
		col("customer_id", tS), col("as_of", tS), col("probability", tD), col("band", tS), col("model", tS),
		col("reason_1", tS), col("reason_2", tS), col("reason_3", tS)}}
	offersSpec = publish.TableSpec{Name: "offers", SortBy: "customer_id", ThenBy: []string{"rank"}, Customer: "customer_id", Columns: []publish.Column{
		col("customer_id", tS), col("as_of", tS), col("rank", tI), col("item", tS), col("level", tS), col("probability", tD), col("model", tS)}}
	demandSpec = publish.TableSpec{Name: "demand", SortBy: "product_id", ThenBy: []string{"warehouse", "step"}, Columns: []publish.Column{
		col("product_id", tS), col("warehouse", tS), col("as_of", tS), col("period_start", tS), col("step", tI),
		col("mean", tD), col("p50", tD), col("p90", tD), col("q95", tD), col("model", tS)}}
	prepositionSpec = publish.TableSpec{Name: "preposition", SortBy: "product_id", ThenBy: []string{"warehouse"}, Columns: []publish.Column{
		col("product_id", tS), col("warehouse", tS), col("as_of", tS), col("horizon", tI), col("mean", tD), col("p50", tD), col("p90", tD),
		col("bestseller_rank", tI), col("stock_on_hand", tD), col("service_level", tD), col("preposition_qty", tD)}}
	triggersSpec = publish.TableSpec{Name: "triggers", Customer: "customer_id", Columns: []publish.Column{
		col("customer_id", tS), col("rule", tS), col("channel", tS), col("as_of", tS), col("values", tS), col("idempotency_key", tS)}}
)

// dayOf is a number that identifies an as_of in the rows published for
// it, so a test can tell two publications' rows apart.
func dayOf(asOf string) float64 {
	d, _ := time.Parse(time.DateOnly, asOf)
	return float64(d.YearDay()) / 1000
}

// churnRows are n customers' churn rows as of asOf: C00000..; a reason
// with a comma and a quote, to exercise CSV quoting.
func churnRows(n int, asOf string) [][]any {
	var rows [][]any
	for i := 0; i < n; i++ {
		p := math.Mod(float64(i)*0.137, 1)*0.5 + dayOf(asOf)
		rows = append(rows, []any{0, fmt.Sprintf("C%05d", i), asOf, p, "low", "churn@1", `no order for 40 days, "long"`, nil, ""})
	}
	return rows
}

// publishRows publishes rows (each led by its table's index) for task.
func publishRows(t testing.TB, st datasets.Store, task, asOf, format string, rows [][]any, specs ...publish.TableSpec) *publish.Manifest {
	t.Helper()
	src := func(ctx context.Context, fn func([]any) error) error {
		for _, r := range rows {
			if err := fn(r); err != nil {
				return err
			}
		}
		return nil
	}
	m, err := publish.Publish(context.Background(), st, publish.Options{
		Dataset: testDataset, Task: task, AsOf: asOf, Format: format, PartRows: 700,
		Lineage: publish.Lineage{Model: &publish.ModelRef{Name: task, Version: 1, Kind: "logistic"}},
	}, src, tableScorer{specs})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// publishAll publishes churn, propensity (offers), demand (demand and
// preposition) and triggers as of asOf, for n customers.
func publishAll(t testing.TB, st datasets.Store, asOf string, n int) {
	t.Helper()
	publishRows(t, st, "churn", asOf, publish.FormatParquet, churnRows(n, asOf), churnSpec)
	var offers, triggers, demand [][]any
	for i := 0; i < n; i += 3 {
		id := fmt.Sprintf("C%05d", i)
		for rank := int64(3); rank >= 1; rank-- { // emitted out of order: Publish sorts
			offers = append(offers, []any{0, id, asOf, rank, fmt.Sprintf("item-%d", rank), "category", dayOf(asOf) + float64(rank)/10, "offers@2"})
		}
		triggers = append(triggers, []any{0, id, "lapse", "email", asOf, `{"days":40}`, id + "-lapse-" + asOf})
	}
	for p := 0; p < 4; p++ {
		for _, wh := range []string{"north", "south"} {
			for step := int64(1); step <= 3; step++ {
				demand = append(demand, []any{0, fmt.Sprintf("P%02d", p), wh, asOf, asOf, step, 10 + dayOf(asOf), 9.5, 14.25, 16.0, "demand@1"})
			}
			demand = append(demand, []any{1, fmt.Sprintf("P%02d", p), wh, asOf, int64(28), 40.0, 39.0, 55.5, int64(p + 1), 12.0, 0.95, 43.5})
		}
	}
	publishRows(t, st, "propensity", asOf, publish.FormatCSV, offers, offersSpec)
	publishRows(t, st, "triggers", asOf, publish.FormatParquet, triggers, triggersSpec)
	publishRows(t, st, "demand", asOf, publish.FormatParquet, demand, demandSpec, prepositionSpec)
}

// logisticCard is a native logistic model over recency_days (numeric)
// and segment (categorical: a, b): raw = intercept + 0.05*recency + 1*[segment=b].
func logisticCard(intercept float64) *models.Card {
	return &models.Card{Kind: models.KindLogistic, Task: "churn", Output: logistic.Output, Link: logistic.Link,
		Inputs:    features.Schema{Features: []features.Feature{{Name: "recency_days", Kind: features.Numeric}, {Name: "segment", Kind: features.Categorical}}},
		Intercept: &intercept, Coefficients: map[string]float64{"recency_days": 0.05, "segment=a": 0, "segment=b": 1},
		Preprocessing: &models.Preprocessing{Features: []string{"recency_days", "segment=a", "segment=b"},
			Encoders: map[string][]string{"segment": {"a", "b"}}, Impute: map[string]float64{"recency_days": 30}}}
}

func testRegistryKinds() models.Kinds { return append(models.Kinds{logistic.Kind()}, gbdt.Kinds()...) }

func testRegistry(st datasets.Store) *registry.Registry {
	return registry.New(st, registry.Options{Kinds: testRegistryKinds()})
}

// registerModels registers churn@1 (intercept -2) and churn@2 (intercept
// 0) with champion on 1, and an imported LightGBM model lgb@1.
func registerModels(t testing.TB, st datasets.Store) {
	t.Helper()
	ctx := context.Background()
	reg := testRegistry(st)
	for _, ic := range []float64{-2, 0} {
		if _, err := reg.Register(ctx, "churn", logisticCard(ic), nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := reg.Promote(ctx, "churn", 1, "champion"); err != nil {
		t.Fatal(err)
	}
	b := []byte(datatest.ReadTestdata("gbdt/lgb4/binary_categorical.txt"))
	m, err := gbdt.Import(ctx, bytes.NewReader(b), int64(len(b)), gbdt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Register(ctx, "lgb", m.Card(), &registry.File{Name: "model.txt", Body: bytes.NewReader(b), Size: int64(len(b))}); err != nil {
		t.Fatal(err)
	}
}

// newTestServer loads st and serves it on a loopback httptest server.
func newTestServer(t testing.TB, st datasets.Store, o Options) (*Server, *httptest.Server) {
	t.Helper()
	if o.Dataset == "" {
		o.Dataset = testDataset
	}
	if o.Tokens == nil {
		o.Tokens = testTokens(t)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Kinds == nil {
		o.Kinds = testRegistryKinds()
	}
	s, err := New(st, o)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(hs.Close)
	return s, hs
}

// get does a request with a token and returns the response and its body.
func do(t testing.TB, method, url, token string, body io.Reader, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read: %v", method, url, err)
	}
	return resp, b
}

// export is what `prevoir scores export` writes for a task's latest
// publication.
func export(t testing.TB, st datasets.Store, task, table, format, channel string) []byte {
	t.Helper()
	ctx := context.Background()
	m, err := publish.Resolve(ctx, st, testDataset, task, "")
	if err != nil {
		t.Fatal(err)
	}
	sup, err := privacy.Load(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	var buf bytes.Buffer
	if _, err := publish.Export(ctx, st, m, &buf, publish.ExportOptions{Table: table, Format: format, Skip: func(id string) bool {
		return sup.Forgotten(id) || channel != "" && sup.OptedOut(id, channel, now)
	}}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func newTextLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
