package datasets

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ErrAmbiguousTime reports a date whose day/month order cannot be known
// from the text (05/02/10): import never guesses, --time-format decides.
var ErrAmbiguousTime = errors.New("ambiguous date layout")

// CheckTimeLayout validates a --time-format value: a Go layout written
// with the reference time Mon Jan 2 15:04:05 MST 2006. strftime layouts
// (%Y-%m-%d) are refused with the equivalent Go layout as a hint.
func CheckTimeLayout(layout string) error {
	if layout == "" {
		return nil
	}
	if strings.Contains(layout, "%") {
		if g, ok := strftimeToGo(layout); ok {
			return fmt.Errorf("time format %q: %%-style (strftime) layouts are not supported; write a Go layout with the reference time 2006-01-02 15:04:05, here %q", layout, g)
		}
		return fmt.Errorf("time format %q: %%-style (strftime) layouts are not supported; write a Go layout with the reference time 2006-01-02 15:04:05 (02 day, 01 month, 2006 or 06 year, 15:04:05 time)", layout)
	}
	// A layout without elements formats to itself.
	if time.Date(2017, 11, 23, 19, 47, 38, 0, time.UTC).Format(layout) == layout {
		return fmt.Errorf("time format %q: no date or time element; write a Go layout with the reference time 2006-01-02 15:04:05, e.g. \"02/01/06\" for DD/MM/YY", layout)
	}
	return nil
}

var strftimeDirectives = map[byte]string{
	'Y': "2006", 'y': "06", 'm': "01", 'd': "02", 'e': "_2", 'H': "15", 'I': "03",
	'M': "04", 'S': "05", 'p': "PM", 'b': "Jan", 'h': "Jan", 'B': "January",
	'a': "Mon", 'A': "Monday", 'z': "-0700", 'Z': "MST", 'f': "000000", 'j': "002",
	'F': "2006-01-02", 'T': "15:04:05", '%': "%",
}

func strftimeToGo(layout string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(layout); i++ {
		if layout[i] != '%' {
			b.WriteByte(layout[i])
			continue
		}
		if i+1 >= len(layout) {
			return "", false
		}
		g, ok := strftimeDirectives[layout[i+1]]
		if !ok {
			return "", false
		}
		b.WriteString(g)
		i++
	}
	return b.String(), true
}

// LoadZone resolves an IANA zone name; empty means UTC.
func LoadZone(name string) (*time.Location, error) {
	if name == "" || name == "UTC" {
		return time.UTC, nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("time zone %q: not an IANA zone name (such as Europe/London or America/New_York)", name)
	}
	return loc, nil
}

// timeParser turns source text into instants. Without a layout it accepts
// ISO 8601 forms only (see parseISO); with one it uses time.ParseInLocation.
// A value without an offset is read in loc. It caches the last value, as
// the lines of one order usually share their timestamp. Not safe for
// concurrent use: one per goroutine.
type timeParser struct {
	layout string
	loc    *time.Location
	last   []byte // a copy: the text it came from may be reused
	lastUs int64
	cached bool
}

func newTimeParser(layout string, loc *time.Location) *timeParser {
	return &timeParser{layout: layout, loc: loc}
}

func (p *timeParser) parse(s string) (int64, error) {
	if p.cached && s == string(p.last) {
		return p.lastUs, nil
	}
	var us int64
	if p.layout == "" {
		v, ok := parseISO(s, p.loc)
		if !ok {
			return 0, timeSyntaxError(s)
		}
		us = v
	} else {
		t, err := time.ParseInLocation(p.layout, s, p.loc)
		if err != nil {
			return 0, fmt.Errorf("does not match the time layout %q", p.layout)
		}
		us = t.UnixMicro()
	}
	p.last, p.lastUs, p.cached = append(p.last[:0], s...), us, true
	return us, nil
}

// timeSyntaxError explains why s is not an accepted time without a layout.
func timeSyntaxError(s string) error {
	if s == "" {
		return errors.New("empty time")
	}
	dayFirst, monthFirst, ok := numericDate(s)
	switch {
	case ok && dayFirst != "" && monthFirst != "":
		return fmt.Errorf("%w: day/month order unknown; give the time layout %q (day first) or %q (month first)", ErrAmbiguousTime, dayFirst, monthFirst)
	case ok && monthFirst != "":
		return fmt.Errorf("not an ISO 8601 time; a month-first date: the time layout %q reads it", monthFirst)
	case ok && dayFirst != "":
		return fmt.Errorf("not an ISO 8601 time; a day-first date: the time layout %q reads it", dayFirst)
	}
	return errors.New("not an ISO 8601 time (2006-01-02, 2006-01-02 15:04:05, 2006-01-02T15:04:05Z, 20060102); give a time layout (a Go layout)")
}

