package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/prevoir/prevoir/features"
	"github.com/prevoir/prevoir/models"
	"github.com/prevoir/prevoir/models/registry"
)

// modelCache holds the models predictions loaded, by name@version:
// versions are immutable, so a loaded one serves every later snapshot
// whose aliases name it.
type modelCache struct {
	mu     sync.Mutex
	loaded map[string]*loadedModel
}

// loadedModel is a model ready to predict: its binder reads records in
// the card's input order.
type loadedModel struct {
	once   sync.Once
	err    error
	model  models.Model
	binder *models.Binder
	pos    map[string]int
	kinds  []features.Kind
	// counter counts the model's predictions (predicted).
	counter atomic.Pointer[prometheus.Counter]
}

// get returns name@version, loading it once.
func (c *modelCache) get(ctx context.Context, reg *registry.Registry, name string, version int) (*loadedModel, error) {
	key := name + "@" + strconv.Itoa(version)
	c.mu.Lock()
	lm, ok := c.loaded[key]
	if !ok {
		lm = &loadedModel{}
		c.loaded[key] = lm
	}
	c.mu.Unlock()
	lm.once.Do(func() {
		m, err := reg.Load(context.WithoutCancel(ctx), name, version)
		if err != nil {
			lm.err = err
			return
		}
		card := m.Card()
		names := card.Inputs.Names()
		b, err := models.NewBinder(card, names)
		if err != nil {
			lm.err = err
			return
		}
		lm.model, lm.binder, lm.pos = m, b, make(map[string]int, len(names))
		for i, f := range card.Inputs.Features {
			lm.pos[f.Name] = i
			lm.kinds = append(lm.kinds, f.Kind)
		}
	})
	if lm.err != nil {
		// Not kept: a failure reading the store may pass.
		c.mu.Lock()
		if c.loaded[key] == lm {
			delete(c.loaded, key)
		}
		c.mu.Unlock()
	}
	return lm, lm.err
}

// predictRequest is the body of POST /v1/models/{name}/predict.
type predictRequest struct {
	Rows []map[string]json.RawMessage `json:"rows"`
	// Output is "response" (default: the model's prediction on its
	// output's scale) or "raw" (the margin before the link).
	Output string `json:"output"`
}

// resolvedRef is a model reference ("NAME[@REF]") resolved in a
// snapshot, and the model a prediction loaded for it.
type resolvedRef struct {
	e  *modelEntry
	v  int
	lm atomic.Pointer[loadedModel]
}

// resolveRefs lists, for the snapshot's models, every reference a
// request may name in its canonical spelling (the name, name@latest,
// name@VERSION, name@ALIAS) with what modelRef's general path resolves it
// to, so a prediction finds its model by one map lookup.
func (s *snapshot) resolveRefs() {
	s.refs = map[string]*resolvedRef{}
	for _, n := range s.names {
		e := s.models[n]
		keys := []string{n, n + "@" + registry.Latest}
		for _, v := range e.Versions {
			keys = append(keys, n+"@"+strconv.Itoa(v))
		}
		for a := range e.Aliases {
			keys = append(keys, n+"@"+a)
		}
		for _, k := range keys {
			name, ref, err := registry.ParseRef(k)
			if err != nil || name != n {
				continue
			}
			if v, ok := e.resolve(ref); ok {
				s.refs[k] = &resolvedRef{e: e, v: v}
			}
		}
	}
}

// modelRef resolves "NAME[@REF]" in the snapshot.
func modelRef(snap *snapshot, s string) (*resolvedRef, error) {
	if rr, ok := snap.refs[s]; ok {
		return rr, nil
	}
	name, ref, err := registry.ParseRef(s)
	if err != nil {
		return nil, errorf(http.StatusBadRequest, "%v", err)
	}
	e, ok := snap.models[name]
	if !ok {
		return nil, errorf(http.StatusNotFound, "no model %q", name)
	}
	v, ok := e.resolve(ref)
	if !ok {
		return nil, errorf(http.StatusNotFound, "model %s has no version or alias %q", name, ref)
	}
	return &resolvedRef{e: e, v: v}, nil
}

var predictScratches = sync.Pool{New: func() any { return new(predictScratch) }}

// putScratch keeps sc for another request unless a large request grew it.
func putScratch(sc *predictScratch) {
	if cap(sc.vals) <= 1<<16 {
		predictScratches.Put(sc)
	}
}

