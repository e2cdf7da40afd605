package datasets_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/datasets/local"
	"github.com/prevoir/prevoir/datasets/privacy"
)

// TestCustomerCSV writes a customer file with a forgotten customer among
// its lines: the lines are dropped and counted, the file reads back
// whole, and CustomerFiles finds it but not a gzip CSV keyed otherwise.
func TestCustomerCSV(t *testing.T) {
	ctx := context.Background()
	st, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := privacy.Forget(ctx, st, []string{"2"}, time.Now(), tombstoneOnly); err != nil {
		t.Fatal(err)
	}
	if _, err := datasets.NewCustomerCSV(ctx, st, "datasets/d/x.csv.gz", "id,v"); err == nil {
		t.Error("a header without customer_id first was accepted")
	}
	if _, err := datasets.NewCustomerCSV(ctx, st, "elsewhere/x.csv.gz", "customer_id,v"); err == nil {
		t.Error("a key outside datasets/ was accepted")
	}
	key := "datasets/d/_latent/customers.csv.gz"
	c, err := datasets.NewCustomerCSV(ctx, st, key, "customer_id,v")
	if err != nil {
		t.Fatal(err)
	}
	for _, lines := range []string{"1,a\n2,b\n", "3,c\n02,d\n2,e\n"} {
		ch, err := c.Encode(nil, []byte(lines))
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Write(ch); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if c.Suppressed() != 2 {
		t.Errorf("suppressed %d lines, want 2", c.Suppressed())
	}
	o, err := st.Open(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(o)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(zr)
	o.Close()
	if string(b) != "customer_id,v\n1,a\n3,c\n02,d\n" {
		t.Errorf("stored %q", b)
	}

	var other bytes.Buffer
	zw := gzip.NewWriter(&other)
	zw.Write([]byte("product_id,w\np1,1\n"))
	zw.Close()
	datasets.PutBytes(ctx, st, "datasets/d/_latent/products.csv.gz", other.Bytes(), datasets.PutOptions{})
	files, err := datasets.CustomerFiles(ctx, st, "d")
	if err != nil || !slices.Equal(files, []string{key}) {
		t.Errorf("customer files %v (%v)", files, err)
	}
	var ids []string
	if err := datasets.ReadCustomerFile(ctx, st, key, func(id string, line []byte) error {
		ids = append(ids, id)
		return nil
	}); err != nil || strings.Join(ids, " ") != "customer_id 1 3 02" {
		t.Errorf("read back %v (%v)", ids, err)
	}
}
