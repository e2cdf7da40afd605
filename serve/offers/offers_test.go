package offers_test

import (
	"cmp"
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/datasets/local"
	"github.com/prevoir/prevoir/datasets/synth"
	"github.com/prevoir/prevoir/features"
	"github.com/prevoir/prevoir/models"
	"github.com/prevoir/prevoir/models/logistic"
	"github.com/prevoir/prevoir/models/registry"
	"github.com/prevoir/prevoir/serve/offers"
	"github.com/prevoir/prevoir/serve/publish"
)

// treeModel stands for an imported GBDT bound to the propensity schema:
// no coefficients, a probability that is a fixed function of its inputs
// (item_orders, buyers_30d), so the expected offers can be recomputed.
type treeModel struct{ card *models.Card }

func (m treeModel) Card() *models.Card { return m.card }
func (m treeModel) Score(dst []float64, b models.Batch, _ models.OutputKind) error {
	for i := 0; i < b.Rows; i++ {
		dst[i] = prob(b.Values[i*b.Cols], b.Values[i*b.Cols+1])
	}
	return nil
}

func prob(orders, buyers float64) float64 {
	return 1 / (1 + math.Exp(3-0.8*orders-0.05*buyers))
}

var testKinds = models.Kinds{logistic.Kind(), {Name: "testtree", Load: func(_ context.Context, card *models.Card, _ datasets.Object) (models.Model, error) {
	return treeModel{card}, nil
}}}

