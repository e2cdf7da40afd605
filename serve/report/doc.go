// Package report writes the reports people read: one self-contained HTML
// file per report (no script, no font, no image fetched from anywhere:
// plots are inline SVG drawn with gonum/plot), with a table of contents,
// numbers formatted for people and a print stylesheet.
//
// A report is a Document of Sections; a section holds Blocks (text, a
// table, a figure). Section builders are small functions, one per model
// kind or publication task:
//
//   - ModelReport builds a model report from registered cards: with
//     several cards, first the side-by-side comparison and each card's
//     diff against the first; then, for each card, the sections of its
//     kind (ModelSections picks the builder: classifierSections for
//     probability outputs, genericSections otherwise).
//   - ScoresReport builds a publication report: the summary every
//     publication has, then the sections of its task (ScoreSections picks
//     the builder: churnSections, demandSections for the demand and
//     preposition tables, offersSections for propensity's offers table),
//     each comparing with the previous publication.
//
// A new model kind or task adds one builder in its own file and one case
// in ModelSections or ScoreSections; see docs/REPORTS.md.
package report
