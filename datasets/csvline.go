package datasets

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"strings"
	"unsafe"
)

// TextFormat says how a delimited text source splits into records and
// fields.
type TextFormat struct {
	// Delimiter separates fields (',' for CSV, '\t' for TSV). Fields may
	// be quoted with '"' (RFC 4180: "" inside quotes is one quote, and a
	// quoted field may span lines).
	Delimiter byte
	// Whitespace splits fields on runs of spaces and tabs instead, ignoring
	// leading and trailing blanks; quotes are not special.
	Whitespace bool
}

var errUnterminatedQuote = errors.New("unterminated quoted field")

// splitter splits records of a delimited text into fields. Fields are
// substrings of the input (no copy) except quoted fields with an escaped
// quote. A trailing '\r' (CRLF files) is dropped from each record; blank
// records are reported so callers can skip them. Not safe for concurrent
// use.
type splitter struct {
	format TextFormat
	fields []string
	buf    []byte
}

// next splits the record that starts at s[pos]. It returns the position
// after the record (after its '\n'), the number of '\n' the record spans
// (0 for a last record without newline), and whether the record is blank.
// The fields are in sp.fields until the next call. An unterminated quote
// consumes the rest of s and returns errUnterminatedQuote.
func (sp *splitter) next(s string, pos int) (end, newlines int, blank bool, err error) {
	if !sp.format.Whitespace {
		if end, newlines, blank, ok := sp.nextWords(s, pos); ok {
			return end, newlines, blank, nil
		}
	}
	return sp.nextSlow(s, pos)
}

// nextSlow is next without the word-at-a-time path.
func (sp *splitter) nextSlow(s string, pos int) (end, newlines int, blank bool, err error) {
	sp.fields = sp.fields[:0]
	nl := strings.IndexByte(s[pos:], '\n')
	var rec string
	if nl < 0 {
		rec, end = s[pos:], len(s)
	} else {
		rec, end, newlines = s[pos:pos+nl], pos+nl+1, 1
	}
	if sp.format.Whitespace {
		rec = strings.TrimSuffix(rec, "\r")
		sp.splitBlanks(rec)
		return end, newlines, len(sp.fields) == 0, nil
	}
	if strings.IndexByte(rec, '"') < 0 {
		rec = strings.TrimSuffix(rec, "\r")
		if rec == "" {
			return end, newlines, true, nil
		}
		d := sp.format.Delimiter
		for {
			i := strings.IndexByte(rec, d)
			if i < 0 {
				sp.fields = append(sp.fields, rec)
				break
			}
			sp.fields = append(sp.fields, rec[:i])
			rec = rec[i+1:]
		}
		return end, newlines, false, nil
	}
	return sp.quoted(s, pos)
}

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// bytesEqual returns a word with the high bit set in each byte of w equal
// to the byte whose copies fill c (exact: no false positives).
func bytesEqual(w, c uint64) uint64 {
	x := w ^ c
	return ^(((x &^ msb) + ^uint64(msb)) | x) & msb
}

// nextWords splits a record without quotes eight bytes at a time: one
// pass finds every delimiter and the newline, where calling IndexByte per
// field costs a call per field. It reports false, having consumed
// nothing, when a quote shows up before the record's end (the slow path
// handles quoting).
func (sp *splitter) nextWords(s string, pos int) (end, newlines int, blank, ok bool) {
	sp.fields = sp.fields[:0]
	b := unsafe.Slice(unsafe.StringData(s), len(s))
	d, nl, q := uint64(sp.format.Delimiter)*lsb, uint64('\n')*lsb, uint64('"')*lsb
	start, i := pos, pos
	for ; i+8 <= len(b); i += 8 {
		w := binary.LittleEndian.Uint64(b[i:])
		nls := bytesEqual(w, nl)
		stops := bytesEqual(w, d) | nls
		if quotes := bytesEqual(w, q); quotes != 0 {
			// A quote before the first newline is in this record.
			if nls == 0 || bits.TrailingZeros64(quotes) < bits.TrailingZeros64(nls) {
				return 0, 0, false, false
			}
		}
		for stops != 0 {
			j := i + bits.TrailingZeros64(stops)>>3
			if b[j] == '\n' {
				return j + 1, 1, sp.endRecord(s, pos, start, j), true
			}
			sp.fields = append(sp.fields, s[start:j])
			start = j + 1
			stops &= stops - 1
		}
	}
	for ; i < len(b); i++ {
		switch b[i] {
		case '"':
			return 0, 0, false, false
		case '\n':
			return i + 1, 1, sp.endRecord(s, pos, start, i), true
		case sp.format.Delimiter:
			sp.fields = append(sp.fields, s[start:i])
			start = i + 1
		}
	}
	return len(s), 0, sp.endRecord(s, pos, start, len(s)), true
}

