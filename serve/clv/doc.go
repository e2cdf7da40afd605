// Package clv is the clv task's publication: every customer of the clv
// feature table as of a date, scored with a registered bgnbd-gg model
// (package models/btyd): the probability alive, the expected purchases
// and the discounted CLV over a horizon, the expected mean spend, and the
// basis of the estimate (repeat, single or insufficient). It publishes
// through serve/publish under scores/<dataset>/clv/<as_of>/. See
// docs/CLV.md.
package clv
