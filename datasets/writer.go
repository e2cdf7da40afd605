package datasets

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"
)

// WriterOptions configures a Writer. Zero fields take the defaults.
type WriterOptions struct {
	// Dataset is the dataset the table belongs to (required).
	Dataset string
	// Run names this writer's parts: part-<Run>-<n>.parquet. It must be
	// unique to this run (the commit protocol: a run deletes only its own
	// parts, so no other run may name a part alike); the default is
	// NewRunID().
	Run string
	// SpillRows is how many rows are buffered before they are sorted and
	// written as parts, one per month present (default 1<<15). Up to two
	// spills are sorted and encoded while the next one fills, so memory is
	// about three spills' rows, never proportional to the rows written.
	// Smaller spills hold less memory (fewer page faults, better cache
	// use) but make more, smaller parts: 32Ki was the fastest at 1M and
	// 10M lines (16Ki: faster at 1M, 10% slower at 10M).
	SpillRows int
	// PartRows bounds the rows of one part (default 1<<16): a spill's
	// sorted rows of one month are cut into parts of PartRows, encoded in
	// parallel.
	PartRows int
	// RowGroupRows bounds the rows of one Parquet row group (default 1<<16).
	RowGroupRows int
	// Parallelism is how many parts are encoded at once (default GOMAXPROCS).
	Parallelism int
	// Level is the zstd level (default zstd.SpeedFastest).
	Level zstd.Level
}

// NewRunID returns a fresh run id: the UTC time to the second and random
// hex, so run ids sort by time and never collide.
func NewRunID() string {
	var b [3]byte
	rand.Read(b[:])
	return time.Now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}

// Writer writes the rows of one table as sorted, month-partitioned
// Parquet parts, then commits them with a manifest. Rows are buffered up
// to SpillRows; each spill sorts its rows of each UTC month by (key, time,
// input order) and cuts them into parts of at most PartRows rows. The same rows written in the same order
// with the same options give byte-identical parts.
//
// Nothing is visible to readers before Commit; Abort deletes every part
// written. A Writer is not safe for concurrent use, though it encodes
// parts on background goroutines.
type Writer[T any] struct {
	st   Store
	t    *Table[T]
	opts WriterOptions

	batches  [][]T
	releases []func() // called once the buffered rows are written
	cur      []T
	buffered int
	nextPart int

	codec     *zstdCodec            // shared: it keeps its encoders (MiBs of history each)
	rowPool   freeList[[]T]         // row batches of finished spills
	entryPool freeList[[]sortEntry] // sort entries of finished spills

	sem    chan struct{} // encoders
	flight chan struct{} // spills in flight: two, so both cores stay busy while one spill's last part encodes
	wg     sync.WaitGroup

	// Suppressions: the tombstones are loaded at the first row written to
	// a customer-keyed table, and forgotten customers' rows are dropped
	// there, whoever the caller (docs/PRIVACY.md).
	supLoaded  bool
	supLen     int          // tombstones when loaded
	check      *forgetCheck // nil: no one to drop
	suppressed int64

	mu      sync.Mutex
	parts   []Part
	written []string
	err     error
	done    bool
}

const copyBatch = 8192

// NewWriter returns a Writer for table t of opts.Dataset in st.
func NewWriter[T any](st Store, t *Table[T], opts WriterOptions) (*Writer[T], error) {
	if err := ValidDatasetName(opts.Dataset); err != nil {
		return nil, err
	}
	if opts.Run == "" {
		opts.Run = NewRunID()
	}
	if err := ValidKey("x/part-" + opts.Run); err != nil || strings.Contains(opts.Run, "/") {
		return nil, fmt.Errorf("writer: run id %q: not usable in a key", opts.Run)
	}
	if opts.SpillRows <= 0 {
		opts.SpillRows = 1 << 15
	}
	if opts.PartRows <= 0 {
		opts.PartRows = 1 << 16
	}
	if opts.RowGroupRows <= 0 {
		opts.RowGroupRows = 1 << 16
	}
	if opts.Parallelism <= 0 {
		opts.Parallelism = runtime.GOMAXPROCS(0)
	}
	if opts.Level == 0 {
		opts.Level = zstd.SpeedFastest
	}
	return &Writer[T]{
		st: st, t: t, opts: opts,
		codec:  &zstdCodec{level: opts.Level},
		sem:    make(chan struct{}, opts.Parallelism),
		flight: make(chan struct{}, 2),
	}, nil
}

