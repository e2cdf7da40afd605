package offers

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"

	"github.com/prevoir/prevoir/features"
	"github.com/prevoir/prevoir/models"
	"github.com/prevoir/prevoir/serve/publish"
)

// Task is the task name of offer publications.
const Task = features.TaskPropensity

// Table is the name of the offers table.
const Table = "offers"

// DefaultTop is the number of offers per customer.
const DefaultTop = 12

// Columns of the offers table.
var columns = []publish.Column{
	{Name: "customer_id", Type: publish.TypeString, Description: "the customer"},
	{Name: "as_of", Type: publish.TypeString, Description: "the scoring date (YYYY-MM-DD): features use only facts before it"},
	{Name: "rank", Type: publish.TypeInt64, Description: "1 for the customer's most likely purchase, then 2, ..."},
	{Name: "item", Type: publish.TypeString, Description: "the offered item: a product_id, or a category at category level"},
	{Name: "level", Type: publish.TypeString, Description: "product or category"},
	{Name: "probability", Type: publish.TypeDouble, Description: "probability that the customer buys the item within the model's horizon"},
	{Name: "model", Type: publish.TypeString, Description: "the model version that scored the row, NAME@VERSION"},
}

// Catalogue is what the rules know about items: a product's category and
// list price, and its units on hand (when a stock table exists).
type Catalogue struct {
	Category map[string]string
	Price    map[string]float64
	// OnHand is nil without a stock table.
	OnHand map[string]float64
}

// Selection configures how ranked candidates become offers.
type Selection struct {
	// Top is the offers per customer (0: DefaultTop).
	Top int
	// ExcludeBoughtDays removes items the customer bought in the last
	// that many days (0: none).
	ExcludeBoughtDays int
	// Rules, nil for none.
	Rules *Rules
	// Level is the feature table's level.
	Level string
}

// Removed counts the candidates each rule removed. Filters (exclude
// bought, deny, allow, in stock, min price) count every candidate they
// remove, each under the first rule that removes it; max_per_category
// counts the items passed over while a customer's list was filling.
type Removed map[string]int64

// Scorer is the propensity task's publish.Scorer. Its input rows are
// customers, each with its candidate rows (Source groups them).
type Scorer struct {
	model models.Model
	label string
	asOf  string
	sel   Selection
	cat   *Catalogue
	// positions in the feature rows
	itemCol, sinceCol, priceCol int
	cols                        []int
	mu                          sync.Mutex
	removed                     Removed
	// buffers
	batch models.Batch
	probs []float64
	out   []any
}

// candidate is one candidate row, copied from the feature table.
type candidate struct {
	item        string
	since       float64 // item_days_since, NaN when never bought
	price       float64 // mean_price, NaN when unknown
	probability float64
}

// customer is one input row of the Scorer: a customer's candidates, and
// their model inputs (len(cands) x inputs, row-major).
type customer struct {
	id     string
	cands  []candidate
	inputs []float64
}

