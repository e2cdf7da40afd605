package datasets

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// plan is how one file's fields become rows of T.
type plan[T any] struct {
	im       *importer[T]
	path     string
	format   TextFormat // of a text source (zero for Parquet)
	bindings []binding
	mapped   []bool
	nfields  int // fields per record (header or first record)
	layout   string
}

type binding struct {
	field int    // canonical field index
	src   int    // source field index
	name  string // source column name, for errors
	iso   bool   // a typed Parquet time, converted to ISO 8601 text
}

// newPlan maps a file's columns (header, or nfields when headerless).
func (im *importer[T]) newPlan(path string, format TextFormat, header []string, nfields int, headerLine string) (*plan[T], error) {
	p := &plan[T]{im: im, path: path, format: format, mapped: make([]bool, len(im.t.fields)), nfields: nfields, layout: im.opts.TimeFormat}
	ferr := func(format string, args ...any) error {
		return &FileError{Path: path, Err: fmt.Errorf(format, args...)}
	}
	find := func(canon, spec string) (int, string, error) {
		if strings.HasPrefix(spec, "#") {
			n, err := strconv.Atoi(spec[1:])
			if err != nil || n < 1 {
				return 0, "", Fieldf("Map", canon+"="+spec, "want #N with N >= 1")
			}
			if n > nfields {
				return 0, "", ferr("missing column %s (mapped to %s): the file has %d columns%s", spec, canon, nfields, delimiterHint(headerLine, format))
			}
			name := spec
			if header != nil {
				name = header[n-1]
			}
			return n - 1, name, nil
		}
		if header == nil {
			return 0, "", &FieldError{Field: "Map", Value: canon + "=" + spec, With: []string{"NoHeader"}, Msg: fmt.Sprintf("the files have no header: map columns by position, %s=#N", canon)}
		}
		idx := -1
		for i, h := range header {
			if h == spec {
				if idx >= 0 {
					return 0, "", ferr("column %q (mapped to %s) appears twice in the header", spec, canon)
				}
				idx = i
			}
		}
		if idx < 0 {
			return 0, "", ferr("missing column %q (mapped to %s); the header has %s%s", spec, canon, quoteList(header), delimiterHint(headerLine, format))
		}
		return idx, spec, nil
	}
	for fi, f := range im.t.fields {
		spec, ok := im.opts.Map[f.name]
		if !ok {
			if header == nil {
				continue
			}
			if !slices.Contains(header, f.name) {
				continue
			}
			spec = f.name
		}
		idx, name, err := find(f.name, spec)
		if err != nil {
			return nil, err
		}
		p.bindings = append(p.bindings, binding{field: fi, src: idx, name: name})
		p.mapped[fi] = true
	}
	for _, group := range im.t.Required {
		ok := false
		for _, c := range group {
			ok = ok || p.mapped[im.t.fieldIndex(c)]
		}
		if !ok {
			what := fmt.Sprintf("column %s", group[0])
			if len(group) > 1 {
				what = "any of the columns " + strings.Join(group, ", ")
			}
			src := "the header has " + quoteList(header)
			if header == nil {
				src = fmt.Sprintf("the file has %d columns", nfields)
			}
			return nil, ferr("missing required %s: map it to a source column, %s=SOURCE (%s)%s", what, group[0], src, delimiterHint(headerLine, format))
		}
	}
	cols := p.columnSet()
	if im.columns == nil {
		im.columns = cols
	} else if !slices.Equal(cols, im.columns) {
		return nil, ferr("columns %s don't match the existing dataset %s table %s (%s); map the same columns, or replace the table, or import into another dataset", strings.Join(cols, ","), im.opts.Dataset, im.t.Name, strings.Join(im.columns, ","))
	}
	return p, nil
}

// columnSet lists the canonical columns a file provides, in schema order
// (line_type is always provided for orders: derived when not mapped).
func (p *plan[T]) columnSet() []string {
	var out []string
	for i, f := range p.im.t.fields {
		if p.mapped[i] || (f.name == "line_type" && p.im.t.Name == "orders") {
			out = append(out, f.name)
		}
	}
	return out
}

func quoteList(h []string) string {
	if len(h) == 0 {
		return "no columns"
	}
	q := make([]string, len(h))
	for i, s := range h {
		q[i] = strconv.Quote(s)
	}
	s := strings.Join(q, ", ")
	if len(h) == 1 {
		return "one column " + s
	}
	return fmt.Sprintf("%d columns %s", len(h), s)
}

// delimiterHint suggests another delimiter when the header line holds
// one (SniffDelimiter's choice) more often than the one it was split by.
func delimiterHint(line string, f TextFormat) string {
	if line == "" {
		return ""
	}
	cur := f.Delimiter
	if f.Whitespace {
		cur = ' '
	}
	best, n := SniffDelimiter(line)
	if best == 0 || best == cur || n <= strings.Count(line, string(cur)) {
		return ""
	}
	name := map[byte]string{',': "','", ';': "';'", '\t': "tab", '|': "'|'"}[best]
	return fmt.Sprintf(" — wrong delimiter? the header line has %d %s (the delimiter is detected when none is given)", n, name)
}

func (p *plan[T]) columnName(src int) string {
	for _, b := range p.bindings {
		if b.src == src {
			return b.name
		}
	}
	return "#" + strconv.Itoa(src+1)
}
