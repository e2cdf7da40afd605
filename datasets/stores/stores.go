// Package stores opens a datasets.Store from the URL a user types:
// a folder path (the embedded default) or s3://bucket/prefix.
package stores

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"regexp"
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
	// NoCreate opens a local folder only if it exists: a missing one is
	// an error wrapping fs.ErrNotExist, and nothing is created. Commands
	// that only look (status) set it.
	NoCreate bool
}

// scheme matches a URL scheme of two or more characters followed by a
// colon: "s3:", "gs:", "http:". One letter is a Windows drive (C:).
var scheme = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9+.-]+):`)

// Open returns the store at url: "s3://bucket[/prefix]" opens S3, a
// "file://" URL or any other string a local folder (created if missing).
func Open(ctx context.Context, url string, opts Options) (datasets.Store, error) {
	if err := Check(url); err != nil {
		return nil, err
	}
	if IsRemote(url) {
		bucket, prefix, err := SplitS3URL(url)
		if err != nil {
			return nil, err
		}
		return s3.New(ctx, bucket, prefix, opts.S3)
	}
	dir := strings.TrimPrefix(url, "file://")
	if opts.NoCreate {
		fi, err := os.Stat(dir)
		if err != nil {
			return nil, fmt.Errorf("store %s: %w", dir, err)
		}
		if !fi.IsDir() {
			return nil, fmt.Errorf("store %s: not a folder", dir)
		}
	}
	return local.New(dir)
}

// Check checks the form of a store location without opening it: a
// folder path, file:///path, or s3://bucket[/prefix] with a valid bucket
// name. Anything else that looks like a URL (s3:/bucket, S3://b,
// gs://b, http://...) is refused, so a typo does not become a local
// folder named "s3:".
func Check(url string) error {
	switch {
	case url == "":
		return fmt.Errorf("store: empty location")
	case IsRemote(url):
		_, _, err := SplitS3URL(url)
		return err
	case strings.HasPrefix(url, "file://"):
		if strings.TrimPrefix(url, "file://") == "" {
			return fmt.Errorf("store %q: want file:///path/to/folder", url)
		}
		return nil
	}
	if m := scheme.FindStringSubmatch(url); m != nil {
		if strings.EqualFold(m[1], "s3") {
			return fmt.Errorf("store %q: malformed S3 URL: want s3://bucket/prefix (lower-case scheme, two slashes)", url)
		}
		return fmt.Errorf("store %q: unsupported scheme %q (use a folder path or s3://bucket/prefix)", url, m[1])
	}
	return nil
}

// validBucket follows S3's bucket naming rules: 3 to 63 lower-case
// letters, digits, dots and hyphens, starting and ending with a letter
// or digit.
var validBucket = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

// IsNotExist reports whether err says a NoCreate store's folder is missing.
func IsNotExist(err error) bool { return err != nil && errors.Is(err, fs.ErrNotExist) }

// SplitS3URL splits "s3://bucket/some/prefix" into its bucket and a key
// prefix without leading or trailing slashes.
func SplitS3URL(url string) (bucket, prefix string, err error) {
	rest := strings.TrimPrefix(url, "s3://")
	bucket, prefix, _ = strings.Cut(rest, "/")
	if bucket == "" {
		return "", "", fmt.Errorf("store %q: missing bucket name", url)
	}
	if !validBucket.MatchString(bucket) || strings.Contains(bucket, "..") {
		return "", "", fmt.Errorf("store %q: %q is not a valid bucket name (3 to 63 lower-case letters, digits, '.' and '-')", url, bucket)
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