// endRecord adds the record's last field, s[start:end] less a CRLF's
// '\r', and reports whether the record, s[pos:end], is blank.
func (sp *splitter) endRecord(s string, pos, start, end int) bool {
	if end > start && s[end-1] == '\r' {
		end--
	}
	if end == pos {
		sp.fields = sp.fields[:0]
		return true
	}
	sp.fields = append(sp.fields, s[start:end])
	return false
}

func (sp *splitter) splitBlanks(rec string) {
	i := 0
	for i < len(rec) {
		for i < len(rec) && (rec[i] == ' ' || rec[i] == '\t' || rec[i] == '\r') {
			i++
		}
		if i == len(rec) {
			break
		}
		j := i
		for j < len(rec) && rec[j] != ' ' && rec[j] != '\t' && rec[j] != '\r' {
			j++
		}
		sp.fields = append(sp.fields, rec[i:j])
		i = j
	}
}

// quoted is the slow path for a record that holds a quote character.
func (sp *splitter) quoted(s string, pos int) (end, newlines int, blank bool, err error) {
	d := sp.format.Delimiter
	i := pos
	for {
		// At the start of a field.
		if i < len(s) && s[i] == '"' {
			i++
			start := i
			escaped := false
			sp.buf = sp.buf[:0]
			for {
				j := strings.IndexByte(s[i:], '"')
				if j < 0 {
					newlines += strings.Count(s[i:], "\n")
					sp.fields = append(sp.fields, s[start:])
					return len(s), newlines, false, errUnterminatedQuote
				}
				newlines += strings.Count(s[i:i+j], "\n")
				if i+j+1 < len(s) && s[i+j+1] == '"' {
					sp.buf = append(sp.buf, s[start:i+j+1]...)
					escaped = true
					i += j + 2
					start = i
					continue
				}
				var f string
				if escaped {
					sp.buf = append(sp.buf, s[start:i+j]...)
					f = string(sp.buf)
				} else {
					f = s[start : i+j]
				}
				i += j + 1
				// Text between the closing quote and the delimiter is kept
				// (lenient, like a spreadsheet).
				k := i
				for k < len(s) && s[k] != d && s[k] != '\n' {
					k++
				}
				tail := s[i:k]
				if k == len(s) || s[k] == '\n' {
					tail = strings.TrimSuffix(tail, "\r")
				}
				if tail != "" {
					f += tail
				}
				i = k
				sp.fields = append(sp.fields, f)
				break
			}
		} else {
			k := i
			for k < len(s) && s[k] != d && s[k] != '\n' {
				k++
			}
			f := s[i:k]
			if k == len(s) || s[k] == '\n' {
				f = strings.TrimSuffix(f, "\r")
			}
			sp.fields = append(sp.fields, f)
			i = k
		}
		if i >= len(s) {
			return len(s), newlines, false, nil
		}
		if s[i] == '\n' {
			return i + 1, newlines + 1, false, nil
		}
		i++ // delimiter
	}
}

// chunkReader cuts a text stream into chunks that end on record
// boundaries, so each can be parsed independently. With quoting, a
// boundary is a '\n' outside quotes, counted from the chunk's start.
type chunkReader struct {
	r      io.Reader
	quotes bool
	delim  byte
	size   int
	buf    []byte // carried-over bytes not yet returned
	eof    bool
	err    error
	// alloc returns an empty buffer with room for n bytes (nil: make).
	alloc func(n int) []byte
}

