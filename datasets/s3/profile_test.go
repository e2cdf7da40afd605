package s3_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/datasets/s3"
	"github.com/prevoir/prevoir/datasets/s3/s3test"
)

// TestAWSConfigProfileReachesMinIO: as an AWS user configures it, with
// no AWS_ENDPOINT_URL and no key in the environment: a profile of
// AWS_CONFIG_FILE names the endpoint (MinIO) and region, and its keys
// come from the shared credentials file.
func TestAWSConfigProfileReachesMinIO(t *testing.T) {
	srv := s3test.Start(t)
	dir := t.TempDir()
	config := filepath.Join(dir, "config")
	creds := filepath.Join(dir, "credentials")
	if err := os.WriteFile(config, []byte(fmt.Sprintf("[default]\nregion = eu-west-1\n\n[profile local]\nregion = %s\nendpoint_url = %s\n", s3test.Region, srv.Endpoint)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(creds, []byte(fmt.Sprintf("[local]\naws_access_key_id = %s\naws_secret_access_key = %s\n", srv.AccessKey, srv.SecretKey)), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"HOME":                        dir,
		"AWS_CONFIG_FILE":             config,
		"AWS_SHARED_CREDENTIALS_FILE": creds,
		"AWS_PROFILE":                 "local",
		"AWS_EC2_METADATA_DISABLED":   "true",
	}
	for k, v := range env {
		t.Setenv(k, v) // minio-go's file provider reads them too
	}
	for _, k := range []string{"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "AWS_DEFAULT_REGION"} {
		t.Setenv(k, "")
	}
	cfg := s3.ConfigFromEnv(func(k string) string { return env[k] })
	if cfg.Endpoint != "" || cfg.AccessKeyID != "" {
		t.Fatalf("the environment alone should name no endpoint or key: %+v", cfg)
	}
	ctx := context.Background()
	st, err := s3.New(ctx, srv.Bucket, "profile-test", cfg)
	if err != nil {
		t.Fatalf("New through the profile: %v", err)
	}
	if _, err := st.Put(ctx, "hello.txt", bytes.NewReader([]byte("hi")), 2, datasets.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	o, err := st.Open(ctx, "hello.txt")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(o)
	o.Close()
	if string(b) != "hi" {
		t.Errorf("read back %q", b)
	}
}
