package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/datasets/local"
	"github.com/prevoir/prevoir/datasets/privacy"
	"github.com/prevoir/prevoir/datasets/privacy/privacytest"
)

func openLocal(t *testing.T, dir string) datasets.Store {
	t.Helper()
	st, err := local.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// runGen runs the CLI in-process, returning stdout, stderr and the error.
func runGen(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	app := newApp(&stdout, &stderr)
	err := app.RunContext(context.Background(), reorderArgs(app, append([]string{"prevoir"}, args...)))
	return stdout.String(), stderr.String(), err
}

func TestGenerateForgetShowCLI(t *testing.T) {
	store := t.TempDir()
	out, _, err := runGen(t, "--store", store, "datasets", "generate", "--name", "demo", "--customers", "300", "--days", "90")
	if err != nil || !strings.Contains(out, "generated dataset demo") {
		t.Fatalf("generate: %v\n%s", err, out)
	}
	out, _, err = runGen(t, "--store", store, "datasets", "generate", "--name", "demo", "--customers", "300", "--days", "90")
	if err != nil || !strings.Contains(out, "nothing to do") {
		t.Fatalf("second generate: %v\n%s", err, out)
	}
	describe := func() (n int64) {
		out, _, err := runGen(t, "--store", store, "--json", "datasets", "describe")
		if err != nil {
			t.Fatal(err)
		}
		var d struct{ Customers int64 }
		if err := json.Unmarshal([]byte(out), &d); err != nil {
			t.Fatal(err)
		}
		return d.Customers
	}
	before := describe()

	out, _, err = runGen(t, "--store", store, "--json", "customers", "show", "000007")
	if err != nil {
		t.Fatal(err)
	}
	var s privacy.Subject
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatal(err)
	}
	latent := false
	for _, tb := range s.Tables {
		latent = latent || tb.Table == "_latent/customers.csv.gz"
	}
	if len(s.Tables) == 0 || !latent || len(s.Objects) == 0 {
		t.Fatalf("show before forget: %s", out)
	}
	// Every object show lists holds the id; every object holding it is listed.
	holding, err := privacytest.Holding(context.Background(), openLocal(t, store), "000007")
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, o := range s.Objects {
		listed[o.Key] = true
	}
	for _, k := range holding {
		if !listed[k] {
			t.Errorf("show does not list %s, which holds the customer", k)
		}
	}
	if len(holding) != len(listed) {
		t.Errorf("show lists %d objects, %d hold the id: %v", len(listed), len(holding), holding)
	}
	if strings.Contains(out, `"000008"`) {
		t.Fatal("show reveals another customer")
	}

	ids := filepath.Join(t.TempDir(), "ids.txt")
	os.WriteFile(ids, []byte("# to forget\n000007\n\n"), 0o644)
	out, _, err = runGen(t, "--store", store, "--json", "customers", "forget", "--file", ids)
	if err != nil {
		t.Fatal(err)
	}
	var rep privacy.ForgetReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil || rep.Customers != 1 || rep.Rows == 0 || len(rep.Rewrites) == 0 {
		t.Fatalf("forget report %s (%v)", out, err)
	}
	if describe() != before-1 {
		t.Errorf("describe after forget: want %d customers", before-1)
	}
	out, _, err = runGen(t, "--store", store, "customers", "forget", "000007")
	if err != nil || !strings.Contains(out, "0 new tombstones") {
		t.Fatalf("rerun forget: %v\n%s", err, out)
	}
	out, _, err = runGen(t, "--store", store, "--json", "customers", "show", "000007")
	if err != nil {
		t.Fatal(err)
	}
	s = privacy.Subject{}
	json.Unmarshal([]byte(out), &s)
	if !s.Forgotten || len(s.Tables) != 0 || len(s.Objects) != 0 {
		t.Fatalf("show after forget: %s", out)
	}
	if holding, err := privacytest.Holding(context.Background(), openLocal(t, store), "000007"); err != nil || len(holding) != 0 {
		t.Fatalf("after forget, objects hold the id in clear: %v (%v)", holding, err)
	}

	_, _, err = runGen(t, "--store", store, "customers", "opt-out", "000009", "--channel", "sms")
	if err != nil {
		t.Fatal(err)
	}
	out, _, err = runGen(t, "--store", store, "customers", "show", "000009")
	if err != nil || !strings.Contains(out, "opted out of sms") {
		t.Fatalf("show after opt-out: %v\n%s", err, out)
	}
	if _, _, err := runGen(t, "--store", store, "customers", "opt-in", "000009", "--channel", "fax"); err == nil {
		t.Error("--channel fax accepted")
	}
	if _, _, err := runGen(t, "--store", store, "customers", "forget"); err == nil {
		t.Error("forget without ids accepted")
	}
}

func TestGenerateCSVCLI(t *testing.T) {
	path := filepath.Join(t.TempDir(), "o.csv")
	_, _, err := runGen(t, "datasets", "generate", "--format", "csv", "--out", path, "--customers", "100")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	if !strings.HasPrefix(string(b), "customer_id,order_id,timestamp,product_id,category,quantity,unit_price,warehouse\n") {
		t.Fatalf("csv starts %q", b[:80])
	}
	if _, _, err := runGen(t, "datasets", "generate", "--format", "csv"); err == nil {
		t.Error("csv without --out accepted")
	}
	if _, _, err := runGen(t, "datasets", "generate", "--customers", "10"); err == nil {
		t.Error("parquet without --name accepted")
	}
}
