package xgbjson

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/prevoir/prevoir/models"
)

// seeds adds small fixtures to a fuzz corpus: the tiny dart model and
// the refused ones (as UBJSON too), and hostile documents. Big models make
// the fuzzer slow.
func seeds(f *testing.F, ubj bool) {
	names, _ := filepath.Glob(filepath.Join(fixtureDir, "refuse_*.json"))
	names = append(names, filepath.Join(fixtureDir, "tiny_dart.json"))
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			f.Fatal(err)
		}
		if ubj {
			var d doc
			if json.Unmarshal(b, &d) != nil {
				continue // NaN literals: encoding/json refuses them
			}
			b = toUBJSON(d)
		}
		f.Add(b)
	}
	if ubj {
		b, err := os.ReadFile(filepath.Join(fixtureDir, "tiny_dart.ubj"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(hostileUBJSON(1<<40, true))
		f.Add(hostileUBJSON(3, false))
	} else {
		f.Add([]byte(`{"learner":{},"version":[1,7,4]}`))
		f.Add([]byte(`{"a":"\u00e9\ud83d\ude00","b":[1e400,-0,NaN,-Infinity,true,null]}`))
	}
}

// checkRead asserts what any input must give: a model or a *models.RefusedError,
// never a panic; and a model that is well formed.
func checkRead(t *testing.T, m *Model, err error) {
	if err != nil {
		var re *models.RefusedError
		if !errors.As(err, &re) {
			t.Fatalf("error %v (%T) is not a *models.RefusedError", err, err)
		}
		return
	}
	for i, tr := range m.Trees {
		n := len(tr.Left)
		if n == 0 || len(tr.Right) != n || len(tr.Feature) != n || len(tr.Value) != n || len(tr.DefaultLeft) != n {
			t.Fatalf("tree %d: inconsistent arrays", i)
		}
		for j := range n {
			if tr.Left[j] == -1 {
				if tr.Right[j] != -1 {
					t.Fatalf("tree %d node %d: one child", i, j)
				}
				continue
			}
			for _, c := range []int32{tr.Left[j], tr.Right[j]} {
				if c <= int32(j) || int(c) >= n {
					t.Fatalf("tree %d node %d: child %d", i, j, c)
				}
			}
			if f := tr.Feature[j]; f < 0 || int(f) >= m.NumFeatures {
				t.Fatalf("tree %d node %d: feature %d", i, j, f)
			}
		}
	}
}

// FuzzUBJSON feeds arbitrary bytes to the UBJSON reader, and to the
// decoder alone (skipping whatever document it finds).
func FuzzUBJSON(f *testing.F) {
	seeds(f, true)
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ReadUBJSON(b, Limits{})
		checkRead(t, m, err)
		d := newUBJSON(b)
		if err := skip(d); err == nil {
			_ = d.end()
		}
	})
}

// FuzzJSON feeds arbitrary bytes to the JSON reader, and to the decoder
// alone.
func FuzzJSON(f *testing.F) {
	seeds(f, false)
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ReadJSON(b, Limits{})
		checkRead(t, m, err)
		d := newJSON(b)
		if err := skip(d); err == nil {
			_ = d.end()
		}
	})
}
