package registry_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/datasets/local"
	"github.com/prevoir/prevoir/models/registry"
)

// failingCards refuses every Put of a card.
type failingCards struct{ datasets.Store }

var errRefused = errors.New("refused by the test")

func (f failingCards) Put(ctx context.Context, key string, r io.Reader, size int64, opts datasets.PutOptions) (datasets.ObjectInfo, error) {
	if strings.HasSuffix(key, "/"+registry.CardFile) {
		return datasets.ObjectInfo{}, errRefused
	}
	return f.Store.Put(ctx, key, r, size, opts)
}

// TestRegisterFailureLeavesNoModelFile: a registration whose card (its
// manifest) cannot be written deletes its own model file, keeps its
// version number reserved, and the next registration takes the next one.
func TestRegisterFailureLeavesNoModelFile(t *testing.T) {
	ctx := context.Background()
	st, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	bad := registry.New(failingCards{st}, registry.Options{})
	_, err = bad.Register(ctx, "churn", testCard(), &registry.File{Name: "model.json", Body: strings.NewReader("{}"), Size: 2})
	if !errors.Is(err, errRefused) {
		t.Fatalf("register with cards refused: %v", err)
	}
	objs, err := st.List(ctx, "models/")
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 1 || !strings.HasSuffix(objs[0].Key, "/1/"+registry.ReservedFile) {
		t.Fatalf("after a failed registration the store holds %v, want only the reservation", objs)
	}
	c, err := registry.New(st, registry.Options{}).Register(ctx, "churn", testCard(), nil)
	if err != nil || c.Version != 2 {
		t.Fatalf("next registration: %v, %v; want version 2", c, err)
	}
}