// Run returns the writer's run id.
func (w *Writer[T]) Run() string { return w.opts.Run }

func (w *Writer[T]) failed() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

func (w *Writer[T]) fail(err error) {
	w.mu.Lock()
	if w.err == nil {
		w.err = err
	}
	w.mu.Unlock()
}

// Write buffers a copy of rows, spilling parts every SpillRows rows: the
// parts depend on the order of the rows, not on how they were batched.
// Rows of forgotten customers (the store's tombstones, loaded at the
// first write) are dropped and counted (Suppressed).
func (w *Writer[T]) Write(ctx context.Context, rows []T) error {
	if w.done {
		return errors.New("writer: write after commit or abort")
	}
	if err := w.loadSuppressions(ctx); err != nil {
		return err
	}
	if w.check == nil {
		return w.write(ctx, rows)
	}
	// Copy the runs of kept rows between dropped ones.
	for len(rows) > 0 {
		i := 0
		for i < len(rows) && !w.check.forgotten(w.t.key(&rows[i])) {
			i++
		}
		if err := w.write(ctx, rows[:i]); err != nil {
			return err
		}
		if i < len(rows) {
			w.suppressed++
			i++
		}
		rows = rows[i:]
	}
	return w.failed()
}

// write buffers a copy of rows.
func (w *Writer[T]) write(ctx context.Context, rows []T) error {
	for len(rows) > 0 {
		if w.cur == nil {
			w.cur = w.getRows(copyBatch)
		}
		// Spill exactly every SpillRows rows, whatever the batches given.
		n := min(len(rows), cap(w.cur)-len(w.cur), w.opts.SpillRows-w.buffered)
		w.cur = append(w.cur, rows[:n]...)
		rows = rows[n:]
		w.buffered += n
		if len(w.cur) == cap(w.cur) {
			w.batches = append(w.batches, w.cur)
			w.cur = nil
		}
		if w.buffered >= w.opts.SpillRows {
			if err := w.spill(ctx); err != nil {
				return err
			}
		}
	}
	return w.failed()
}

// writeOwned buffers rows without copying: the writer owns them now.
// release, if not nil, is called once they are written (not on failure):
// the memory their strings point into may then be reused. Rows of
// forgotten customers are dropped in place; it returns how many.
func (w *Writer[T]) writeOwned(ctx context.Context, rows []T, release func()) (dropped int64, err error) {
	if w.done {
		return 0, errors.New("writer: write after commit or abort")
	}
	if err := w.loadSuppressions(ctx); err != nil {
		return 0, err
	}
	if w.check != nil {
		// Compact in place; rows before the first dropped one stay put.
		n := 0
		for i := range rows {
			if w.check.forgotten(w.t.key(&rows[i])) {
				continue
			}
			if n != i {
				rows[n] = rows[i]
			}
			n++
		}
		dropped = int64(len(rows) - n)
		clear(rows[n:])
		rows = rows[:n]
		w.suppressed += dropped
	}
	if len(rows) == 0 {
		if release != nil {
			release()
		}
		return dropped, w.failed()
	}
	if release != nil {
		w.releases = append(w.releases, release)
	}
	if len(w.cur) > 0 {
		w.batches = append(w.batches, w.cur)
		w.cur = nil
	}
	w.batches = append(w.batches, rows)
	w.buffered += len(rows)
	if w.buffered >= w.opts.SpillRows {
		return dropped, w.spill(ctx)
	}
	return dropped, w.failed()
}

// sortEntry locates one buffered row with its sort key: 24 bytes, so a
// spill sorts a compact array. prefix orders keys of up to 7 bytes
// exactly (7 bytes then the length); longer keys (low byte 0xff) fall
// back to comparing the strings when their first 7 bytes tie.
type sortEntry struct {
	prefix uint64
	ts     int64
	b, o   uint32
}

const longKey = 0xff

func keyPrefix(s string) uint64 {
	var p uint64
	n := min(len(s), 7)
	for i := 0; i < n; i++ {
		p |= uint64(s[i]) << (56 - 8*i)
	}
	if len(s) > 7 {
		return p | longKey
	}
	return p | uint64(len(s))
}