// numericDate reads s as a numeric date with the day and month in either
// order (1/2/2006, 05/02/10, 01.02.2006, 12/25/2010 8:26) and returns the
// Go layout of each reading that fits (day <= 31, month <= 12), "" for
// one that does not; ok is false when s is no such date. The layouts
// read single-digit days, months and hours as well as padded ones
// ("1/2/2006 15:04" reads 12/25/2010 8:26 and 01/05/2011 10:00).
func numericDate(s string) (dayFirst, monthFirst string, ok bool) {
	num := func(i int) (n, v int) {
		j := i
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			v = v*10 + int(s[j]-'0')
			j++
		}
		return j - i, v
	}
	a, x := num(0)
	if a < 1 || a > 2 || a >= len(s) {
		return "", "", false
	}
	sep := s[a]
	if sep != '/' && sep != '.' && sep != '-' {
		return "", "", false
	}
	b, y := num(a + 1)
	if b < 1 || b > 2 || a+1+b >= len(s) || s[a+1+b] != sep {
		return "", "", false
	}
	n, _ := num(a + 2 + b)
	if n != 2 && n != 4 {
		return "", "", false
	}
	year := "2006"
	if n == 2 {
		year = "06"
	}
	sp := string(sep)
	rest := s[a+2+b+n:]
	tl := ""
	if strings.HasPrefix(rest, " ") || strings.HasPrefix(rest, "T") {
		t := rest[1:]
		if h, _ := num(len(s) - len(t)); h >= 1 && h <= 2 {
			tl = rest[:1] + "15:04"
			if strings.Count(t, ":") >= 2 {
				tl += ":05"
			}
		}
	}
	if x >= 1 && x <= 31 && y >= 1 && y <= 12 {
		dayFirst = "2" + sp + "1" + sp + year + tl
	}
	if x >= 1 && x <= 12 && y >= 1 && y <= 31 {
		monthFirst = "1" + sp + "2" + sp + year + tl
	}
	return dayFirst, monthFirst, dayFirst != "" || monthFirst != ""
}

// parseISO parses the ISO 8601 forms import accepts without a layout:
// 2006-01-02, 20060102, 2006-01-02 15:04, 2006-01-02 15:04:05 and
// 2006-01-02T15:04:05, each with optional fractional seconds and an
// optional offset (Z, +01:00, +0100, +01). Without an offset the time is
// read in loc. The result is in microseconds since the epoch.
func parseISO(s string, loc *time.Location) (int64, bool) {
	d2 := func(i int) int {
		a, b := s[i]-'0', s[i+1]-'0'
		if a > 9 || b > 9 {
			return -1
		}
		return int(a)*10 + int(b)
	}
	var year, month, day int
	var i int
	switch {
	case len(s) >= 10 && s[4] == '-' && s[7] == '-':
		y1, y2 := d2(0), d2(2)
		if y1 < 0 || y2 < 0 {
			return 0, false
		}
		year, month, day = y1*100+y2, d2(5), d2(8)
		i = 10
	case len(s) == 8:
		y1, y2 := d2(0), d2(2)
		if y1 < 0 || y2 < 0 {
			return 0, false
		}
		year, month, day = y1*100+y2, d2(4), d2(6)
		i = 8
	default:
		return 0, false
	}
	if year < 1 || month < 1 || month > 12 || day < 1 || day > daysIn(year, month) {
		return 0, false
	}
	hour, min, sec, nsec := 0, 0, 0, 0
	if i < len(s) && (s[i] == 'T' || s[i] == ' ') && i+6 <= len(s) && s[i+3] == ':' {
		hour, min = d2(i+1), d2(i+4)
		if hour < 0 || hour > 23 || min < 0 || min > 59 {
			return 0, false
		}
		i += 6
		if i < len(s) && s[i] == ':' {
			if i+3 > len(s) {
				return 0, false
			}
			sec = d2(i + 1)
			if sec < 0 || sec > 59 {
				return 0, false
			}
			i += 3
			if i < len(s) && (s[i] == '.' || s[i] == ',') {
				i++
				j, scale := i, 100000000
				for ; j < len(s) && s[j] >= '0' && s[j] <= '9'; j++ {
					nsec += int(s[j]-'0') * scale
					scale /= 10
				}
				if j == i || j-i > 9 {
					return 0, false
				}
				i = j
			}
		}
	}
	offset, hasOffset := 0, false
	if i < len(s) {
		switch s[i] {
		case 'Z', 'z':
			hasOffset = true
			i++
		case '+', '-':
			rest := s[i+1:]
			var oh, om int
			switch {
			case len(rest) == 5 && rest[2] == ':':
				oh, om = d2(i+1), d2(i+4)
			case len(rest) == 4:
				oh, om = d2(i+1), d2(i+3)
			case len(rest) == 2:
				oh = d2(i + 1)
			default:
				return 0, false
			}
			if oh < 0 || oh > 23 || om < 0 || om > 59 {
				return 0, false
			}
			offset = (oh*60 + om) * 60
			if s[i] == '-' {
				offset = -offset
			}
			hasOffset = true
			i = len(s)
		default:
			return 0, false
		}
		if i != len(s) {
			return 0, false
		}
	}
	if !hasOffset && loc != time.UTC {
		return time.Date(year, time.Month(month), day, hour, min, sec, nsec, loc).UnixMicro(), true
	}
	days := daysFromCivil(year, month, day)
	secs := days*86400 + int64(hour*3600+min*60+sec) - int64(offset)
	return secs*1_000_000 + int64(nsec/1000), true
}

