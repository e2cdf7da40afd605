package stores

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	for _, ok := range []string{"./prevoir-data", "/var/lib/prevoir", "data", `C:\prevoir`, "file:///tmp/x", "s3://bucket", "s3://my-bucket.eu/prefix/sub", "s3://abc/"} {
		if err := Check(ok); err != nil {
			t.Errorf("Check(%q) = %v, want ok", ok, err)
		}
	}
	for _, tc := range []struct{ url, want string }{
		{"s3:/bucket", "malformed S3 URL"},
		{"s3:bucket", "malformed S3 URL"},
		{"S3://bucket", "malformed S3 URL"},
		{"gs://bucket", `unsupported scheme "gs"`},
		{"http://host/x", `unsupported scheme "http"`},
		{"s3://", "missing bucket name"},
		{"s3:///prefix", "missing bucket name"},
		{"s3://Bucket", "not a valid bucket name"},
		{"s3://ab", "not a valid bucket name"},
		{"s3://a_b_c", "not a valid bucket name"},
		{"s3://bucket/../x", "prefix"},
		{"file://", "want file:///path"},
		{"", "empty location"},
	} {
		err := Check(tc.url)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Check(%q) = %v, want %q", tc.url, err, tc.want)
		}
	}
}

func TestOpenNoCreate(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "missing")
	_, err := Open(ctx, dir, Options{NoCreate: true})
	if !errors.Is(err, fs.ErrNotExist) || !IsNotExist(err) {
		t.Fatalf("NoCreate on a missing folder: %v", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("NoCreate created the folder: %v", err)
	}
	if _, err := Open(ctx, dir, Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, dir, Options{NoCreate: true}); err != nil {
		t.Fatalf("NoCreate on an existing folder: %v", err)
	}
	if _, err := Open(ctx, "s3:/bucket", Options{}); err == nil {
		t.Fatal("Open accepted s3:/bucket")
	}
	if _, err := os.Stat("s3:"); err == nil {
		t.Fatal("Open created a folder named s3:")
	}
}