// entryCmp returns the comparison of sort entries of these batches.
func (w *Writer[T]) entryCmp(batches [][]T) func(a, b sortEntry) int {
	return func(a, b sortEntry) int {
		switch {
		case a.prefix != b.prefix:
			if a.prefix < b.prefix {
				return -1
			}
			return 1
		case a.prefix&0xff == longKey:
			if c := strings.Compare(w.t.key(&batches[a.b][a.o]), w.t.key(&batches[b.b][b.o])); c != 0 {
				return c
			}
		}
		switch {
		case a.ts != b.ts:
			if a.ts < b.ts {
				return -1
			}
			return 1
		case a.b != b.b:
			if a.b < b.b {
				return -1
			}
			return 1
		case a.o != b.o:
			if a.o < b.o {
				return -1
			}
			return 1
		}
		return 0
	}
}

type monthGroup struct {
	month   string
	keys    []string // one per part: the sorted rows cut every PartRows
	entries []sortEntry
}

// spill hands the buffered rows to a background goroutine that sorts and
// writes them as one part per month.
func (w *Writer[T]) spill(ctx context.Context) error {
	if err := w.failed(); err != nil {
		return err
	}
	if len(w.cur) > 0 {
		w.batches = append(w.batches, w.cur)
		w.cur = nil
	}
	batches, releases := w.batches, w.releases
	w.batches, w.releases, w.buffered = nil, nil, 0
	if len(batches) == 0 {
		for _, r := range releases {
			r()
		}
		return nil
	}
	// Group by month now, so part numbers follow the input, not timing.
	// One pass reads each row's key and time (indirect calls) into a sort
	// entry and notes its month; then the entries go to exactly sized
	// groups, or stay whole when the spill holds one month (input in time
	// order).
	total := 0
	for _, b := range batches {
		total += len(b)
	}
	all := w.getEntries(total)[:total]
	monthOf := make([]int32, total)
	partitioned := w.t.Partitioned()
	lastDay, lastMonth := int64(-1<<62), int32(0)
	i := 0
	for bi, batch := range batches {
		for oi := range batch {
			r := &batch[oi]
			ts := w.t.Time(r)
			if partitioned {
				if day := floorDiv(ts, 86_400_000_000); day != lastDay {
					y, mo, _ := civilFromDays(day)
					lastDay, lastMonth = day, int32(y*100+mo)
				}
				monthOf[i] = lastMonth
			}
			all[i] = sortEntry{prefix: keyPrefix(w.t.key(r)), ts: ts, b: uint32(bi), o: uint32(oi)}
			i++
		}
	}
	counts := map[int32]int{}
	for i := 0; i < total; { // runs of one month
		j := i + 1
		for j < total && monthOf[j] == monthOf[i] {
			j++
		}
		counts[monthOf[i]] += j - i
		i = j
	}
	byMonth := make(map[int32]*monthGroup, len(counts))
	if len(counts) == 1 {
		byMonth[monthOf[0]] = &monthGroup{entries: all}
	} else {
		for m, n := range counts {
			byMonth[m] = &monthGroup{entries: w.getEntries(n)}
		}
		var g *monthGroup
		gm := int32(-1)
		for i, e := range all {
			if m := monthOf[i]; m != gm || g == nil {
				g, gm = byMonth[m], m
			}
			g.entries = append(g.entries, e)
		}
		w.entryPool.put(all[:0])
	}
	months := make([]int32, 0, len(byMonth))
	for m := range byMonth {
		months = append(months, m)
	}
	slices.Sort(months)
	groups := make([]*monthGroup, len(months))
	for i, m := range months {
		g := byMonth[m]
		prefix := TablePrefix(w.opts.Dataset, w.t.Name)
		if w.t.Partitioned() {
			g.month = fmt.Sprintf("%04d-%02d", m/100, m%100)
			prefix += "month=" + g.month + "/"
		}
		for range (len(g.entries) + w.opts.PartRows - 1) / w.opts.PartRows {
			w.nextPart++
			g.keys = append(g.keys, fmt.Sprintf("%spart-%s-%05d.parquet", prefix, w.opts.Run, w.nextPart))
		}
		groups[i] = g
	}
	select {
	case w.flight <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		defer func() { <-w.flight }()
		var gw sync.WaitGroup
		for _, g := range groups {
			gw.Add(1)
			go func() {
				defer gw.Done()
				scratch := w.getEntries(len(g.entries))
				w.sortEntries(g.entries, scratch[:len(g.entries)], batches)
				w.entryPool.put(scratch[:0])
				// The parts of one sorted run are encoded in parallel.
				for i, key := range g.keys {
					w.sem <- struct{}{}
					gw.Add(1)
					go func() {
						defer gw.Done()
						// The encoder slot is released once the part is
						// encoded: storing it waits on I/O (an fsync, an
						// upload), which must not idle a core.
						var release sync.Once
						free := func() { release.Do(func() { <-w.sem }) }
						defer free()
						if w.failed() != nil {
							return
						}
						part := g.entries[i*w.opts.PartRows : min((i+1)*w.opts.PartRows, len(g.entries))]
						if err := w.writePart(ctx, batches, part, key, g.month, free); err != nil {
							w.fail(err)
						}
					}()
				}
			}()
		}
		gw.Wait()
		for _, g := range groups {
			w.entryPool.put(g.entries[:0])
		}
		for _, b := range batches {
			// Not cleared: whoever reuses a batch overwrites each row
			// whole (a pass over every row byte saved per spill).
			w.rowPool.put(b[:0])
		}
		if w.failed() == nil {
			for _, r := range releases {
				r()
			}
		}
	}()
	return nil
}