// predict serves POST /v1/models/{name}/predict. The body is read whole
// (at most MaxBodyBytes); once the model is loaded, scanPredict binds
// its rows without building maps or strings, and the general path
// (predictGeneral) answers whatever it leaves: the first request for a
// model, and every malformed one, with its error.
func (s *Server) predict(w http.ResponseWriter, r *http.Request) {
	snap := s.snapshotOr503(w, r)
	if snap == nil {
		return
	}
	rr, err := modelRef(snap, r.PathValue("name"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	sc := predictScratches.Get().(*predictScratch)
	defer putScratch(sc)
	bp := bodyBuffers.Get().(*[]byte)
	defer putBody(bp)
	body, rerr := readAllInto((*bp)[:0], http.MaxBytesReader(w, r.Body, s.o.MaxBodyBytes))
	*bp = body
	if lm := rr.lm.Load(); lm != nil && rerr == nil {
		if pb, ok := lm.scanPredict(body, s.o.MaxPredictRows, sc); ok {
			s.writePrediction(w, r, rr.e, lm, models.Batch{Rows: pb.rows, Cols: lm.binder.Cols(), Values: sc.vals}, pb.kind, sc)
			return
		}
	}
	// The general path reads the same bytes, then the same read error.
	var in io.Reader = bytes.NewReader(body)
	if rerr != nil {
		in = io.MultiReader(in, errReader{rerr})
	}
	s.predictGeneral(w, r, rr, in, sc)
}

// predictGeneral decodes a prediction request with encoding/json into
// maps of rows, loads the model when it is not yet, and writes the
// prediction or the request's error.
func (s *Server) predictGeneral(w http.ResponseWriter, r *http.Request, rr *resolvedRef, body io.Reader, sc *predictScratch) {
	req, err := s.decodePredict(body)
	if err != nil {
		writeError(w, r, err)
		return
	}
	kind := models.Response
	switch req.Output {
	case "", "response":
	case "raw":
		kind = models.Raw
	default:
		writeError(w, r, errorf(http.StatusBadRequest, "output %q: want response or raw", req.Output))
		return
	}
	lm, err := s.models.get(r.Context(), s.reg, rr.e.Name, rr.v)
	if err != nil {
		writeError(w, r, err)
		return
	}
	rr.lm.Store(lm)
	cols := lm.binder.Cols()
	b := models.Batch{Rows: len(req.Rows), Cols: cols, Values: make([]float64, len(req.Rows)*cols)}
	rec := make([]string, cols)
	for i, row := range req.Rows {
		if err := lm.record(rec, row); err != nil {
			writeError(w, r, errorf(http.StatusBadRequest, "row %d: %v", i, err))
			return
		}
		if err := lm.binder.Bind(b.Row(i), rec); err != nil {
			var be *models.BindError
			if errors.As(err, &be) {
				err = fmt.Errorf("feature %q: value %s: %v", be.Name, be.Value, be.Err)
			}
			writeError(w, r, errorf(http.StatusBadRequest, "row %d: %v", i, err))
			return
		}
	}
	s.writePrediction(w, r, rr.e, lm, b, kind, sc)
}

// writePrediction scores b and writes the predictions.
func (s *Server) writePrediction(w http.ResponseWriter, r *http.Request, e *modelEntry, lm *loadedModel, b models.Batch, kind models.OutputKind, sc *predictScratch) {
	sc.out = grow(sc.out, b.Rows)
	out := sc.out
	if err := lm.model.Score(out, b, kind); err != nil {
		writeError(w, r, err)
		return
	}
	lm.predicted(s.metrics, e.Name).Add(float64(b.Rows))
	card := lm.model.Card()
	bp := bodyBuffers.Get().(*[]byte)
	defer putBody(bp)
	body := (*bp)[:0]
	body = append(body, `{"model":`...)
	body = appendJSONString(body, card.Name)
	body = append(body, `,"version":`...)
	body = strconv.AppendInt(body, int64(card.Version), 10)
	body = append(body, `,"kind":`...)
	body = appendJSONString(body, card.Kind)
	body = append(body, `,"output":`...)
	if kind == models.Raw {
		body = append(body, `"raw"`...)
	} else {
		body = append(body, `"response"`...)
	}
	body = append(body, `,"predictions":[`...)
	for i, v := range out {
		if i > 0 {
			body = append(body, ',')
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			body = append(body, "null"...)
			continue
		}
		body = strconv.AppendFloat(body, v, 'g', -1, 64)
	}
	body = append(body, "]}\n"...)
	*bp = body
	h := w.Header()
	h["Content-Type"] = headerJSON
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.Write(body)
}

// predicted returns the predictions counter of the model's name, looked
// up once.
func (lm *loadedModel) predicted(m *metrics, name string) prometheus.Counter {
	if c := lm.counter.Load(); c != nil {
		return *c
	}
	c := m.predictions.WithLabelValues(name)
	lm.counter.Store(&c)
	return c
}

// readAllInto appends what r yields to b until EOF, returning the error
// that ended it otherwise.
func readAllInto(b []byte, r io.Reader) ([]byte, error) {
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

// errReader returns its error on every read.
type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// decodePredict reads a prediction request from body (a reader bounded
// by MaxBodyBytes): one JSON object, 1 to MaxPredictRows rows.
func (s *Server) decodePredict(body io.Reader) (*predictRequest, error) {
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	var req predictRequest
	if err := dec.Decode(&req); err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return nil, errorf(http.StatusRequestEntityTooLarge, "the body exceeds %d bytes", s.o.MaxBodyBytes)
		}
		return nil, errorf(http.StatusBadRequest, "body: malformed JSON: %v (want {\"rows\": [{\"feature\": value, ...}]})", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errorf(http.StatusBadRequest, "body: one JSON object expected, found more after it")
	}
	if len(req.Rows) == 0 {
		return nil, errorf(http.StatusBadRequest, "body: rows is empty (want {\"rows\": [{\"feature\": value, ...}]})")
	}
	if len(req.Rows) > s.o.MaxPredictRows {
		return nil, errorf(http.StatusRequestEntityTooLarge, "body: %d rows, at most %d per request", len(req.Rows), s.o.MaxPredictRows)
	}
	return &req, nil
}

// record turns a row's JSON values into the text a Binder reads, in the
// card's input order: null is a missing value, a number its text, a
// string only for a categorical input. A missing or extra feature, or a
// value of the wrong type, is an error naming it.
func (lm *loadedModel) record(rec []string, row map[string]json.RawMessage) error {
	if len(row) != len(rec) || !lm.hasAll(row) {
		var missing, extra []string
		for name := range lm.pos {
			if _, ok := row[name]; !ok {
				missing = append(missing, name)
			}
		}
		for name := range row {
			if _, ok := lm.pos[name]; !ok {
				extra = append(extra, name)
			}
		}
		sort.Strings(missing)
		sort.Strings(extra)
		var msgs []string
		if len(missing) > 0 {
			msgs = append(msgs, "missing feature "+quoteList(missing))
		}
		if len(extra) > 0 {
			msgs = append(msgs, "unknown feature "+quoteList(extra)+" (not an input of the model)")
		}
		return errors.New(strings.Join(msgs, "; "))
	}
	for name, raw := range row {
		i := lm.pos[name]
		v := bytes.TrimSpace(raw)
		switch {
		case len(v) == 0:
			return fmt.Errorf("feature %q: no value", name)
		case v[0] == 'n' && string(v) == "null":
			rec[i] = ""
		case v[0] == '"':
			if lm.kinds[i] != features.Categorical {
				return fmt.Errorf("feature %q: %s is not a number (the input is numeric)", name, v)
			}
			var str string
			if err := json.Unmarshal(v, &str); err != nil {
				return fmt.Errorf("feature %q: %v", name, err)
			}
			rec[i] = str
		case v[0] == '-' || (v[0] >= '0' && v[0] <= '9'):
			rec[i] = string(v)
		default:
			return fmt.Errorf("feature %q: %s is not a number", name, v)
		}
	}
	return nil
}

func (lm *loadedModel) hasAll(row map[string]json.RawMessage) bool {
	for name := range row {
		if _, ok := lm.pos[name]; !ok {
			return false
		}
	}
	return true
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return strings.Join(q, ", ")
}

// modelVersion is one version in GET /v1/models.
type modelVersion struct {
	Version int          `json:"version"`
	Kind    string       `json:"kind"`
	Task    string       `json:"task,omitempty"`
	Aliases []string     `json:"aliases"`
	Card    *models.Card `json:"card,omitempty"`
}

func (e *modelEntry) versions(withCards bool) []modelVersion {
	out := []modelVersion{}
	for _, v := range e.Versions {
		c := e.cards[v]
		if c == nil {
			continue
		}
		mv := modelVersion{Version: v, Kind: c.Kind, Task: c.Task, Aliases: []string{}}
		for a, av := range e.Aliases {
			if av == v {
				mv.Aliases = append(mv.Aliases, a)
			}
		}
		slices.Sort(mv.Aliases)
		if withCards {
			mv.Card = c
		}
		out = append(out, mv)
	}
	return out
}

// listModels serves GET /v1/models.
func (s *Server) listModels(w http.ResponseWriter, r *http.Request) {
	snap := s.snapshotOr503(w, r)
	if snap == nil {
		return
	}
	type entry struct {
		Name     string         `json:"name"`
		Aliases  map[string]int `json:"aliases"`
		Versions []modelVersion `json:"versions"`
	}
	out := []entry{}
	for _, n := range snap.names {
		e := snap.models[n]
		out = append(out, entry{Name: n, Aliases: e.Aliases, Versions: e.versions(false)})
	}
	writeJSON(w, http.StatusOK, map[string]any{"models": out})
}

// showModel serves GET /v1/models/{name}: versions, aliases and cards.
func (s *Server) showModel(w http.ResponseWriter, r *http.Request) {
	snap := s.snapshotOr503(w, r)
	if snap == nil {
		return
	}
	name := r.PathValue("name")
	if err := registry.ValidName(name); err != nil {
		writeError(w, r, errorf(http.StatusBadRequest, "%v", err))
		return
	}
	e, ok := snap.models[name]
	if !ok {
		writeError(w, r, errorf(http.StatusNotFound, "no model %q", name))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"name": name, "aliases": e.Aliases, "versions": e.versions(true)})
}
