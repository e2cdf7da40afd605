// Package publish is the publication contract every task uses: a task
// declares its Scorer (the tables it writes and their columns; rows in,
// rows out), and Publish writes one publication under
// scores/<dataset>/<task>/<as_of>/ by the commit protocol
// (docs/ARCHITECTURE.md): the parts first, named by the run id, then
// _manifest.json by compare-and-swap, then the pointer
// scores/<dataset>/<task>/LATEST, moved by compare-and-swap. A publication
// may hold several tables, all committed by its one manifest. A rerun for
// the same as_of replaces the earlier publication: readers read the one
// manifest they find and only the parts it lists, so they never see a mix
// of two runs; the replaced parts stay until `prevoir store gc` (GCLayer).
//
// The publisher knows nothing of any task: it drops the rows of forgotten
// customers (the column a table names as its customer column) and records
// what the caller tells it about the model and features in the manifest.
// See docs/PUBLISHING.md.
package publish
