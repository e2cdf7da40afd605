// Package registry keeps models in a datasets.Store: immutable integer
// versions and movable aliases (champion, challenger), like MLflow's.
//
// # Layout
//
//	models/<name>/<version>/_reserved.json   the version number's reservation
//	models/<name>/<version>/<model file>     imported kinds; optional
//	models/<name>/<version>/card.json        written last: the version exists
//	models/<name>/aliases.json               {"aliases": {"champion": 3}, "history": [...], ...}
//
// # Concurrency
//
// A version number is allocated by creating its _reserved.json with a
// conditional Put (IfAbsent): of any number of registrations, in any number
// of processes, exactly one creates it; the others try the next number. So
// concurrent registrations get distinct, consecutive numbers. The model
// file is written next and card.json last, so a reader that sees a card
// sees the whole version; a registration that crashes in between leaves a
// reserved number that is skipped, never reused.
//
// aliases.json is updated by compare-and-swap: Stat for its ETag, read,
// change, Put with IfMatch (IfAbsent when it does not exist yet), and on
// ErrPreconditionFailed start again, with jittered backoff. Concurrent
// promotions therefore never lose one another's update.
//
// # History
//
// Every alias move (Promote to another version, Unalias) appends a Move
// (alias, from, to, time, user, host) to the "history" list of the same
// aliases.json, inside the change that the compare-and-swap writes: the
// move and its record are one object write, so they cannot diverge, a
// swap that loses the race records nothing, and a retried one records its
// move once. History reads the list; History.At answers where each alias
// pointed at an instant. A document written before history existed reads
// with no moves, its aliases "before records began"; its next swap sets
// history_start and keeps those aliases as "initial". The list grows by
// one entry of about 130 bytes per move and is never trimmed (10,000
// moves make a document of about 1.3 MB), so "which version was champion
// then" keeps one answer.
//
// Versions are immutable: nothing is ever written twice under a version.
// Remove deletes a version's card and files but keeps its reservation, so
// its number is never given to another model.
//
// # Kinds
//
// Load builds a version's Model with the Loader of the card's kind among
// Options.Kinds, an explicit list: logistic only by default; cmd/prevoir
// adds gbdt.Kinds() ("lightgbm" and "xgboost").
package registry
