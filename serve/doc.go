// Package serve is the top layer: it uses models on the store's data. It
// owns the operations that span every layer, starting with Forget, which
// knows each layer that holds customer rows (datasets and the generator's
// truth, feature tables; publications to come) and rewrites them all.
// Batch scoring, atomic publishing, the nightly run and the HTTP server
// will live here too.
//
// Imports point down only: serve may import features, models and
// datasets; nothing below imports serve, and serve never imports train.
package serve
