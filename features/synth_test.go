package features

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/prevoir/prevoir/datasets/synth"
)

// rocAUC is the probability that a random positive scores above a random
// negative (ties count half): the Mann-Whitney statistic.
func rocAUC(score []float64, pos []bool) float64 {
	idx := make([]int, len(score))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return score[idx[a]] < score[idx[b]] })
	var rankSum, np, nn float64
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && score[idx[j]] == score[idx[i]] {
			j++
		}
		avg := float64(i+j+1) / 2 // 1-based average rank of the tie group
		for k := i; k < j; k++ {
			if pos[idx[k]] {
				rankSum += avg
			}
		}
		i = j
	}
	for _, p := range pos {
		if p {
			np++
		} else {
			nn++
		}
	}
	return (rankSum - np*(np+1)/2) / (np * nn)
}

// TestDropoutSeparation: on a generated history, recency divided by the
// mean gap separates the customers the generator's truth (_latent/) says
// dropped out before as_of from the others with ROC AUC >= 0.8. Rows
// whose ratio is null (fewer than two orders) are left out: the ratio is
// undefined for them, and the trainer imputes it.
func TestDropoutSeparation(t *testing.T) {
	if testing.Short() {
		t.Skip("generates a history")
	}
	ctx := context.Background()
	st := newStore(t)
	o := synth.Options{Name: "gen", Customers: 4000, Seed: 42}
	if _, err := synth.Generate(ctx, st, o, synth.StoreOptions{}); err != nil {
		t.Fatal(err)
	}
	r := mustBuild(t, st, Options{Dataset: "gen", AsOf: "2024-10-01"})
	fr, err := ReadFrame(ctx, st, r.Manifest)
	if err != nil {
		t.Fatal(err)
	}
	asOf := time.Date(2024, 10, 1, 0, 0, 0, 0, time.UTC)
	dropped := map[string]bool{}
	if err := synth.ReadLatentCustomers(ctx, st, "gen", func(c *synth.LatentCustomer) error {
		dropped[c.CustomerID] = c.Dropped(asOf)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	j := fr.Schema.Index("recency_gap_ratio")
	var score []float64
	var pos []bool
	nulls := 0
	for i, id := range fr.IDs {
		d, ok := dropped[id]
		if !ok {
			t.Fatalf("customer %s not in _latent", id)
		}
		if !fr.Valid[j][i] {
			nulls++
			continue
		}
		score = append(score, fr.Values[j][i])
		pos = append(pos, d)
	}
	auc := rocAUC(score, pos)
	t.Logf("%d rows, %d with a ratio (%d null), AUC %.4f", len(fr.IDs), len(score), nulls, auc)
	if auc < 0.8 {
		t.Errorf("recency/mean gap separates dropouts with AUC %.4f, want >= 0.8", auc)
	}
}
