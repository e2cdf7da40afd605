package synth

import (
	"math"
	"slices"

	"github.com/prevoir/prevoir/datasets"
)

// Channels of an order.
const (
	chWeb uint8 = iota
	chApp
	chStore
)

var channelNames = []string{"web", "app", "store"}

// Web event kinds.
const (
	evView uint8 = iota
	evCartAdd
	evSearch
)

var eventNames = []string{"view", "cart_add", "search"}

// Loyalty ledger reasons.
const (
	lySignup uint8 = iota
	lyPurchase
	lyReturn
	lyRedeem
)

var ledgerReasons = []string{"signup", "purchase", "return", "redeem"}

// Consent channels.
const (
	consentEmail uint8 = iota
	consentSMS
)

var consentChannels = []string{"email", "sms"}

// line is one order line; ts is in seconds since the history start.
type line struct {
	ts      int64
	cents   int64
	cust    int32
	seq     int32 // order sequence within the customer (1-based)
	product int32
	qty     int32 // negative for a return
	promo   int32 // promotion index, -1 none
	wh      uint8
	ch      uint8
}

type event struct {
	ts      int64
	cust    int32
	session int32 // per customer, from 1
	product int32 // -1 for a search
	cat     int16
	kind    uint8
	ch      uint8 // web or app
}

type ledgerEntry struct {
	ts     int64
	cust   int32
	seq    int32 // order the entry refers to, 0 none
	points int32
	reason uint8
}

type consentRec struct {
	ts      int64
	cust    int32
	channel uint8
	in      bool
}

// custInfo is a customer's attributes and latent truth.
type custInfo struct {
	idx        int32
	acq        int64 // first order, seconds since start
	signup     int64
	rate       float64 // orders per day while alive, at seasonal factor 1
	dropP      float64 // probability of dropping out after each order
	dropout    int64   // seconds since start of the order after which the customer dropped out; -1 none
	home       uint8
	channel    uint8 // preferred channel
	loyalty    bool
	basket     float64
	repeat     float64
	returner   float64
	orders     int32
	birthYear  int32
	seenSrc    uint8    // bit k: the customer has bought pair k's source category
	triggered  [8]int64 // per cross-sell pair: seconds of the triggering source purchase, -1 none
	crossOrder [8]int64 // per pair: the triggered target purchase's time, -1 none (cancelled or past end)
	optOut     [2]int64 // per consent channel: time of the opt-out in force at the end, -1 none
	optIn      [2]bool  // per consent channel: opted in at the end
}

// batch holds the rows of a run of consecutive customers.
type batch struct {
	k       int // chunk number
	first   int // index of the first customer
	n       int
	lines   []line
	events  []event
	ledger  []ledgerEntry
	consent []consentRec
	custs   []custInfo
	affs    []float64         // n * categories affinities, in customer order
	enc     [][]byte          // per-output encoded bytes (CSV text, gzip members)
	rows    *rows             // canonical rows for the store (a fresh set per batch)
	latent  datasets.CSVChunk // the latent customers' gzip member (store sink)
}

func (b *batch) reset(k, first, n int) {
	b.k, b.first, b.n = k, first, n
	b.lines = b.lines[:0]
	b.events = b.events[:0]
	b.ledger = b.ledger[:0]
	b.consent = b.consent[:0]
	b.custs = b.custs[:0]
	b.affs = b.affs[:0]
	for i := range b.enc {
		b.enc[i] = b.enc[i][:0]
	}
}

// sim is one worker's simulation state.
type sim struct {
	w            *world
	seed         uint64
	web, aux     bool // generate events / loyalty, consent
	life, wr, ar *stream
	affCum       []float64
	aff          []float64
	hist         [16]int32
	nhist        int
	pend         []pending
	order        []int32 // products of the current order
	times        []int64
}

type pending struct {
	at   float64 // days since start
	pair int
}

func newSim(w *world, seed uint64, web, aux bool) *sim {
	return &sim{w: w, seed: seed, web: web, aux: aux, life: newStream(), wr: newStream(), ar: newStream(),
		affCum: make([]float64, w.nc), aff: make([]float64, w.nc)}
}

const day = 86400

// timeOfDay draws seconds after midnight from the intraday profile.
func (s *sim) timeOfDay(r *stream) int64 {
	h := r.pick(s.w.hourCum)
	return int64(h)*3600 + int64(r.IntN(3600))
}

