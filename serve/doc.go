// Package serve is the top layer: it uses models on the store's data. It
// owns the operations that span every layer, starting with Forget, which
// knows each layer that holds customer rows (datasets and the generator's
// truth, feature tables, files, publications) and rewrites them all.
//
// It is also the scoring server (Server, `prevoir serve`): the latest
// publication of every task, whatever tables its scorer declared, served
// from an immutable in-memory snapshot that a reload swaps atomically;
// scores streams and pages (CSV or JSON lines, cursors pinned to a
// publication), customer and product lookups, online predictions with any
// registered model, scoped bearer tokens, Prometheus metrics and an OpenAPI
// document; and Pull, its resuming client (`prevoir scores pull`). See
// docs/SERVING.md.
//
// Imports point down only: serve may import features, models and
// datasets; nothing below imports serve, and serve never imports train.
package serve
