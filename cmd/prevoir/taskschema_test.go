package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/prevoir/prevoir/datasets/local"
	"github.com/prevoir/prevoir/features"
)

// TestTaskSchema: `models import --task churn` binds to the schema of the
// latest churn feature table in the store, and says what to do when
// there is none.
func TestTaskSchema(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "store")
	csv := filepath.Join(dir, "orders.csv")
	lines := "customer_id,order_id,timestamp,product_id,category,quantity,unit_price\n" +
		"1,o1,2024-01-05T10:00:00Z,p1,a,2,5.5\n" +
		"2,o3,2024-02-20T10:00:00Z,p1,a,1,5.5\n" +
		"3,o5,2024-04-20T10:00:00Z,p1,a,1,5.5\n"
	if err := os.WriteFile(csv, []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runCLI(t, "--store", store, "datasets", "import", "--name", "shop", csv); code != 0 {
		t.Fatalf("import: %d %s", code, errOut)
	}
	set := flag.NewFlagSet("test", flag.ContinueOnError)
	set.String("store", store, "")
	c := cli.NewContext(newApp(&bytes.Buffer{}, &bytes.Buffer{}), set, nil)
	ctx := context.Background()
	if _, err := currentTaskSchema(ctx, c, "", "churn"); err == nil || !strings.Contains(err.Error(), "prevoir features build --task churn") {
		t.Fatalf("no table yet: %v", err)
	}
	model := filepath.Join("..", "..", "testdata", "gbdt", "lgb4", "binary_categorical.txt")
	if code, _, errOut := runCLI(t, "--store", store, "models", "import", "--name", "m", "--file", model, "--task", "churn"); code == 0 || !strings.Contains(errOut, "features build") {
		t.Errorf("import --task churn without a table: exit %d, %s", code, errOut)
	}
	if code, _, errOut := runCLI(t, "--store", store, "features", "build", "--as-of", "2024-03-01"); code != 0 {
		t.Fatal(errOut)
	}
	s, err := currentTaskSchema(ctx, c, "", "churn")
	if err != nil {
		t.Fatal(err)
	}
	st, err := local.New(store)
	if err != nil {
		t.Fatal(err)
	}
	m, err := features.Latest(ctx, st, "shop", "churn", "2024-03-01", "")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s.Names(), m.FeatureSchema().Names()) || s.Names()[0] != "recency_days" {
		t.Errorf("schema %v, table %v", s.Names(), m.FeatureSchema().Names())
	}
	// The model's features are not churn features: refused by name, no
	// longer for want of a schema.
	code, _, errOut := runCLI(t, "--store", store, "models", "import", "--name", "m", "--file", model, "--task", "churn")
	if code == 0 || strings.Contains(errOut, "--schema FILE") || !strings.Contains(errOut, "loyalty_score") {
		t.Errorf("import --task churn: exit %d, %s", code, errOut)
	}
	if _, err := currentTaskSchema(ctx, c, "", "nosuch"); err == nil || !strings.Contains(err.Error(), "Task nosuch: unknown") {
		t.Errorf("nosuch: %v", err)
	}
}
