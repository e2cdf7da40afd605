// Package stores opens a datasets.Store from the URL a user types:
// a folder path (the embedded default) or s3://bucket/prefix.
package stores

import (
	"context"
	"fmt"
	"strings"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/datasets/local"
	"github.com/prevoir/prevoir/datasets/s3"
)

// Options carries what opening a store may need beyond its URL.
type Options struct {
	// S3 configures the S3 backend (endpoint, credentials, region); it is
	// used only for s3:// URLs.
	S3 s3.Config
}

// Open returns the store at url: "s3://bucket[/prefix]" opens S3, a
// "file://" URL or any other string a local folder (created if missing).
func Open(ctx context.Context, url string, opts Options) (datasets.Store, error) {
	switch {
	case strings.HasPrefix(url, "s3://"):
		bucket, prefix, err := SplitS3URL(url)
		if err != nil {
			return nil, err
		}
		return s3.New(ctx, bucket, prefix, opts.S3)
	case strings.Contains(url, "://") && !strings.HasPrefix(url, "file://"):
		return nil, fmt.Errorf("store %q: unsupported scheme (use a folder path or s3://bucket/prefix)", url)
	default:
		if url == "" {
			return nil, fmt.Errorf("store: empty location")
		}
		return local.New(strings.TrimPrefix(url, "file://"))
	}
}

// SplitS3URL splits "s3://bucket/some/prefix" into its bucket and a key
// prefix without leading or trailing slashes.
func SplitS3URL(url string) (bucket, prefix string, err error) {
	rest := strings.TrimPrefix(url, "s3://")
	bucket, prefix, _ = strings.Cut(rest, "/")
	if bucket == "" {
		return "", "", fmt.Errorf("store %q: missing bucket name", url)
	}
	prefix = strings.Trim(prefix, "/")
	if prefix != "" {
		if err := datasets.ValidKey(prefix); err != nil {
			return "", "", fmt.Errorf("store %q: prefix: %w", url, err)
		}
	}
	return bucket, prefix, nil
}

// IsRemote reports whether url names a remote (S3) location.
func IsRemote(url string) bool { return strings.HasPrefix(url, "s3://") }