// NewScorer binds a model to a propensity feature table: every model
// input must be a feature of the table, of the same kind (a refusal wraps
// models.ErrSchemaMismatch and a *features.SchemaError).
func NewScorer(m models.Model, fm *features.Manifest, asOf string, sel Selection, cat *Catalogue) (*Scorer, error) {
	if sel.Top == 0 {
		sel.Top = DefaultTop
	}
	if sel.Top < 1 || sel.ExcludeBoughtDays < 0 {
		return nil, fmt.Errorf("offers: top %d, exclude bought %dd: want top >= 1 and a span >= 0", sel.Top, sel.ExcludeBoughtDays)
	}
	if sel.Rules != nil {
		if err := sel.Rules.Check(); err != nil {
			return nil, err
		}
	}
	if cat == nil {
		cat = &Catalogue{}
	}
	card := m.Card()
	s := &Scorer{model: m, label: fmt.Sprintf("%s@%d", card.Name, card.Version), asOf: asOf, sel: sel, cat: cat,
		itemCol: -1, sinceCol: -1, priceCol: -1, removed: Removed{}}
	// Every rule in effect is counted, zero or not.
	if sel.ExcludeBoughtDays > 0 {
		s.removed[RuleExcludeBought] = 0
	}
	if r := sel.Rules; r != nil {
		for rule, on := range map[string]bool{RuleDeny: !r.Deny.empty(), RuleAllow: !r.Allow.empty(), RuleInStock: r.InStock,
			RuleMinPrice: r.MinPrice != nil, RuleMaxPerCategory: r.MaxPerCategory > 0} {
			if on {
				s.removed[rule] = 0
			}
		}
	}
	pos := map[string]int{}
	kinds := map[string]features.Kind{}
	ids := 0
	for i, c := range fm.Schema {
		switch c.Role {
		case "feature":
			pos[c.Name], kinds[c.Name] = i, c.Kind
		case "id":
			if c.Type == "string" {
				if ids == 1 {
					s.itemCol = i
				}
				ids++
			}
		}
	}
	if fm.Task != Task || s.itemCol < 0 {
		return nil, fmt.Errorf("feature table %s is not a propensity table (customer_id, item)", fm.Key())
	}
	s.sinceCol, s.priceCol = at(pos, "item_days_since"), at(pos, "mean_price")
	var se features.SchemaError
	for _, f := range card.Inputs.Features {
		i, ok := pos[f.Name]
		if !ok {
			se.Missing = append(se.Missing, f.Name)
			continue
		}
		if f.Kind != "" && kinds[f.Name] != "" && f.Kind != kinds[f.Name] {
			return nil, fmt.Errorf("model %s: %w: input %q is %s, the feature table's column is %s", s.label, models.ErrSchemaMismatch, f.Name, f.Kind, kinds[f.Name])
		}
		s.cols = append(s.cols, i)
	}
	if len(se.Missing) > 0 {
		return nil, fmt.Errorf("model %s does not fit the feature table %s (the model's inputs must be among the propensity features): %w", s.label, fm.Key(), schemaMismatch{&se})
	}
	return s, nil
}

func at(pos map[string]int, name string) int {
	if i, ok := pos[name]; ok {
		return i
	}
	return -1
}

// schemaMismatch is a *features.SchemaError that is also
// models.ErrSchemaMismatch.
type schemaMismatch struct{ *features.SchemaError }

func (e schemaMismatch) Is(target error) bool { return target == models.ErrSchemaMismatch }
func (e schemaMismatch) Unwrap() error        { return e.SchemaError }

// Removed returns a copy of the counts so far.
func (s *Scorer) Removed() Removed {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := Removed{}
	for k, v := range s.removed {
		out[k] = v
	}
	return out
}

// Tables declares the offers table: sorted by customer, then rank.
func (s *Scorer) Tables() []publish.TableSpec {
	return []publish.TableSpec{{Name: Table, Columns: columns, SortBy: "customer_id", ThenBy: []string{"rank"}, Customer: "customer_id"}}
}

// Source streams a propensity feature table's rows (sorted by customer)
// as one input row per customer for the Scorer; keep, when not nil,
// selects the customers (a shard).
func (s *Scorer) Source(rows publish.Source, keep func(id string) bool) publish.Source {
	return func(ctx context.Context, fn func([]any) error) error {
		var cur *customer
		flush := func() error {
			if cur == nil {
				return nil
			}
			c := cur
			cur = nil
			return fn([]any{c.id, c})
		}
		err := rows(ctx, func(r []any) error {
			id, _ := r[0].(string)
			if keep != nil && !keep(id) {
				return nil
			}
			if cur != nil && cur.id != id {
				if id < cur.id {
					return fmt.Errorf("feature rows not sorted by customer: %q after %q", id, cur.id)
				}
				if err := flush(); err != nil {
					return err
				}
			}
			if cur == nil {
				cur = &customer{id: id}
			}
			item, _ := r[s.itemCol].(string)
			c := candidate{item: item, since: math.NaN(), price: math.NaN()}
			if s.sinceCol >= 0 {
				c.since = value(r[s.sinceCol])
			}
			if s.priceCol >= 0 {
				c.price = value(r[s.priceCol])
			}
			cur.cands = append(cur.cands, c)
			for _, j := range s.cols {
				cur.inputs = append(cur.inputs, value(r[j]))
			}
			return nil
		})
		if err != nil {
			return err
		}
		return flush()
	}
}

// value turns a feature value into a number (NaN for a null).
func value(v any) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case int64:
		return float64(x)
	}
	return math.NaN()
}