// product draws a product of category c for warehouse wh on day d,
// promotions raising their product's weight by their uplift.
func (s *sim) product(r *stream, wh, c, d int) int32 {
	w := s.w
	if act := w.active(d, wh, c); len(act) > 0 {
		var extra float64
		for _, pi := range act {
			pr := &w.promos[pi]
			extra += (pr.uplift - 1) * w.weight[wh][pr.product]
		}
		u := r.Float64() * (1 + extra)
		if u >= 1 {
			u -= 1
			for _, pi := range act {
				pr := &w.promos[pi]
				e := (pr.uplift - 1) * w.weight[wh][pr.product]
				if u < e {
					return pr.product
				}
				u -= e
			}
			return w.promos[act[len(act)-1]].product
		}
	}
	a := &w.choice[wh*w.nc+c]
	return w.catProds[c][a.draw(r)]
}

func (s *sim) setAffCum() {
	var t float64
	for i, a := range s.aff {
		t += a
		s.affCum[i] = t
	}
}

// customer simulates customer idx and appends its rows to b.
func (s *sim) customer(b *batch, idx int) {
	w := s.w
	L := s.life
	L.seed(s.seed, uint64(idx), streamLife)
	T := float64(w.days)
	ci := custInfo{idx: int32(idx), dropout: -1}
	for i := range ci.triggered {
		ci.triggered[i] = -1
		ci.crossOrder[i] = -1
	}
	a := L.Float64() * T
	ci.rate = L.gamma(rateShape, rateMean/rateShape)
	ci.dropP = L.beta(dropA, dropB)
	ci.home = uint8(L.pick(w.whWeights))
	var at float64
	for c := range s.aff {
		s.aff[c] = L.gamma(w.affAlpha[c], 1)
		at += s.aff[c]
	}
	if at == 0 {
		s.aff[L.pick(w.catShareCum)] = 1
		at = 1
	}
	for c := range s.aff {
		s.aff[c] /= at
	}
	b.affs = append(b.affs, s.aff...)
	s.setAffCum()
	ci.basket = L.gamma(2, s.w.basketTheta)
	ci.repeat = L.beta(repeatA, repeatB)
	ci.channel = uint8(L.pick([]float64{0.55, 0.8, 1}))
	ci.returner = L.gamma(2, 0.5)
	s.nhist = 0
	s.pend = s.pend[:0]

	first := len(b.lines)
	M := w.maxFactor
	nextRegular := func(t float64) float64 {
		for {
			t += L.ExpFloat64() / (ci.rate * M)
			if t >= T {
				return T
			}
			if L.Float64()*M < w.dayFactor[int(t)] {
				return t
			}
		}
	}
	// The regular orders are a Poisson process thinned by the seasonal
	// factor; triggered cross-sell orders are interleaved at their own
	// times. The process is memoryless, so a regular candidate drawn before
	// a trigger stays valid after it.
	t, trig, regular := a, -1, true
	nextReg := T
	lastTs := int64(-1)
	for seq := int32(1); ; seq++ {
		d := int(t)
		ts := int64(d)*day + s.timeOfDay(L)
		// Orders keep the process's order within a day, so a dropout is
		// the last order.
		if ts <= lastTs {
			ts = min(lastTs+60, int64(w.days)*day-1)
		}
		lastTs = ts
		if seq == 1 {
			ci.acq = ts
		}
		if trig >= 0 {
			s.aff[w.crossTgt[trig]] += w.cross[trig].AffinityBoost
			s.setAffCum()
			ci.crossOrder[trig] = ts
		}
		s.placeOrder(b, &ci, seq, ts, d, t, trig)
		ci.orders = seq
		if L.Float64() < ci.dropP {
			ci.dropout = ts
			break
		}
		if seq >= maxOrders {
			break
		}
		if regular {
			nextReg = nextRegular(t)
		}
		bi := -1
		for i, p := range s.pend {
			if p.at < nextReg && (bi < 0 || p.at < s.pend[bi].at) {
				bi = i
			}
		}
		if bi >= 0 {
			t, trig, regular = s.pend[bi].at, s.pend[bi].pair, false
			s.pend = slices.Delete(s.pend, bi, bi+1)
			continue
		}
		if nextReg >= T {
			break
		}
		t, trig, regular = nextReg, -1, true
	}
	// rows of one customer are sorted by time (returns come later than
	// their order); the sort is stable so an order's lines keep their order.
	ls := b.lines[first:]
	slices.SortStableFunc(ls, func(x, y line) int { return cmpInt64(x.ts, y.ts) })
	if s.aux {
		s.auxRows(b, &ci, ls)
	}
	if s.web {
		s.webRows(b, &ci, ls)
	}
	b.custs = append(b.custs, ci)
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// placeOrder appends the lines of one order (and its later return, if
// any) at ts (seconds since start; day d; process time t in days). trig >= 0
// marks an order triggered by cross-sell pair trig: its first line is in the
// pair's target category.
func (s *sim) placeOrder(b *batch, ci *custInfo, seq int32, ts int64, d int, t float64, trig int) {
	w := s.w
	L := s.life
	wh := int(ci.home)
	if w.nw > 1 && L.Float64() >= homeShare {
		wh = L.IntN(w.nw - 1)
		if wh >= int(ci.home) {
			wh++
		}
	}
	ch := ci.channel
	if L.Float64() < 0.2 {
		ch = uint8(L.IntN(3))
	}
	n := 1 + L.poisson(ci.basket)
	if trig >= 0 {
		n = 1 + L.poisson(0.3)
	}
	s.order = s.order[:0]
	lstart := len(b.lines)
	for j := 0; j < n; j++ {
		p := int32(-1)
		for try := 0; try < 3; try++ {
			var q int32
			switch {
			case trig >= 0 && j == 0:
				q = s.product(L, wh, w.crossTgt[trig], d)
			case s.nhist > 0 && L.Float64() < ci.repeat:
				q = s.hist[L.IntN(min(s.nhist, len(s.hist)))]
			default:
				q = s.product(L, wh, L.pick(s.affCum), d)
			}
			if !slices.Contains(s.order, q) {
				p = q
				break
			}
		}
		if p < 0 {
			continue
		}
		s.order = append(s.order, p)
		c := int(w.prodCat[p])
		cat := &categories[c]
		qty := 1 + L.geometric(cat.qtyP)
		cents := w.priceAt(p, d)
		promo := w.promoFor(p, d, wh)
		if promo >= 0 {
			cents = max(1, int64(math.Round(float64(cents)*(1-w.promos[promo].discount))))
		}
		b.lines = append(b.lines, line{ts: ts, cents: cents, cust: ci.idx, seq: seq, product: p,
			qty: int32(qty), promo: int32(promo), wh: uint8(wh), ch: ch})
		s.hist[s.nhist%len(s.hist)] = p
		s.nhist++
		if k := w.crossSrc[c]; k >= 0 && ci.seenSrc&(1<<k) == 0 {
			ci.seenSrc |= 1 << k
			if L.Float64() < w.cross[k].Probability {
				ci.triggered[k] = ts
				delay := L.gamma(4, w.cross[k].DelayDays/4)
				s.pend = append(s.pend, pending{at: t + delay, pair: k})
			}
		}
	}
	// returns: each line independently, all returned together later
	lend := len(b.lines)
	rts := int64(-1)
	endSec := int64(w.days) * day
	for i := lstart; i < lend; i++ {
		l := b.lines[i]
		if L.Float64() >= categories[w.prodCat[l.product]].returnRate*ci.returner {
			continue
		}
		if rts < 0 {
			rts = ts + int64((1+L.gamma(2, 4))*day)
		}
		if rts >= endSec {
			continue
		}
		r := l
		r.ts = rts
		r.qty = -int32(1 + L.IntN(int(l.qty)))
		b.lines = append(b.lines, r)
	}
}

// auxRows appends the customer's loyalty ledger and consent records, from
// the customer's own auxiliary stream.
func (s *sim) auxRows(b *batch, ci *custInfo, ls []line) {
	A := s.ar
	A.seed(s.seed, uint64(ci.idx), streamAux)
	endSec := int64(s.w.days) * day
	ci.signup = max(0, ci.acq-int64(A.IntN(14*day)))
	ci.loyalty = A.Float64() < 0.45
	ci.birthYear = int32(min(2006, max(1930, math.Round(1980+14*A.NormFloat64()))))
	if ci.loyalty {
		b.ledger = append(b.ledger, ledgerEntry{ts: ci.acq, cust: ci.idx, points: 100, reason: lySignup})
		bal := int64(100)
		for i := 0; i < len(ls); {
			j := i
			var cents int64
			for j < len(ls) && ls[j].ts == ls[i].ts && ls[j].seq == ls[i].seq && (ls[j].qty < 0) == (ls[i].qty < 0) {
				cents += int64(ls[j].qty) * ls[j].cents
				j++
			}
			pts := cents / 100 // truncates toward zero for returns too
			if pts != 0 {
				reason := lyPurchase
				if cents < 0 {
					reason = lyReturn
				}
				b.ledger = append(b.ledger, ledgerEntry{ts: ls[i].ts, cust: ci.idx, seq: ls[i].seq, points: int32(pts), reason: reason})
				bal += pts
			}
			if cents > 0 && bal >= 1500 && A.Float64() < 0.35 {
				b.ledger = append(b.ledger, ledgerEntry{ts: ls[i].ts, cust: ci.idx, seq: ls[i].seq, points: -500, reason: lyRedeem})
				bal -= 500
			}
			i = j
		}
	}
	for ch := range 2 {
		in := A.Float64() < []float64{0.75, 0.35}[ch]
		b.consent = append(b.consent, consentRec{ts: ci.signup, cust: ci.idx, channel: uint8(ch), in: in})
		ci.optOut[ch] = -1
		at := ci.signup
		for in {
			// opted in: an opt-out after a mean of 900 days, then maybe back
			at += int64(A.ExpFloat64() * 900 * day)
			if at >= endSec {
				break
			}
			in = false
			b.consent = append(b.consent, consentRec{ts: at, cust: ci.idx, channel: uint8(ch), in: false})
			ci.optOut[ch] = at
			if A.Float64() < 0.2 {
				at += int64(A.ExpFloat64() * 120 * day)
				if at < endSec {
					in = true
					ci.optOut[ch] = -1
					b.consent = append(b.consent, consentRec{ts: at, cust: ci.idx, channel: uint8(ch), in: true})
				}
			}
		}
		ci.optIn[ch] = in
	}
	cs := b.consent[len(b.consent)-countCust(b.consent, ci.idx):]
	slices.SortStableFunc(cs, func(x, y consentRec) int { return cmpInt64(x.ts, y.ts) })
}

func countCust(cs []consentRec, idx int32) int {
	n := 0
	for i := len(cs) - 1; i >= 0 && cs[i].cust == idx; i-- {
		n++
	}
	return n
}

// webRows appends the customer's web events: a browsing session before each
// web or app order, and sessions that end without a purchase (abandoned
// carts), from the customer's own web stream.
func (s *sim) webRows(b *batch, ci *custInfo, ls []line) {
	w := s.w
	W := s.wr
	W.seed(s.seed, uint64(ci.idx), streamWeb)
	first := len(b.events)
	endSec := int64(w.days) * day
	var session int32
	for i := 0; i < len(ls); {
		j := i
		for j < len(ls) && ls[j].ts == ls[i].ts && ls[j].seq == ls[i].seq {
			j++
		}
		o := ls[i:j]
		i = j
		if o[0].qty < 0 || o[0].ch == chStore {
			continue
		}
		ts := o[0].ts
		start := max(0, ts-int64(120+W.IntN(2700)))
		k0 := len(b.events)
		session++
		if W.Float64() < 0.4 {
			b.events = append(b.events, event{cust: ci.idx, product: -1, cat: int16(w.prodCat[o[0].product]), kind: evSearch})
		}
		for _, l := range o {
			c := int(w.prodCat[l.product])
			for v := 1 + W.poisson(0.8); v > 0; v-- {
				p := l.product
				if W.Float64() < 0.3 {
					p = w.catProds[c][w.choice[int(l.wh)*w.nc+c].draw(W)]
				}
				b.events = append(b.events, event{cust: ci.idx, product: p, cat: int16(c), kind: evView})
			}
			b.events = append(b.events, event{cust: ci.idx, product: l.product, cat: int16(c), kind: evCartAdd})
		}
		s.stamp(b.events[k0:], start, ts, session, o[0].ch)
	}
	// sessions without a purchase while the customer is alive
	aliveEnd := endSec
	if ci.dropout >= 0 {
		aliveEnd = ci.dropout
	}
	if span := float64(aliveEnd-ci.acq) / day; span > 0 {
		for n := W.poisson(0.6 * ci.rate * span); n > 0; n-- {
			d := int((ci.acq + int64(W.Float64()*float64(aliveEnd-ci.acq))) / day)
			ts := int64(d)*day + s.timeOfDay(W)
			if ts >= endSec {
				continue
			}
			c := W.pick(s.affCum)
			k0 := len(b.events)
			session++
			for v := 1 + W.poisson(1.2); v > 0; v-- {
				p := w.catProds[c][w.choice[int(ci.home)*w.nc+c].draw(W)]
				b.events = append(b.events, event{cust: ci.idx, product: p, cat: int16(c), kind: evView})
			}
			if W.Float64() < 0.5 {
				p := b.events[len(b.events)-1].product
				b.events = append(b.events, event{cust: ci.idx, product: p, cat: int16(c), kind: evCartAdd})
			}
			ch := ci.channel
			if ch == chStore {
				ch = chWeb
			}
			s.stamp(b.events[k0:], ts, min(endSec, ts+int64(60+W.IntN(1800))), session, ch)
		}
	}
	es := b.events[first:]
	slices.SortStableFunc(es, func(x, y event) int { return cmpInt64(x.ts, y.ts) })
}

// stamp gives the events of one session increasing times in [start, end).
func (s *sim) stamp(es []event, start, end int64, session int32, ch uint8) {
	W := s.wr
	s.times = s.times[:0]
	span := max(1, end-start)
	for range es {
		s.times = append(s.times, start+W.Int64N(span))
	}
	slices.Sort(s.times)
	for i := range es {
		es[i].ts = s.times[i]
		es[i].session = session
		es[i].ch = ch
	}
}
