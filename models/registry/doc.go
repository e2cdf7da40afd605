// Package registry keeps models in a datasets.Store: immutable integer
// versions and movable aliases (champion, challenger), like MLflow's.
//
// # Layout
//
//	models/<name>/<version>/_reserved.json   the version number's reservation
//	models/<name>/<version>/<model file>     imported kinds; optional
//	models/<name>/<version>/card.json        written last: the version exists
//	models/<name>/aliases.json               {"aliases": {"champion": 3}, ...}
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