func setup(t *testing.T) (datasets.Store, string) {
	t.Helper()
	st, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := synth.Generate(ctx, st, synth.Options{Name: "demo", Customers: 300, Days: 200, Seed: 7}, synth.StoreOptions{}); err != nil {
		t.Fatal(err)
	}
	asOf, err := datasets.ResolveAsOf(ctx, st, "demo", datasets.AsOfLatest, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return st, asOf
}

func register(t *testing.T, st datasets.Store, name string, extra map[string]any, inputs ...string) {
	t.Helper()
	card := &models.Card{Kind: "testtree", Task: offers.Task, Output: "probability", Lineage: &models.Lineage{Extra: extra}}
	for _, in := range inputs {
		card.Inputs.Features = append(card.Inputs.Features, features.Feature{Name: in, Kind: features.Numeric})
	}
	if _, err := registry.New(st, registry.Options{Kinds: testKinds}).Register(context.Background(), name, card, nil); err != nil {
		t.Fatal(err)
	}
}

type offer struct {
	cust, item string
	rank       int64
	p          float64
}

func published(t *testing.T, st datasets.Store, m *publish.Manifest) []offer {
	t.Helper()
	var out []offer
	err := publish.Rows(context.Background(), st, m, "", func(r []any) error {
		out = append(out, offer{cust: r[0].(string), rank: r[2].(int64), item: r[3].(string), p: r[5].(float64)})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// expected recomputes the offers from the feature table: each customer's
// candidates by probability (then item), the first top passing ok.
func expected(t *testing.T, st datasets.Store, fm *features.Manifest, top int, ok func(cust, item string, row map[string]any, taken []string) bool) []offer {
	t.Helper()
	byCust := map[string][]offer{}
	rows := map[string]map[string]any{}
	err := features.Rows(context.Background(), st, fm, func(r []any) error {
		v := map[string]any{}
		for i, c := range fm.Schema {
			v[c.Name] = r[i]
		}
		c, it := r[0].(string), r[1].(string)
		rows[c+"|"+it] = v
		byCust[c] = append(byCust[c], offer{cust: c, item: it, p: prob(float64(v["item_orders"].(int64)), float64(v["buyers_30d"].(int64)))})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var custs []string
	for c := range byCust {
		custs = append(custs, c)
	}
	slices.Sort(custs)
	var out []offer
	for _, c := range custs {
		cs := byCust[c]
		slices.SortFunc(cs, func(a, b offer) int {
			if x := cmp.Compare(b.p, a.p); x != 0 {
				return x
			}
			return strings.Compare(a.item, b.item)
		})
		var taken []string
		for _, o := range cs {
			if len(taken) == top {
				break
			}
			if ok != nil && !ok(c, o.item, rows[c+"|"+o.item], taken) {
				continue
			}
			taken = append(taken, o.item)
			o.rank = int64(len(taken))
			out = append(out, o)
		}
	}
	return out
}

// TestScoreCategoryLevel: on the generator's data (a products table with
// categories) a model without lineage scores category offers: every
// customer's top 3 candidates by the model, sorted by customer then
// rank, as recomputed from the feature table.
func TestScoreCategoryLevel(t *testing.T) {
	st, asOf := setup(t)
	register(t, st, "tree", nil, "item_orders", "buyers_30d")
	res, err := offers.Score(context.Background(), st, offers.Options{Dataset: "demo", Model: "tree", AsOf: asOf, Top: 3, Kinds: testKinds})
	if err != nil {
		t.Fatal(err)
	}
	m := res.Manifest
	if res.Features.Params.Level != features.LevelCategory || m.Params["level"] != features.LevelCategory || m.Task != offers.Task {
		t.Fatalf("level %q, params %v", res.Features.Params.Level, m.Params)
	}
	got := published(t, st, m)
	want := expected(t, st, res.Features, 3, nil)
	if len(got) != len(want) || len(got) < 300 {
		t.Fatalf("%d offers, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("offer %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	// The lineage names the feature table as stored and its inputs.
	fb, err := datasets.ReadAll(context.Background(), st, res.Features.Key())
	if err != nil {
		t.Fatal(err)
	}
	if f := m.Features; f == nil || f.Key != res.Features.Key() || f.ManifestSHA256 != publish.SHA256Hex(fb) || f.Rows != res.Features.Rows ||
		len(m.Datasets) != len(res.Features.Inputs) || len(m.Datasets) == 0 || m.Datasets[0].SHA256 != res.Features.Inputs[0].SHA256 {
		t.Errorf("feature lineage %+v, datasets %+v", m.Features, m.Datasets)
	}
	if tb := m.Tables[0]; tb.Name != offers.Table || tb.SortBy != "customer_id" || !slices.Equal(tb.ThenBy, []string{"rank"}) || tb.Customer != "customer_id" {
		t.Errorf("table spec %+v", tb.TableSpec)
	}
}

// TestScoreRules: at product level (the model's lineage says so), each
// rule removes what it says and is counted: recent purchases, a denied
// category, items out of stock, items below a minimum price, and more
// than one item per category.
func TestScoreRules(t *testing.T) {
	st, asOf := setup(t)
	ctx := context.Background()
	register(t, st, "tree", map[string]any{"level": "product", "assoc_k": 10.0, "popular_k": 10.0}, "item_orders", "buyers_30d")
	// The catalogue, and a stock count before as_of: every other product
	// has none on hand.
	pm, err := datasets.ReadManifest(ctx, st, "demo", "products")
	if err != nil {
		t.Fatal(err)
	}
	var prods []datasets.Product
	for _, p := range pm.Parts {
		rows, err := datasets.ReadPart(ctx, st, datasets.Products, p.Key)
		if err != nil {
			t.Fatal(err)
		}
		prods = append(prods, rows...)
	}
	slices.SortFunc(prods, func(a, b datasets.Product) int { return strings.Compare(a.ProductID, b.ProductID) })
	day, _ := time.Parse(time.DateOnly, asOf)
	var stock []datasets.StockLevel
	onHand := map[string]bool{}
	category, price := map[string]string{}, map[string]float64{}
	for i, p := range prods {
		category[p.ProductID], price[p.ProductID] = p.Category, *p.Price
		stock = append(stock, datasets.StockLevel{ProductID: p.ProductID, Warehouse: "w1", AsOf: day.Add(-48 * time.Hour).UnixMicro(), OnHand: float64(i % 2)})
		stock = append(stock, datasets.StockLevel{ProductID: p.ProductID, Warehouse: "w1", AsOf: day.UnixMicro(), OnHand: 5}) // at as_of: not yet known
		onHand[p.ProductID] = i%2 == 1
	}
	w, err := datasets.NewWriter(st, datasets.Stock, datasets.WriterOptions{Dataset: "demo"})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ctx, stock); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(ctx, datasets.CommitOptions{Operation: "test", TZ: "UTC"}); err != nil {
		t.Fatal(err)
	}
	denied := prods[0].Category
	rules, err := offers.ParseRules("rules.yaml", []byte("deny:\n  categories: ["+denied+"]\nin_stock: true\nmin_price: 2\nmax_per_category: 1\n"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := offers.Score(ctx, st, offers.Options{Dataset: "demo", Model: "tree", AsOf: asOf, Top: 4, Kinds: testKinds,
		ExcludeBought: datasets.Span{Days: 30}, Rules: rules})
	if err != nil {
		t.Fatal(err)
	}
	fm := res.Features
	if fm.Params.Level != features.LevelProduct || fm.Params.AssocK != 10 || fm.Params.PopularK != 10 {
		t.Fatalf("params %+v", fm.Params)
	}
	want := expected(t, st, fm, 4, func(cust, item string, row map[string]any, taken []string) bool {
		if d, ok := row["item_days_since"].(int64); ok && d < 30 {
			return false
		}
		if category[item] == denied || !onHand[item] || price[item] < 2 {
			return false
		}
		for _, x := range taken {
			if category[x] == category[item] {
				return false
			}
		}
		return true
	})
	got := published(t, st, res.Manifest)
	if len(got) != len(want) || len(got) < 100 {
		t.Fatalf("%d offers, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("offer %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	for _, r := range []string{offers.RuleExcludeBought, offers.RuleDeny, offers.RuleInStock, offers.RuleMinPrice, offers.RuleMaxPerCategory} {
		if res.Removed[r] == 0 {
			t.Errorf("rule %s removed nothing: %v", r, res.Removed)
		}
	}
	if _, ok := res.Removed[offers.RuleAllow]; ok {
		t.Errorf("allow counted without an allow list: %v", res.Removed)
	}
	if rm, ok := res.Manifest.Params["removed"].(offers.Removed); !ok || rm[offers.RuleDeny] != res.Removed[offers.RuleDeny] {
		t.Errorf("manifest params removed %v, want %v", res.Manifest.Params["removed"], res.Removed)
	}
}

func TestScoreSchemaMismatch(t *testing.T) {
	st, asOf := setup(t)
	register(t, st, "tree", nil, "item_orders", "nope")
	_, err := offers.Score(context.Background(), st, offers.Options{Dataset: "demo", Model: "tree", AsOf: asOf, Kinds: testKinds})
	var se *features.SchemaError
	if !errors.Is(err, models.ErrSchemaMismatch) || !errors.As(err, &se) || !slices.Equal(se.Missing, []string{"nope"}) {
		t.Fatalf("got %v", err)
	}
}

func TestParseRules(t *testing.T) {
	r, err := offers.ParseRules("r.yaml", []byte("allow:\n  items: [a, b]\nmin_price: 1.5\n"))
	if err != nil || !slices.Equal(r.Allow.Items, []string{"a", "b"}) || *r.MinPrice != 1.5 {
		t.Fatalf("%+v %v", r, err)
	}
	if r, err := offers.ParseRules("r.yaml", nil); err != nil || r.InStock {
		t.Errorf("empty file: %+v %v", r, err)
	}
	for _, c := range []struct{ in, want string }{
		{"deny:\n  item: [a]\n", "r.yaml: yaml: unmarshal errors:\n  line 2: field item not found"},
		{"max_per_category: -1\n", "max_per_category -1"},
		{"in_stock: maybe\n", "line 1"},
		{"top: 3\n---\ntop: 4\n", "field top not found"},
		{"in_stock: true\n---\nin_stock: false\n", "r.yaml:3: one YAML document expected"},
	} {
		if _, err := offers.ParseRules("r.yaml", []byte(c.in)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.in, err, c.want)
		}
	}
}
