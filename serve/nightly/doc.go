// Package nightly is the nightly job (`prevoir run`): under a lease in
// the store, it retrains what its schedule says is due (champion against
// challenger), publishes every task's scores through serve/publish in
// dependency order, checks the publications of one horizon ago against
// what happened, turns scores and facts into trigger events (published as
// task triggers), and ends with a store gc.
//
// A task plugs in as an Adapter (task.go): a name, the tasks it needs,
// a memory estimate and a Run that builds, scores and publishes as of a
// date. Builtin lists them. See docs/NIGHTLY.md.
package nightly
