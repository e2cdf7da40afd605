package serve

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestIndexLookup: every id finds its rows, in the order added per
// table, and only them; absent ids (between, before and after the
// stored ones) find none; a lookup allocates nothing.
func TestIndexLookup(t *testing.T) {
	cols := churnSpec.Columns[:2]
	rng := rand.New(rand.NewPCG(1, 2))
	want := map[string][]string{}
	ib := newIndexBuilder()
	for _, i := range rng.Perm(3000) {
		id := fmt.Sprintf("C%05d", i*2+1) // odd numbers: even ones are absent
		for k := 0; k < 1+i%3; k++ {
			day := fmt.Sprintf("2024-03-%02d", k+1)
			ib.add(id, uint32(k), "", cols, []any{id, day})
			want[id] = append(want[id], fmt.Sprintf(`{"customer_id":%q,"as_of":%q}`, id, day))
		}
	}
	x := ib.build()
	if x.len() != len(want) {
		t.Fatalf("%d ids, want %d", x.len(), len(want))
	}
	for id, w := range want {
		rows := x.lookup(id)
		if len(rows) != len(w) {
			t.Fatalf("%s: %d rows, want %d", id, len(rows), len(w))
		}
		for k, r := range rows {
			if got := string(x.text(r)); got != w[k] || r.table != uint32(k) {
				t.Fatalf("%s row %d: %s (table %d), want %s", id, k, got, r.table, w[k])
			}
		}
	}
	for _, id := range []string{"", "A", "C00000", "C00002", "C05998", "C06000", "D", "C0000", "C000011"} {
		if rows := x.lookup(id); rows != nil {
			t.Errorf("%q: %d rows", id, len(rows))
		}
	}
	var empty *index
	if empty.lookup("C00001") != nil || empty.len() != 0 || newIndexBuilder().build().lookup("x") != nil {
		t.Fatal("an empty index found rows")
	}
	if n := testing.AllocsPerRun(100, func() { x.lookup("C04001") }); n != 0 {
		t.Errorf("%v allocations per lookup", n)
	}
}
