// Package s3 implements datasets.Store over S3-compatible object storage
// (AWS S3, MinIO) with minio-go.
//
// A Store addresses one bucket, which must already exist: prevoir never
// creates buckets, and New checks that the bucket is there, so a missing
// bucket, refused credentials or an unreachable endpoint are reported when
// the store is opened, as one line naming the problem. Keys are stored as
// the objects prefix + "/" + key.
//
// Reads are ranged GETs of just the bytes asked for; an open object is
// pinned to the ETag Open saw. Put streams the body, in PartSize parts when
// the size is unknown. Conditional Puts use If-None-Match: * (IfAbsent) and
// If-Match: etag (IfMatch), which AWS S3 and recent MinIO enforce
// atomically on the server, so they are safe across processes and hosts.
//
// The library never reads the environment: ConfigFromEnv builds a Config
// from the AWS variables for cmd/prevoir. Package s3test starts a MinIO
// server for tests.
package s3