// Score scores a batch of customers and emits each one's offers.
func (s *Scorer) Score(_ context.Context, in [][]any, emit func(int, []any) error) error {
	k := len(s.cols)
	n := 0
	custs := make([]*customer, len(in))
	for i, r := range in {
		c, ok := r[1].(*customer)
		if !ok {
			return fmt.Errorf("offers: input row %d is not a customer's candidates", i)
		}
		custs[i] = c
		n += len(c.cands)
	}
	if cap(s.batch.Values) < n*k || cap(s.probs) < n {
		s.batch.Values = make([]float64, 0, n*k)
		s.probs = make([]float64, n)
	}
	vals := s.batch.Values[:0]
	for _, c := range custs {
		vals = append(vals, c.inputs...)
	}
	s.batch = models.Batch{Rows: n, Cols: k, Values: vals}
	probs := s.probs[:n]
	if n > 0 {
		if err := s.model.Score(probs, s.batch, models.Response); err != nil {
			return fmt.Errorf("model %s: %w", s.label, err)
		}
	}
	removed := Removed{}
	off := 0
	for _, c := range custs {
		for j := range c.cands {
			p := probs[off+j]
			if math.IsNaN(p) || p < 0 || p > 1 {
				return fmt.Errorf("model %s: customer %s, item %s: probability %v outside [0, 1]", s.label, c.id, c.cands[j].item, p)
			}
			c.cands[j].probability = p
		}
		off += len(c.cands)
		if err := s.offers(c, removed, emit); err != nil {
			return err
		}
		c.inputs, c.cands = nil, nil
	}
	s.mu.Lock()
	for r, v := range removed {
		s.removed[r] += v
	}
	s.mu.Unlock()
	return nil
}

// offers ranks a customer's candidates, applies the rules and emits the
// top N.
func (s *Scorer) offers(c *customer, removed Removed, emit func(int, []any) error) error {
	cs := c.cands
	slices.SortFunc(cs, func(a, b candidate) int {
		if x := cmp.Compare(b.probability, a.probability); x != 0 {
			return x
		}
		return strings.Compare(a.item, b.item)
	})
	var perCat map[string]int
	if s.sel.Rules != nil && s.sel.Rules.MaxPerCategory > 0 {
		perCat = map[string]int{}
	}
	if s.out == nil {
		s.out = make([]any, len(columns))
	}
	rank := int64(0)
	for i := range cs {
		cd := &cs[i]
		cat := s.category(cd.item)
		if rule := s.filter(cd, cat); rule != "" {
			removed[rule]++
			continue
		}
		if rank == int64(s.sel.Top) {
			continue // keep counting the filters over every candidate
		}
		if perCat != nil && cat != "" {
			if perCat[cat] >= s.sel.Rules.MaxPerCategory {
				removed[RuleMaxPerCategory]++
				continue
			}
			perCat[cat]++
		}
		rank++
		o := s.out
		o[0], o[1], o[2], o[3], o[4], o[5], o[6] = c.id, s.asOf, rank, cd.item, s.sel.Level, cd.probability, s.label
		if err := emit(0, o); err != nil {
			return err
		}
	}
	return nil
}

// category is an item's category: itself at category level, else the
// catalogue's ("" when unknown).
func (s *Scorer) category(item string) string {
	if s.sel.Level == features.LevelCategory {
		return item
	}
	return s.cat.Category[item]
}

// filter returns the first rule that removes a candidate, "" when none.
func (s *Scorer) filter(c *candidate, cat string) string {
	if d := s.sel.ExcludeBoughtDays; d > 0 && !math.IsNaN(c.since) && c.since < float64(d) {
		return RuleExcludeBought
	}
	r := s.sel.Rules
	if r == nil {
		return ""
	}
	if r.Deny.has(c.item, cat) {
		return RuleDeny
	}
	if !r.Allow.empty() && !r.Allow.has(c.item, cat) {
		return RuleAllow
	}
	if r.InStock && s.cat.OnHand != nil && s.sel.Level == features.LevelProduct && !(s.cat.OnHand[c.item] > 0) {
		return RuleInStock
	}
	if r.MinPrice != nil {
		price := c.price
		if p, ok := s.cat.Price[c.item]; ok && s.sel.Level == features.LevelProduct {
			price = p
		}
		if math.IsNaN(price) || price < *r.MinPrice {
			return RuleMinPrice
		}
	}
	return ""
}
