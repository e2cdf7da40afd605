package datasets_test

import (
	"context"
	"testing"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/datasets/s3"
	"github.com/prevoir/prevoir/datasets/s3/s3test"
)

func TestMain(m *testing.M) { s3test.Main(m) }

// s3Factory starts (or reuses) the test MinIO server and gives each case
// a store in a fresh bucket, under a prefix so that key mapping is
// exercised too. Without a minio binary the cases skip (fail with CI=true).
func s3Factory(t *testing.T) storeFactory {
	return func(t *testing.T) datasets.Store {
		srv := s3test.Start(t)
		st, err := s3.New(context.Background(), srv.NewBucket(t), "conformance/prefix", srv.Config())
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
}