func newChunkReader(r io.Reader, format TextFormat, size int) *chunkReader {
	return &chunkReader{r: r, quotes: !format.Whitespace, delim: format.Delimiter, size: size}
}

// next returns the next chunk (whole records), or io.EOF. A read error is
// returned after the complete lines read before it. The chunk is a string
// over a buffer the reader never touches again (no copy).
// The second result is that buffer (to reuse once the chunk is dead).
func (c *chunkReader) next() (string, []byte, error) {
	for {
		if cut := c.cut(); cut > 0 {
			out := c.buf[:cut]
			rest := c.newBuf(max(c.size, len(c.buf)-cut))[:len(c.buf)-cut]
			copy(rest, c.buf[cut:])
			c.buf = rest
			return unsafe.String(&out[0], len(out)), out, nil
		}
		if c.err != nil {
			// A broken stream (truncated gzip): the bytes after the last
			// complete line are not a record.
			c.buf = nil
			return "", nil, c.err
		}
		if c.eof {
			if len(c.buf) > 0 {
				out := c.buf
				c.buf = nil
				return unsafe.String(&out[0], len(out)), out, nil
			}
			return "", nil, io.EOF
		}
		c.fill()
	}
}

func (c *chunkReader) newBuf(n int) []byte {
	if c.alloc != nil {
		return c.alloc(n)
	}
	return make([]byte, 0, n)
}

// fill reads at least one more block into buf.
func (c *chunkReader) fill() {
	want := c.size
	if len(c.buf) >= want {
		want = 2 * len(c.buf) // a record longer than a chunk
	}
	if cap(c.buf) < want {
		nb := c.newBuf(want)[:len(c.buf)]
		copy(nb, c.buf)
		c.buf = nb
	}
	for len(c.buf) < cap(c.buf) && !c.eof && c.err == nil {
		n, err := c.r.Read(c.buf[len(c.buf):cap(c.buf)])
		c.buf = c.buf[:len(c.buf)+n]
		if err == io.EOF {
			c.eof = true
		} else if err != nil {
			c.err = err
		}
	}
}

// cut returns the length of the longest prefix of buf made of whole
// records, when buf is full enough to cut (or 0).
func (c *chunkReader) cut() int {
	if len(c.buf) < c.size && !c.eof && c.err == nil {
		return 0
	}
	if !c.quotes || bytes.IndexByte(c.buf, '"') < 0 {
		return bytes.LastIndexByte(c.buf, '\n') + 1
	}
	// The same state machine as splitter: a quote opens a quoted field
	// only at the start of a field.
	last, in, start := 0, false, true
	buf := c.buf
	for i := 0; i < len(buf); i++ {
		b := buf[i]
		if in {
			if b == '"' {
				if i+1 < len(buf) && buf[i+1] == '"' {
					i++
				} else {
					in = false
				}
			}
			continue
		}
		switch {
		case b == '"' && start:
			in = true
		case b == c.delim:
			start = true
			continue
		case b == '\n':
			last = i + 1
			start = true
			continue
		}
		start = false
	}
	return last
}

// Delimiters are the field delimiters SniffDelimiter chooses among, in
// the order ties are broken.
var Delimiters = []byte{',', ';', '\t', '|'}

// SniffDelimiter returns the most frequent of Delimiters in a header line,
// counted outside double quotes (ties go to the earlier), and its count;
// 0, 0 when none occurs. It is the one delimiter detection, used by import
// and by the table reader (train --table, models predict, --reference).
func SniffDelimiter(line string) (delim byte, n int) {
	var counts [256]int
	quoted := false
	for i := 0; i < len(line); i++ {
		switch c := line[i]; {
		case c == '"':
			quoted = !quoted
		case !quoted:
			counts[c]++
		}
	}
	for _, d := range Delimiters {
		if counts[d] > n {
			delim, n = d, counts[d]
		}
	}
	return delim, n
}

