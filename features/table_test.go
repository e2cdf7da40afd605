package features

import (
	"context"
	"strings"
	"testing"

	"github.com/prevoir/prevoir/datasets"
)

// TestRowsMalformedPart: a feature part whose bytes are damaged or that
// is not Parquet gives an error naming it (the decoder is guarded), never
// a crash.
func TestRowsMalformedPart(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	randomHistory(3, 300).write(t, st, "d", 0)
	r := mustBuild(t, st, Options{Dataset: "d", AsOf: "2024-03-01", Labels: true})
	key := r.Manifest.Parts[0].Key
	good, err := datasets.ReadAll(ctx, st, key)
	if err != nil {
		t.Fatal(err)
	}
	damaged := 0
	for _, frac := range []float64{0.1, 0.3, 0.5, 0.7, 0.9} {
		b := append([]byte(nil), good...)
		at := int(frac * float64(len(b)))
		for i := at; i < at+32 && i < len(b)-8; i++ {
			b[i] ^= 0xa5
		}
		if _, err := datasets.PutBytes(ctx, st, key, b, datasets.PutOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadFrame(ctx, st, r.Manifest); err != nil {
			damaged++
			if !strings.Contains(err.Error(), key) {
				t.Errorf("damage at %.0f%%: error does not name the part: %v", frac*100, err)
			}
		}
	}
	if damaged == 0 {
		t.Error("no damage was detected")
	}
	if _, err := datasets.PutBytes(ctx, st, key, []byte("PAR1 garbage PAR1"), datasets.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadFrame(ctx, st, r.Manifest); err == nil || !strings.Contains(err.Error(), key) {
		t.Errorf("garbage part: %v", err)
	}
}
