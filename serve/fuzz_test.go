package serve

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzCursor: any ?after= text is a cursor this server gave or a 400,
// never a panic; a cursor round-trips.
func FuzzCursor(f *testing.F) {
	f.Add(cursor{AsOf: "2024-03-01", Run: "r", Table: "churn", Key: []string{"C1"}, Eq: 1}.encode())
	f.Add("")
	f.Add("eyJhIjoiMjAyNC0wMy0wMSJ9")
	key := sortKey{cols: []int{0, 1}, ints: []bool{false, true}}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := decodeCursor(s)
		if err != nil {
			if statusOf(err) != http.StatusBadRequest {
				t.Fatalf("%q: %v", s, err)
			}
			return
		}
		if back, err := decodeCursor(c.encode()); err != nil || back.Run != c.Run || back.Eq != c.Eq {
			t.Fatalf("round trip %+v: %+v %v", c, back, err)
		}
		if typed, err := key.typed(c.Key, c.Eq); err == nil && typed != nil {
			key.compare([]any{"C1", int64(2)}, typed)
		}
	})
}

// FuzzParseTokens: no input makes the parser panic or accept a token
// shorter than 16 bytes or an unknown scope.
func FuzzParseTokens(f *testing.F) {
	f.Add("# c\ntok-aaaaaaaaaaaaaaaa scores:read,predict\n")
	f.Add("tok-aaaaaaaaaaaaaaaa\n")
	f.Fuzz(func(t *testing.T, s string) {
		toks, err := ParseTokens(strings.NewReader(s), "f")
		if err != nil {
			return
		}
		for _, tk := range toks {
			for _, sc := range tk.scopes {
				if !strings.Contains(strings.Join(Scopes, " "), sc) || sc == "" {
					t.Fatalf("scope %q accepted", sc)
				}
			}
		}
	})
}

// FuzzPredictBody: any body posted for a prediction is answered 200 or a
// 4xx, never a 500 or a panic.
func FuzzPredictBody(f *testing.F) {
	f.Add(`{"rows":[{"recency_days":40,"segment":"b"}]}`)
	f.Add(`{"rows":[{"recency_days":"x","segment":1}],"output":"raw"}`)
	f.Add(`{"rows":[{"recency_days":1e400,"segment":null}]}`)
	f.Add(`[]`)
	st := newStore(f)
	registerModels(f, st)
	s, err := New(st, Options{Dataset: testDataset, Tokens: testTokens(f), Kinds: testRegistryKinds(), Logger: newTextLogger(discard{}), MaxPredictRows: 10})
	if err != nil {
		f.Fatal(err)
	}
	if _, err := s.Reload(context.Background()); err != nil {
		f.Fatal(err)
	}
	h := s.Handler()
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest("POST", "/v1/models/churn@1/predict", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tokPredict)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != 200 && (w.Code < 400 || w.Code >= 500) {
			t.Fatalf("%q: %d %s", body, w.Code, w.Body.String())
		}
	})
}
