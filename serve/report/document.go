package report

import (
	"embed"
	"fmt"
	"html/template"
	"io"
	"regexp"
	"strings"
	"time"
)

// Document is one report: a title, a line saying what it is about, and
// its sections in order (the table of contents lists them).
type Document struct {
	Title    string
	Subtitle string
	// Generated is printed in the footer with the prevoir version.
	Generated      time.Time
	PrevoirVersion string
	Sections       []Section
	// TOC is filled by Render: level 1 sections with their level 2
	// sections nested.
	TOC []tocEntry
}

type tocEntry struct {
	ID, Title string
	Children  []tocEntry
}

// Section is a titled part of a report. ID is its anchor (made from the
// title when empty); Level 2 sections are nested under the level 1 section
// before them in the table of contents.
type Section struct {
	ID     string
	Title  string
	Level  int // 1 (default) or 2
	Blocks []Block
}

// Block is one element of a section: a paragraph, a note, a table, a
// list of key figures or a figure. Exactly one field is set.
type Block struct {
	Text    string
	Note    string // a warning or caveat, set apart
	Table   *Table
	Figures []Figure // side by side when several
	Facts   []Fact
}

// Table is a table of already formatted cells. Numeric columns (by index)
// are right-aligned.
type Table struct {
	Caption string
	Head    []string
	Rows    [][]string
	Numeric []bool
	// Highlight marks rows to emphasise (the better model, say).
	Highlight []bool
	// Class is a CSS class for the table (diff: first column unwrapped).
	Class string
}

// Fact is one key figure: a label and a formatted value.
type Fact struct {
	Label, Value string
}

// Figure is one plot: inline SVG and the caption under it.
type Figure struct {
	ID      string
	Caption string
	SVG     template.HTML
}

//go:embed page.html.tmpl
var pageFS embed.FS

var page = template.Must(template.New("page.html.tmpl").Funcs(template.FuncMap{
	"inc": func(i int) int { return i + 1 },
}).ParseFS(pageFS, "page.html.tmpl"))

// Render writes the document as one HTML file. Text is escaped by
// html/template; figures are SVG this package drew.
func Render(w io.Writer, d *Document) error {
	d2 := *d
	d2.Sections = make([]Section, len(d.Sections))
	seen := map[string]int{}
	for i, s := range d.Sections {
		if s.Level == 0 {
			s.Level = 1
		}
		if s.ID == "" {
			s.ID = slug(s.Title)
		}
		if n := seen[s.ID]; n > 0 {
			s.ID = fmt.Sprintf("%s-%d", s.ID, n+1)
		}
		seen[s.ID]++
		d2.Sections[i] = s
		e := tocEntry{ID: s.ID, Title: s.Title}
		if s.Level == 2 && len(d2.TOC) > 0 {
			last := &d2.TOC[len(d2.TOC)-1]
			last.Children = append(last.Children, e)
		} else {
			d2.TOC = append(d2.TOC, e)
		}
	}
	return page.Execute(w, &d2)
}

var nonSlug = regexp.MustCompile(`[^a-z0-9]+`)

// slug makes an anchor from a title.
func slug(s string) string {
	s = strings.Trim(nonSlug.ReplaceAllString(strings.ToLower(s), "-"), "-")
	if s == "" {
		return "section"
	}
	return s
}
