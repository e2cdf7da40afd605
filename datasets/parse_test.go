package datasets

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestNormalizeID(t *testing.T) {
	cases := []struct{ in, want string }{
		{"17850.0", "17850"},
		{"17850.00", "17850"},
		{"-3.0", "-3"},
		{"00004", "00004"},
		{"00004.0", "00004"},
		{"17850", "17850"},
		{"1.5", "1.5"},
		{"17850.", "17850."},
		{".0", ".0"},
		{"-.0", "-.0"},
		{"1e3", "1e3"},
		{"85123A", "85123A"},
		{"1.0.0", "1.0.0"},
		{" 17850.0", " 17850.0"},
		{"", ""},
		{"C536379", "C536379"},
	}
	for _, c := range cases {
		if got := NormalizeID(c.in); got != c.want {
			t.Errorf("NormalizeID(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func f64(x float64) *float64 { return &x }

func TestClassifyLine(t *testing.T) {
	cases := []struct {
		name  string
		o     Order
		rules LineTypeRules
		want  string
	}{
		{"sale", Order{ProductID: "85123A", Quantity: 6, UnitPrice: f64(2.55)}, LineTypeRules{}, LineSale},
		{"negative quantity", Order{ProductID: "85123A", Quantity: -6, UnitPrice: f64(2.55)}, LineTypeRules{}, LineReturn},
		{"postage", Order{ProductID: "POST", Quantity: 1, UnitPrice: f64(18)}, LineTypeRules{}, LineFee},
		{"refunded postage is still a fee", Order{ProductID: "POST", Quantity: -1, UnitPrice: f64(18)}, LineTypeRules{}, LineFee},
		{"bank charges", Order{ProductID: "BANK CHARGES", Quantity: 1, UnitPrice: f64(15)}, LineTypeRules{}, LineFee},
		{"gift voucher prefix", Order{ProductID: "gift_0001_20", Quantity: 1, UnitPrice: f64(17.02)}, LineTypeRules{}, LineFee},
		{"discount", Order{ProductID: "D", Quantity: -1, UnitPrice: f64(27.5)}, LineTypeRules{}, LineAdjustment},
		{"manual lower case", Order{ProductID: "m", Quantity: 1, UnitPrice: f64(2.5)}, LineTypeRules{}, LineAdjustment},
		{"bad debt", Order{ProductID: "B", Quantity: 1, UnitPrice: f64(-11062.06)}, LineTypeRules{}, LineAdjustment},
		{"zero price stock adjustment", Order{ProductID: "22139", Quantity: -56, UnitPrice: f64(0)}, LineTypeRules{}, LineAdjustment},
		{"zero amount", Order{Quantity: 1, Amount: f64(0)}, LineTypeRules{}, LineAdjustment},
		{"no money: quantity decides", Order{ProductID: "X", Quantity: 2}, LineTypeRules{}, LineSale},
		{"zero quantity", Order{ProductID: "X", Quantity: 0, UnitPrice: f64(3)}, LineTypeRules{}, LineAdjustment},
		{"cancel prefix", Order{OrderID: "C536379", ProductID: "22633", Quantity: 1, UnitPrice: f64(1)}, LineTypeRules{CancelPrefix: "C"}, LineReturn},
		{"no cancel prefix by default", Order{OrderID: "C536379", ProductID: "22633", Quantity: 1, UnitPrice: f64(1)}, LineTypeRules{}, LineSale},
		{"overridden fee codes", Order{ProductID: "POST", Quantity: 1, UnitPrice: f64(18)}, LineTypeRules{FeeCodes: []string{"SHIP"}}, LineSale},
		{"custom fee prefix", Order{ProductID: "SHIP-EXPRESS", Quantity: 1, UnitPrice: f64(9)}, LineTypeRules{FeeCodes: []string{"SHIP*"}}, LineFee},
		{"amount wins over price", Order{Quantity: 2, UnitPrice: f64(0), Amount: f64(10)}, LineTypeRules{}, LineSale},
	}
	for _, c := range cases {
		got, err := ClassifyLine(&c.o, c.rules)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got != c.want {
			t.Errorf("%s: got %s, want %s", c.name, got, c.want)
		}
	}
	if _, err := ClassifyLine(&Order{}, LineTypeRules{FeeCodes: []string{"X"}, AdjustmentCodes: []string{"X"}}); err == nil {
		t.Error("a code both fee and adjustment: want an error")
	}
}

func TestParseISO(t *testing.T) {
	london, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Skip("no tzdata:", err)
	}
	cases := []struct {
		in   string
		loc  *time.Location
		want string // RFC 3339 in UTC, "" for a refusal
	}{
		{"2010-12-01 08:26:00", time.UTC, "2010-12-01T08:26:00Z"},
		{"2010-12-01T08:26:00", time.UTC, "2010-12-01T08:26:00Z"},
		{"2010-12-01T08:26:00Z", time.UTC, "2010-12-01T08:26:00Z"},
		{"2010-12-01 08:26", time.UTC, "2010-12-01T08:26:00Z"},
		{"2010-12-01", time.UTC, "2010-12-01T00:00:00Z"},
		{"19970101", time.UTC, "1997-01-01T00:00:00Z"},
		{"2023-01-01T00:35:37Z", time.UTC, "2023-01-01T00:35:37Z"},
		{"2023-01-01T00:35:37.123456Z", time.UTC, "2023-01-01T00:35:37.123456Z"},
		{"2023-01-01T00:35:37.5+01:00", time.UTC, "2022-12-31T23:35:37.5Z"},
		{"2023-01-01T00:35:37-0530", time.UTC, "2023-01-01T06:05:37Z"},
		{"2023-01-01T00:35:37+02", time.UTC, "2022-12-31T22:35:37Z"},
		{"2024-02-29", time.UTC, "2024-02-29T00:00:00Z"},
		// Naive times are read in the zone: BST in summer, GMT in winter.
		{"2011-07-01 12:00:00", london, "2011-07-01T11:00:00Z"},
		{"2011-12-01 12:00:00", london, "2011-12-01T12:00:00Z"},
		{"2011-07-01", london, "2011-06-30T23:00:00Z"},
		// An explicit offset wins over the zone.
		{"2011-07-01T12:00:00Z", london, "2011-07-01T12:00:00Z"},
		{"2023-02-29", time.UTC, ""},
		{"2010-13-01 08:26:00", time.UTC, ""},
		{"2010-12-01 24:00:00", time.UTC, ""},
		{"2010-12-01 08:26:00 ", time.UTC, ""},
		{"2010-12-01X", time.UTC, ""},
		{"12/1/2010 8:26", time.UTC, ""},
		{"201012011", time.UTC, ""},
		{"", time.UTC, ""},
		{"2010-12-01T08:26:00.1234567891Z", time.UTC, ""},
	}
	for _, c := range cases {
		us, ok := parseISO(c.in, c.loc)
		if c.want == "" {
			if ok {
				t.Errorf("parseISO(%q) = %s, want a refusal", c.in, FromMicros(us).Format(time.RFC3339Nano))
			}
			continue
		}
		if !ok {
			t.Errorf("parseISO(%q): refused, want %s", c.in, c.want)
			continue
		}
		if got := FromMicros(us).Format(time.RFC3339Nano); got != c.want {
			t.Errorf("parseISO(%q, %s) = %s, want %s", c.in, c.loc, got, c.want)
		}
	}
}

func TestTimeLayouts(t *testing.T) {
	// Walmart's 05/02/10 is 5 February 2010 (DD/MM/YY): only the layout says so.
	p := newTimeParser("02/01/06", time.UTC)
	us, err := p.parse("05/02/10")
	if err != nil || FromMicros(us).Format("2006-01-02") != "2010-02-05" {
		t.Errorf("02/01/06 on 05/02/10: %v %v", FromMicros(us), err)
	}
	p = newTimeParser("", time.UTC)
	_, err = p.parse("05/02/10")
	if !errors.Is(err, ErrAmbiguousTime) {
		t.Fatalf("05/02/10 without a layout: %v, want ErrAmbiguousTime", err)
	}
	if !strings.Contains(err.Error(), `"2/1/06" (day first)`) || !strings.Contains(err.Error(), `"1/2/06" (month first)`) {
		t.Errorf("hint: %v", err)
	}
	_, err = p.parse("12/1/2010 8:26")
	if !errors.Is(err, ErrAmbiguousTime) || !strings.Contains(err.Error(), `"2/1/2006 15:04"`) || !strings.Contains(err.Error(), `"1/2/2006 15:04"`) {
		t.Errorf("12/1/2010 8:26: %v", err)
	}
	// Unpadded US dates with a day past 12 are not ambiguous: the hint is
	// the one layout that reads them, single digits included.
	_, err = p.parse("12/25/2010 8:26")
	if err == nil || errors.Is(err, ErrAmbiguousTime) || !strings.Contains(err.Error(), `month-first date: the time layout "1/2/2006 15:04" reads it`) {
		t.Errorf("12/25/2010 8:26: %v", err)
	}
	lp := newTimeParser("1/2/2006 15:04", time.UTC)
	for in, want := range map[string]string{"12/25/2010 8:26": "2010-12-25T08:26:00Z", "1/5/2011 10:00": "2011-01-05T10:00:00Z", "01/05/2011 09:07": "2011-01-05T09:07:00Z"} {
		us, err := lp.parse(in)
		if err != nil || FromMicros(us).Format(time.RFC3339) != want {
			t.Errorf("1/2/2006 15:04 on %s: %v %v, want %s", in, FromMicros(us), err, want)
		}
	}
	_, err = p.parse("25.12.2010")
	if err == nil || errors.Is(err, ErrAmbiguousTime) || !strings.Contains(err.Error(), `day-first date: the time layout "2.1.2006" reads it`) {
		t.Errorf("25.12.2010: %v", err)
	}
	if _, err := p.parse("13/13/2010"); err == nil || errors.Is(err, ErrAmbiguousTime) || strings.Contains(err.Error(), "layout \"") {
		t.Errorf("13/13/2010: %v", err)
	}
	if _, err := p.parse("yesterday"); err == nil || errors.Is(err, ErrAmbiguousTime) {
		t.Errorf("yesterday: %v", err)
	}

	for _, c := range []struct{ layout, want string }{
		{"%d/%m/%y", `"02/01/06"`},
		{"%Y-%m-%d %H:%M:%S", `"2006-01-02 15:04:05"`},
		{"%Y%q", "%-style"},
	} {
		err := CheckTimeLayout(c.layout)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "strftime") {
			t.Errorf("CheckTimeLayout(%q) = %v, want a refusal naming %s", c.layout, err, c.want)
		}
	}
	if err := CheckTimeLayout("dd/mm/yy"); err == nil {
		t.Error("dd/mm/yy: a layout without elements must be refused")
	}
	for _, ok := range []string{"", "02/01/06", "20060102", time.RFC3339} {
		if err := CheckTimeLayout(ok); err != nil {
			t.Errorf("CheckTimeLayout(%q): %v", ok, err)
		}
	}
}

func TestDatesAndSpans(t *testing.T) {
	london, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Skip("no tzdata:", err)
	}
	d, err := ParseDate("2011-09-01", london)
	if err != nil {
		t.Fatal(err)
	}
	if got := d.UTC().Format(time.RFC3339); got != "2011-08-31T23:00:00Z" {
		t.Errorf("2011-09-01 in London = %s, want 00:00 BST = 23:00 UTC the day before", got)
	}
	s, err := ParseSpan("90d")
	if err != nil || s.Days != 90 {
		t.Fatalf("90d: %v %v", s, err)
	}
	if w, _ := ParseSpan("2w"); w.Days != 14 || w.String() != "2w" {
		t.Errorf("2w: %+v", w)
	}
	for _, bad := range []string{"", "d", "90", "-1d", "3m", "1.5d"} {
		if _, err := ParseSpan(bad); err == nil {
			t.Errorf("ParseSpan(%q): want an error", bad)
		}
	}
	// 2011-03-27 is the spring change in London: 1 calendar day back from
	// 00:00 on 28 March is 00:00 on 27 March, 24 hours earlier; 2 days back
	// is 47 hours, not 48.
	day := time.Date(2011, 3, 28, 0, 0, 0, 0, london)
	if got := (Span{Days: 2}).Before(day, london); !got.Equal(time.Date(2011, 3, 26, 0, 0, 0, 0, london)) || day.Sub(got) != 47*time.Hour {
		t.Errorf("2d before %s = %s (%s)", day, got, day.Sub(got))
	}
	// Weeks start on Monday: 2011-09-01 was a Thursday.
	if got := WeekStart(d, london); !got.Equal(time.Date(2011, 8, 29, 0, 0, 0, 0, london)) {
		t.Errorf("WeekStart = %s", got)
	}
	if got := WeekStart(time.Date(2011, 8, 29, 0, 0, 0, 0, london), london); got.Day() != 29 {
		t.Errorf("WeekStart(Monday) = %s", got)
	}
	w := Window{Start: d, End: (Span{Days: 1}).After(d, london)}
	if !w.Contains(d) || w.Contains(w.End) || !w.ContainsMicros(w.End.UnixMicro()-1) {
		t.Error("windows are half-open [start, end)")
	}
}

func TestCivilDays(t *testing.T) {
	for _, d := range []time.Time{
		time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(1969, 12, 31, 23, 59, 59, 0, time.UTC),
		time.Date(2000, 2, 29, 12, 0, 0, 0, time.UTC),
		time.Date(2024, 12, 31, 23, 59, 59, 999999000, time.UTC),
		time.Date(1600, 3, 1, 0, 0, 0, 0, time.UTC),
	} {
		if got, want := MonthOf(d.UnixMicro()), d.Format("2006-01"); got != want {
			t.Errorf("MonthOf(%s) = %s", d, got)
		}
		if got := daysFromCivil(d.Year(), int(d.Month()), d.Day()); got != floorDiv(d.Unix(), 86400) {
			t.Errorf("daysFromCivil(%s) = %d", d, got)
		}
	}
}

func split(t *testing.T, format TextFormat, s string) (recs [][]string, lines []int) {
	t.Helper()
	sp := &splitter{format: format}
	line := 1
	for pos := 0; pos < len(s); {
		end, nls, blank, err := sp.next(s, pos)
		if err != nil {
			t.Fatalf("split %q at %d: %v", s, pos, err)
		}
		if !blank {
			recs = append(recs, slices.Clone(sp.fields))
			lines = append(lines, line)
		}
		pos, line = end, line+nls
	}
	return recs, lines
}

func TestSplitter(t *testing.T) {
	csvf := TextFormat{Delimiter: ','}
	cases := []struct {
		name   string
		format TextFormat
		in     string
		want   [][]string
		lines  []int
	}{
		{"plain", csvf, "a,b,c\n1,2,3\n", [][]string{{"a", "b", "c"}, {"1", "2", "3"}}, []int{1, 2}},
		{"crlf and no final newline", csvf, "a,b\r\n1,2", [][]string{{"a", "b"}, {"1", "2"}}, []int{1, 2}},
		{"empty fields", csvf, ",a,,\n", [][]string{{"", "a", "", ""}}, []int{1}},
		{"blank lines skipped", csvf, "a\n\n\r\nb\n", [][]string{{"a"}, {"b"}}, []int{1, 4}},
		{"quoted comma", csvf, `1,"HAND WARMER, UNION JACK",3` + "\n", [][]string{{"1", "HAND WARMER, UNION JACK", "3"}}, []int{1}},
		{"escaped quote", csvf, `"ROSE ""BATHROOM"" BOTTLE",2` + "\n", [][]string{{`ROSE "BATHROOM" BOTTLE`, "2"}}, []int{1}},
		{"quoted newline counts lines", csvf, "\"a\nb\",1\nx,2\n", [][]string{{"a\nb", "1"}, {"x", "2"}}, []int{1, 3}},
		{"quoted crlf record", csvf, "\"a\",\"b\"\r\n1,2\r\n", [][]string{{"a", "b"}, {"1", "2"}}, []int{1, 2}},
		{"bare quote inside a field is text", csvf, "12\" ruler,1\n", [][]string{{`12" ruler`, "1"}}, []int{1}},
		{"text after closing quote kept", csvf, "\"a\"b,1\n", [][]string{{"ab", "1"}}, []int{1}},
		{"tab", TextFormat{Delimiter: '\t'}, "a\tb c\n", [][]string{{"a", "b c"}}, []int{1}},
		{"whitespace cdnow", TextFormat{Whitespace: true}, " 00001 00001 19970101  1  11.77\r\n\r\n 00002\t00002 19970112 1 12.00\r\n", [][]string{{"00001", "00001", "19970101", "1", "11.77"}, {"00002", "00002", "19970112", "1", "12.00"}}, []int{1, 3}},
	}
	for _, c := range cases {
		got, lines := split(t, c.format, c.in)
		if !slices.EqualFunc(got, c.want, slices.Equal[[]string]) {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
		if !slices.Equal(lines, c.lines) {
			t.Errorf("%s: lines %v, want %v", c.name, lines, c.lines)
		}
	}
	sp := &splitter{format: csvf}
	if _, _, _, err := sp.next("a,\"open\nnever closed", 0); !errors.Is(err, errUnterminatedQuote) {
		t.Errorf("unterminated quote: %v", err)
	}
}

// TestChunkReader checks that chunks end on record boundaries, quoted
// newlines included, whatever the chunk size.
func TestChunkReader(t *testing.T) {
	var b strings.Builder
	for i := range 500 {
		switch i % 4 {
		case 0:
			b.WriteString("1,\"multi\nline, with comma\",x\n")
		case 1:
			b.WriteString("2,\"quote \"\"here\"\"\",y\r\n")
		case 2:
			b.WriteString("3,12\" bare,z\n")
		default:
			b.WriteString("4,plain,w\n")
		}
	}
	in := b.String()
	want, _ := split(t, TextFormat{Delimiter: ','}, in)
	for _, size := range []int{1, 7, 64, 1000, 1 << 20} {
		cr := newChunkReader(strings.NewReader(in), TextFormat{Delimiter: ','}, size)
		var got [][]string
		for {
			c, _, err := cr.next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			recs, _ := split(t, TextFormat{Delimiter: ','}, c)
			got = append(got, recs...)
		}
		if !slices.EqualFunc(got, want, slices.Equal[[]string]) {
			t.Fatalf("chunk size %d: %d records, want %d", size, len(got), len(want))
		}
	}
}

// FuzzSplitter checks the CSV record parser against encoding/csv: any
// fields written by csv.Writer come back unchanged, and no input panics
// or loops.
func FuzzSplitter(f *testing.F) {
	f.Add("a,b,c", "1", "x\ny", ',')
	f.Add(`HAND WARMER, UNION JACK`, `"quoted"`, "", ',')
	f.Add("\r", "tab\there", "  ", '\t')
	f.Add("", "", "", ';')
	f.Fuzz(func(t *testing.T, a, b, c string, delim rune) {
		if delim != ',' && delim != ';' && delim != '\t' && delim != '|' {
			delim = ','
		}
		var buf bytes.Buffer
		w := csv.NewWriter(&buf)
		w.Comma = delim
		rec := []string{a, b, c}
		if err := w.Write(rec); err != nil {
			return
		}
		w.Flush()
		s := buf.String()
		sp := &splitter{format: TextFormat{Delimiter: byte(delim)}}
		end, _, blank, err := sp.next(s, 0)
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		if end != len(s) {
			t.Fatalf("%q: record ends at %d of %d", s, end, len(s))
		}
		if blank {
			t.Fatalf("%q: blank, want %q", s, rec)
		}
		if !slices.Equal(sp.fields, rec) {
			t.Fatalf("%q: got %q, want %q", s, sp.fields, rec)
		}
	})
}

// FuzzSplitterAnyInput feeds arbitrary bytes to the splitter and the
// chunk reader: no panic, progress on every call, and the same records
// whatever the chunk size.
func FuzzSplitterAnyInput(f *testing.F) {
	f.Add("a,\"b\nc\",d\n\"\"\"\",x\r\n", 3)
	f.Add("\"unterminated\n,", 1)
	f.Add("12\" x,\"y\nz\"\n", 2)
	f.Fuzz(func(t *testing.T, s string, size int) {
		format := TextFormat{Delimiter: ','}
		whole := all(t, format, s)
		if size < 1 || size > 1<<16 {
			size = 1
		}
		cr := newChunkReader(strings.NewReader(s), format, size)
		var got [][]string
		for {
			c, _, err := cr.next()
			if err != nil {
				break
			}
			got = append(got, all(t, format, c)...)
		}
		if !slices.EqualFunc(got, whole, slices.Equal[[]string]) {
			t.Fatalf("%q: chunked %q, whole %q", s, got, whole)
		}
	})
}

func all(t *testing.T, format TextFormat, s string) [][]string {
	sp := &splitter{format: format}
	var out [][]string
	for pos := 0; pos < len(s); {
		end, _, blank, _ := sp.next(s, pos)
		if end <= pos {
			t.Fatalf("%q: no progress at %d", s, pos)
		}
		if !blank {
			out = append(out, slices.Clone(sp.fields))
		}
		pos = end
	}
	return out
}

// FuzzParseISO checks the fast time parser against the time package on
// what both accept.
func FuzzParseISO(f *testing.F) {
	f.Add("2010-12-01 08:26:00")
	f.Add("2023-01-01T00:35:37.5+01:00")
	f.Add("19970101")
	f.Add("2024-02-29")
	f.Fuzz(func(t *testing.T, s string) {
		us, ok := parseISO(s, time.UTC)
		if !ok {
			return
		}
		got := FromMicros(us)
		for _, layout := range []string{"2006-01-02 15:04:05", "2006-01-02T15:04:05Z07:00", "2006-01-02", "20060102", "2006-01-02 15:04", "2006-01-02T15:04:05"} {
			if want, err := time.Parse(layout, s); err == nil && !want.Truncate(time.Microsecond).Equal(got) {
				t.Fatalf("parseISO(%q) = %s, time.Parse(%q) = %s", s, got, layout, want)
			}
		}
		if got.Year() < 0 || got.Year() > 9999 {
			t.Fatalf("parseISO(%q) = %s", s, got)
		}
	})
}

// TestSortEntries checks the radix sort against a comparison sort, with
// short and long keys, negative times and ties.
func TestSortEntries(t *testing.T) {
	w := &Writer[Order]{t: Orders}
	keys := []string{"", "1", "12", "00004", "1234567", "12345678", "12345679", "123456789", "1234567a", "zz", "17850"}
	var rows []Order
	for i := range 3000 {
		rows = append(rows, Order{CustomerID: keys[(i*7)%len(keys)], Timestamp: int64((i*13)%50-25) * 1_000_000_000})
	}
	batches := [][]Order{rows[:1000], rows[1000:]}
	var e []sortEntry
	for bi, b := range batches {
		for oi := range b {
			e = append(e, sortEntry{prefix: keyPrefix(b[oi].CustomerID), ts: b[oi].Timestamp, b: uint32(bi), o: uint32(oi)})
		}
	}
	want := slices.Clone(e)
	slices.SortFunc(want, w.entryCmp(batches))
	w.sortEntries(e, make([]sortEntry, len(e)), batches)
	if !slices.Equal(e, want) {
		t.Fatal("radix sort differs from the comparison sort")
	}
	for i := 1; i < len(e); i++ {
		a, b := batches[e[i-1].b][e[i-1].o], batches[e[i].b][e[i].o]
		if a.CustomerID > b.CustomerID || a.CustomerID == b.CustomerID && a.Timestamp > b.Timestamp {
			t.Fatalf("not sorted at %d: %q %d then %q %d", i, a.CustomerID, a.Timestamp, b.CustomerID, b.Timestamp)
		}
	}
}

// checkWordsSplit compares the word-at-a-time splitter with the per-field
// one on every record of s.
func checkWordsSplit(t *testing.T, s string, delim byte) {
	t.Helper()
	fast, slow := &splitter{format: TextFormat{Delimiter: delim}}, &splitter{format: TextFormat{Delimiter: delim}}
	for pos := 0; pos < len(s); {
		e1, n1, b1, err1 := fast.next(s, pos)
		e2, n2, b2, err2 := slow.nextSlow(s, pos)
		if e1 != e2 || n1 != n2 || b1 != b2 || (err1 == nil) != (err2 == nil) || (!b1 && !slices.Equal(fast.fields, slow.fields)) {
			t.Fatalf("%q at %d: words (%d %d %v %v %q), per field (%d %d %v %v %q)", s, pos, e1, n1, b1, err1, fast.fields, e2, n2, b2, err2, slow.fields)
		}
		pos = e1
	}
}

func TestSplitterWords(t *testing.T) {
	for _, s := range []string{
		"", "\n", "\r\n", "\r", "a", "a\n", "a,b", "a,b\r\n", ",\r\n", "a,\r\n", ",,,,,,,,,,,,,,,,\n", "0123456,89abcdef,\n",
		"24393,1,2023-01-01T00:35:37Z,P017291,electronics,4,65.82,W2\n24393,1,2023-01-01T00:35:37Z,P005995,household,1,8.02,W2\n",
		"1234567\n\"q\",1\n", "1234567,\"q\"\n", "123\n456\"\n", "abcdefg\"\nx", "a\rb,c\r\r\n", "\n\n\n\n\n\n\n\n\na,b",
		"1,\"HAND WARMER, UNION JACK\",3\n", "é,ü,€\n",
	} {
		checkWordsSplit(t, s, ',')
		checkWordsSplit(t, s, '\t')
	}
}

func FuzzSplitterWords(f *testing.F) {
	f.Add("24393,1,2023-01-01T00:35:37Z,P017291,electronics,4,65.82,W2\r\n\n,\"x\"\n", byte(','))
	f.Add("a\tb\t\"c\"\n", byte('\t'))
	f.Fuzz(func(t *testing.T, s string, delim byte) {
		if delim == '\n' || delim == '"' || delim == '\r' {
			delim = ','
		}
		checkWordsSplit(t, s, delim)
	})
}

// TestTableDescriptors: Tables and TableNames agree, and every name finds
// its descriptor with the typed table's columns.
func TestTableDescriptors(t *testing.T) {
	ds := Tables()
	if len(ds) != len(TableNames) {
		t.Fatalf("%d descriptors, %d names", len(ds), len(TableNames))
	}
	for i, d := range ds {
		if d.Name != TableNames[i] {
			t.Errorf("descriptor %d is %s, TableNames says %s", i, d.Name, TableNames[i])
		}
		got, err := LookupTable(d.Name)
		if err != nil || got.Name != d.Name || len(got.Columns()) == 0 {
			t.Errorf("LookupTable(%s) = %+v, %v", d.Name, got, err)
		}
	}
	if cols, _ := TableSchema("orders"); len(cols) != len(Orders.Columns()) {
		t.Errorf("orders schema %d columns", len(cols))
	}
	if _, err := LookupTable("nosuch"); err == nil || !strings.Contains(err.Error(), "orders, customers") {
		t.Errorf("unknown table: %v", err)
	}
}