// getRows returns an empty row slice with room for n rows, reusing the
// batches of finished spills: fresh memory costs page faults and GC. The
// room beyond len holds old rows: the caller overwrites each row whole.
func (w *Writer[T]) getRows(n int) []T {
	if b, ok := w.rowPool.get(); ok && cap(b) >= n {
		return b
	}
	// Rounded up, so a batch fits the next chunk's rows too (chunks of
	// the same bytes hold a few more or fewer lines).
	return make([]T, 0, roundUp(n, 1024))
}

func (w *Writer[T]) getEntries(n int) []sortEntry {
	if b, ok := w.entryPool.get(); ok && cap(b) >= n {
		return b
	}
	return make([]sortEntry, 0, roundUp(n, 8192))
}

func roundUp(n, m int) int { return (n + m - 1) / m * m }

var partBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// writePart encodes sorted entries as one part and stores it, calling
// encoded (which frees the caller's encoder slot) in between.
func (w *Writer[T]) writePart(ctx context.Context, batches [][]T, entries []sortEntry, key, month string, encoded func()) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	buf := partBuffers.Get().(*bytes.Buffer)
	buf.Reset()
	defer partBuffers.Put(buf)
	// A fresh writer per part: a reused one carries state into the bytes.
	pw := parquet.NewGenericWriter[T](buf, w.parquetOptions()...)
	tmp := make([]T, 0, 1024)
	var keys int64
	var prev sortEntry
	for i, e := range entries {
		if i == 0 || e.prefix != prev.prefix || (e.prefix&0xff == longKey && w.t.key(&batches[e.b][e.o]) != w.t.key(&batches[prev.b][prev.o])) {
			keys++
		}
		prev = e
		tmp = append(tmp, batches[e.b][e.o])
		if len(tmp) == cap(tmp) {
			if _, err := pw.Write(tmp); err != nil {
				return fmt.Errorf("write %s: %w", key, err)
			}
			tmp = tmp[:0] // overwritten next: no need to clear
		}
	}
	if _, err := pw.Write(tmp); err != nil {
		return fmt.Errorf("write %s: %w", key, err)
	}
	if err := pw.Close(); err != nil {
		return fmt.Errorf("write %s: %w", key, err)
	}
	sum := sha256.Sum256(buf.Bytes())
	p := Part{Key: key, Month: month, Rows: int64(len(entries)), Bytes: int64(buf.Len()), SHA256: hex.EncodeToString(sum[:]), Keys: keys}
	if w.t.Partitioned() && len(entries) > 0 {
		lo, hi := entries[0].ts, entries[0].ts
		for _, e := range entries {
			lo, hi = min(lo, e.ts), max(hi, e.ts)
		}
		tlo, thi := FromMicros(lo), FromMicros(hi)
		p.MinTime, p.MaxTime = &tlo, &thi
	}
	encoded()
	w.mu.Lock()
	w.written = append(w.written, key)
	w.mu.Unlock()
	if _, err := w.st.Put(ctx, key, bytes.NewReader(buf.Bytes()), int64(buf.Len()), PutOptions{IfAbsent: true, ContentType: "application/vnd.apache.parquet"}); err != nil {
		return fmt.Errorf("write %s: %w", key, err)
	}
	w.mu.Lock()
	w.parts = append(w.parts, p)
	w.mu.Unlock()
	return nil
}