// resolve returns the format a text source is read with: f when it names
// a delimiter or whitespace; otherwise the delimiter sniffed from the
// header line, tab for a .tsv (or .tsv.gz) whose header holds one, and
// ',' when nothing else applies.
func (f TextFormat) resolve(name, header string) TextFormat {
	if f.Whitespace || f.Delimiter != 0 {
		return f
	}
	lower := strings.ToLower(name)
	if (strings.HasSuffix(lower, ".tsv") || strings.HasSuffix(lower, ".tsv.gz")) && strings.IndexByte(header, '\t') >= 0 {
		return TextFormat{Delimiter: '\t'}
	}
	if d, n := SniffDelimiter(header); n > 0 {
		return TextFormat{Delimiter: d}
	}
	return TextFormat{Delimiter: ','}
}

// utf8BOM is the byte order mark some spreadsheets write first.
const utf8BOM = "\xef\xbb\xbf"

// startText skips a UTF-8 byte order mark at the start of br and returns
// the first non-blank line (without its line end), peeked, not consumed;
// a line longer than br's buffer is cut at the buffer's size.
func startText(br *bufio.Reader) (string, error) {
	if b, err := br.Peek(3); err == nil && string(b) == utf8BOM {
		br.Discard(3)
	}
	for n := min(4096, br.Size()); ; n = min(2*n, br.Size()) {
		b, err := br.Peek(n)
		rest := b
		for len(rest) > 0 {
			i := bytes.IndexByte(rest, '\n')
			if i < 0 {
				break
			}
			if line := bytes.TrimSuffix(rest[:i], []byte{'\r'}); len(line) > 0 {
				return string(line), nil
			}
			rest = rest[i+1:]
		}
		if err != nil || n == br.Size() {
			if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
				return "", err
			}
			return string(bytes.TrimSuffix(rest, []byte{'\r'})), nil
		}
	}
}

// TextReader reads the records of delimited text one at a time, with the
// rules import reads text by (the same splitter and sniffer): a UTF-8 BOM
// is skipped, the delimiter is sniffed from the first line when the
// format names none, fields may be quoted (RFC 4180; text after a closing
// quote is kept), lines end in LF or CRLF, blank lines are skipped. It is
// the reader of package datasets/table. Not safe for concurrent use.
type TextReader struct {
	name   string
	format TextFormat
	cr     *chunkReader
	sp     splitter
	chunk  string
	pos    int
	next   int64 // line of the next byte of chunk
	line   int64 // first line of the last record
}

// NewTextReader reads the text of r (decompressed). name is the file's
// name, for errors and the .tsv rule; a zero format is resolved from the
// first line.
func NewTextReader(r io.Reader, name string, format TextFormat) (*TextReader, error) {
	return newTextReader(r, name, format, 64<<10)
}

// newTextReader is NewTextReader with chunks of size bytes.
func newTextReader(r io.Reader, name string, format TextFormat, size int) (*TextReader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	first, err := startText(br)
	if err != nil {
		return nil, &FileError{Path: name, Err: err}
	}
	format = format.resolve(name, first)
	return &TextReader{name: name, format: format, cr: newChunkReader(br, format, size), sp: splitter{format: format}, next: 1}, nil
}

// Format is the format the text is read with (the sniffed delimiter).
func (t *TextReader) Format() TextFormat { return t.format }

// Line is the first line of the last record Read returned.
func (t *TextReader) Line() int64 { return t.line }

// Read returns the next record's fields, valid until the next call, or
// io.EOF after the last. Errors are *FileError at a line.
func (t *TextReader) Read() ([]string, error) {
	for {
		for t.pos < len(t.chunk) {
			end, nls, blank, err := t.sp.next(t.chunk, t.pos)
			t.line = t.next
			t.pos, t.next = end, t.next+int64(nls)
			if err != nil {
				return nil, &FileError{Path: t.name, Line: t.line, Err: err}
			}
			if !blank {
				return t.sp.fields, nil
			}
		}
		chunk, _, err := t.cr.next()
		if err == io.EOF {
			return nil, io.EOF
		}
		if err != nil {
			return nil, &FileError{Path: t.name, Line: t.next, Err: fmt.Errorf("read: %w", err)}
		}
		t.chunk, t.pos = chunk, 0
	}
}