func daysIn(year, month int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil returns the days since 1970-01-01 of a proleptic
// Gregorian date (Howard Hinnant's algorithm).
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era = (y - 399) / 400
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}

// ParseDate reads a DATE argument (2011-09-01) as 00:00 of that day in
// loc: the start of the day in the dataset's zone. A full instant with an
// offset (2011-09-01T00:00:00Z) is accepted as it is.
func ParseDate(s string, loc *time.Location) (time.Time, error) {
	if len(s) == 10 {
		t, err := time.ParseInLocation("2006-01-02", s, loc)
		if err != nil {
			return time.Time{}, fmt.Errorf("date %q: want YYYY-MM-DD", s)
		}
		return t, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("date %q: want YYYY-MM-DD (00:00 in the dataset's zone) or an RFC 3339 instant", s)
	}
	return t, nil
}

// Span is a calendar length: N days or N weeks in a zone, so a span
// across a daylight-saving change keeps wall-clock times.
type Span struct {
	// Days is the length in calendar days (a week is 7).
	Days int
}

// ParseSpan reads "90d" (90 calendar days) or "4w" (4 weeks).
func ParseSpan(s string) (Span, error) {
	if len(s) < 2 {
		return Span{}, fmt.Errorf("span %q: want Nd (days) or Nw (weeks), e.g. 90d", s)
	}
	n, err := strconv.Atoi(s[:len(s)-1])
	if err != nil || n < 0 {
		return Span{}, fmt.Errorf("span %q: want Nd (days) or Nw (weeks), e.g. 90d", s)
	}
	switch s[len(s)-1] {
	case 'd':
		return Span{Days: n}, nil
	case 'w':
		return Span{Days: 7 * n}, nil
	}
	return Span{}, fmt.Errorf("span %q: want Nd (days) or Nw (weeks), e.g. 90d", s)
}

// String returns the span as Nd, or Nw when a whole number of weeks.
func (s Span) String() string {
	if s.Days%7 == 0 && s.Days > 0 {
		return strconv.Itoa(s.Days/7) + "w"
	}
	return strconv.Itoa(s.Days) + "d"
}

// Before returns t minus the span, counted in calendar days in loc.
func (s Span) Before(t time.Time, loc *time.Location) time.Time {
	return t.In(loc).AddDate(0, 0, -s.Days)
}

// After returns t plus the span, counted in calendar days in loc.
func (s Span) After(t time.Time, loc *time.Location) time.Time {
	return t.In(loc).AddDate(0, 0, s.Days)
}

// Window is a half-open interval of instants [Start, End).
type Window struct {
	Start, End time.Time
}

// Contains reports whether Start <= t < End.
func (w Window) Contains(t time.Time) bool { return !t.Before(w.Start) && t.Before(w.End) }

// ContainsMicros is Contains for a stored instant.
func (w Window) ContainsMicros(us int64) bool {
	return us >= w.Start.UnixMicro() && us < w.End.UnixMicro()
}

// WeekStart returns 00:00 of the Monday on or before t in loc: weeks
// start on Monday.
func WeekStart(t time.Time, loc *time.Location) time.Time {
	l := t.In(loc)
	back := (int(l.Weekday()) + 6) % 7
	return time.Date(l.Year(), l.Month(), l.Day()-back, 0, 0, 0, 0, loc)
}

// DayStart returns 00:00 of t's day in loc.
func DayStart(t time.Time, loc *time.Location) time.Time {
	l := t.In(loc)
	return time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, loc)
}
