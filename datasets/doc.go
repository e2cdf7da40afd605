// Package datasets owns prevoir's bytes and rows: the Store interface that
// every storage backend implements (a local folder in package local, S3 in
// package s3), the retail schema, readers, import and validation, and
// customers' suppressions.
package datasets