// parquetOptions configure every part: zstd, bounded row groups, and
// page bounds (the column index readers skip pages with, and the page
// header statistics) only on the sort key and the time, which queries
// filter on.
func (w *Writer[T]) parquetOptions() []parquet.WriterOption {
	opts := []parquet.WriterOption{
		parquet.Compression(w.codec),
		parquet.MaxRowsPerRowGroup(int64(w.opts.RowGroupRows)),
		parquet.CreatedBy("prevoir", "", ""),
		parquet.KeyValueMetadata("prevoir.table", w.t.Name),
		parquet.KeyValueMetadata("prevoir.sorted_by", strings.TrimSuffix(w.t.KeyColumn+","+w.t.TimeColumn, ",")),
	}
	for _, f := range w.t.fields {
		if f.name != w.t.KeyColumn && f.name != w.t.TimeColumn {
			// Neither the column index nor the page headers carry bounds
			// nobody filters on: computing them costs CPU on every page.
			opts = append(opts, parquet.SkipPageBounds(f.name), parquet.SkipPageStatistics(f.name))
		}
	}
	return opts
}

// Flush writes every buffered row as parts and waits for them.
func (w *Writer[T]) Flush(ctx context.Context) error {
	if err := w.spill(ctx); err != nil {
		w.wg.Wait()
		return err
	}
	w.wg.Wait()
	return w.failed()
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// civilFromDays converts days since 1970-01-01 to a proleptic Gregorian
// date (Howard Hinnant's algorithm).
func civilFromDays(z int64) (y, m, d int) {
	z += 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era = (z - 146096) / 146097
	}
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	yy := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = int(doy - (153*mp+2)/5 + 1)
	m = int(mp + 3)
	if m > 12 {
		m -= 12
	}
	if m <= 2 {
		yy++
	}
	return int(yy), m, d
}

// freeList keeps up to 64 buffers for reuse. Unlike a sync.Pool it is
// not emptied by every garbage collection, which is when reuse matters.
type freeList[B any] struct {
	mu   sync.Mutex
	bufs []B
}

func (f *freeList[B]) get() (B, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var zero B
	if len(f.bufs) == 0 {
		return zero, false
	}
	b := f.bufs[len(f.bufs)-1]
	f.bufs[len(f.bufs)-1] = zero
	f.bufs = f.bufs[:len(f.bufs)-1]
	return b, true
}

func (f *freeList[B]) put(b B) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.bufs) < 64 {
		f.bufs = append(f.bufs, b)
	}
}

// sortEntries sorts a spill's entries by (prefix, ts), ties in input
// order, then orders keys longer than 7 bytes that share a prefix by the
// whole key: a stable LSD radix sort on the two 64-bit words, skipping the
// bytes where every entry agrees (most of them: one month of times, short
// numeric ids). scratch must have room for len(e) entries.
func (w *Writer[T]) sortEntries(e, scratch []sortEntry, batches [][]T) {
	n := len(e)
	if n < 2 {
		return
	}
	var counts [16][256]int
	for i := range e {
		ts := uint64(e[i].ts) ^ (1 << 63) // signed to unsigned order
		p := e[i].prefix
		for d := 0; d < 8; d++ {
			counts[d][byte(ts>>(8*d))]++
			counts[8+d][byte(p>>(8*d))]++
		}
	}
	src, dst := e, scratch[:n]
	for d := 0; d < 16; d++ {
		c := &counts[d]
		skip := false
		for _, k := range c {
			if k == n {
				skip = true
				break
			}
			if k != 0 {
				break
			}
		}
		if skip {
			continue
		}
		var pos [256]int
		sum := 0
		for b, k := range c {
			pos[b] = sum
			sum += k
		}
		for _, x := range src {
			var b byte
			if d < 8 {
				b = byte((uint64(x.ts) ^ (1 << 63)) >> (8 * d))
			} else {
				b = byte(x.prefix >> (8 * (d - 8)))
			}
			dst[pos[b]] = x
			pos[b]++
		}
		src, dst = dst, src
	}
	if &src[0] != &e[0] {
		copy(e, src)
	}
	// Long keys: runs sharing a 7-byte prefix, ordered by the whole key.
	cmp := w.entryCmp(batches)
	for i := 0; i < n; {
		j := i + 1
		for j < n && e[j].prefix == e[i].prefix {
			j++
		}
		if e[i].prefix&0xff == longKey && j-i > 1 {
			slices.SortStableFunc(e[i:j], cmp)
		}
		i = j
	}
}
