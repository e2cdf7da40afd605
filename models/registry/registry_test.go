package registry_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/datasets/local"
	"github.com/prevoir/prevoir/datasets/s3"
	"github.com/prevoir/prevoir/datasets/s3/s3test"
	"github.com/prevoir/prevoir/models"
	"github.com/prevoir/prevoir/models/logistic"
	"github.com/prevoir/prevoir/models/registry"
)

// Environment of a helper process (see TestMain): what to do, and where.
const (
	envHelper   = "PREVOIR_REGISTRY_TEST_HELPER" // "register" or "promote:<version>:<alias>"
	envStore    = "PREVOIR_REGISTRY_TEST_STORE"  // a folder, or s3://bucket/prefix
	envEndpoint = "PREVOIR_REGISTRY_TEST_S3_ENDPOINT"
	envStart    = "PREVOIR_REGISTRY_TEST_START" // unix nanoseconds to wait for, so helpers start together
)

// TestMain runs helper processes of the multi-process tests when asked to,
// and otherwise the tests (stopping MinIO at the end).
func TestMain(m *testing.M) {
	if op := os.Getenv(envHelper); op != "" {
		if err := helper(op); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	s3test.Main(m)
}

func helper(op string) error {
	ctx := context.Background()
	st, err := helperStore(ctx)
	if err != nil {
		return err
	}
	if ns, err := strconv.ParseInt(os.Getenv(envStart), 10, 64); err == nil {
		time.Sleep(time.Until(time.Unix(0, ns)))
	}
	reg := registry.New(st, registry.Options{})
	switch {
	case op == "register":
		c, err := reg.Register(ctx, "churn", testCard(), nil)
		if err != nil {
			return err
		}
		fmt.Println(c.Version)
		return nil
	case strings.HasPrefix(op, "promote:"):
		parts := strings.Split(op, ":")
		v, _ := strconv.Atoi(parts[1])
		_, err := reg.Promote(ctx, "churn", v, parts[2])
		return err
	}
	return fmt.Errorf("unknown helper op %q", op)
}

func helperStore(ctx context.Context) (datasets.Store, error) {
	loc := os.Getenv(envStore)
	if rest, ok := strings.CutPrefix(loc, "s3://"); ok {
		bucket, prefix, _ := strings.Cut(rest, "/")
		cfg := s3.Config{
			Endpoint:        os.Getenv(envEndpoint),
			AccessKeyID:     s3test.AccessKey,
			SecretAccessKey: s3test.SecretKey,
			Region:          s3test.Region,
		}
		return s3.New(ctx, bucket, prefix, cfg)
	}
	return local.New(loc)
}

// backend is a store to run the registry tests on, with the environment a
// helper process needs to open the same store.
type backend struct {
	name string
	open func(t *testing.T) (datasets.Store, []string)
}

var backends = []backend{
	{"local", func(t *testing.T) (datasets.Store, []string) {
		dir := t.TempDir()
		st, err := local.New(dir)
		if err != nil {
			t.Fatal(err)
		}
		return st, []string{envStore + "=" + dir}
	}},
	{"minio", func(t *testing.T) (datasets.Store, []string) {
		srv := s3test.Start(t)
		bucket := srv.NewBucket(t)
		st, err := s3.New(t.Context(), bucket, "reg", srv.Config())
		if err != nil {
			t.Fatal(err)
		}
		return st, []string{envStore + "=s3://" + bucket + "/reg", envEndpoint + "=" + srv.Endpoint}
	}},
}

func forEachBackend(t *testing.T, f func(t *testing.T, st datasets.Store, env []string)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			st, env := b.open(t)
			f(t, st, env)
		})
	}
}

func testCard() *models.Card {
	card, err := logistic.ParseDocument([]byte(`{"kind":"logistic","features":["x","y"],"intercept":-1,
		"coefficients":{"x":0.5,"y":-0.25},"preprocessing":{"mean":{"x":10},"scale":{"x":2}}}`))
	if err != nil {
		panic(err)
	}
	return card
}

func TestRegisterResolveLoad(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st datasets.Store, _ []string) {
		ctx := t.Context()
		now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
		reg := registry.New(st, registry.Options{PrevoirVersion: "test", Now: func() time.Time { return now }})
		in := testCard()
		c1, err := reg.Register(ctx, "churn", in, nil)
		if err != nil {
			t.Fatal(err)
		}
		if c1.Version != 1 || c1.Name != "churn" || !c1.Created.Equal(now) || c1.PrevoirVersion != "test" {
			t.Errorf("registered card = %s@%d created %v version %q", c1.Name, c1.Version, c1.Created, c1.PrevoirVersion)
		}
		if in.Name != "" || in.Version != 0 {
			t.Error("Register changed the caller's card")
		}
		c2, err := reg.Register(ctx, "churn", testCard(), &registry.File{Name: "model.json", Body: strings.NewReader("{}"), Size: 2})
		if err != nil {
			t.Fatal(err)
		}
		if c2.Version != 2 || c2.File != "model.json" {
			t.Errorf("second version = %d, file %q", c2.Version, c2.File)
		}
		if _, err := reg.Promote(ctx, "churn", 1, "champion"); err != nil {
			t.Fatal(err)
		}
		for ref, want := range map[string]int{"churn": 2, "churn@latest": 2, "churn@1": 1, "churn@2": 2, "churn@champion": 1} {
			_, v, err := reg.ResolveRef(ctx, ref)
			if err != nil || v != want {
				t.Errorf("ResolveRef(%q) = %d, %v; want %d", ref, v, err, want)
			}
		}
		m, err := reg.LoadRef(ctx, "churn@champion")
		if err != nil {
			t.Fatal(err)
		}
		// Row x=14, y=2: -1 + 0.5*(14-10)/2 - 0.25*2 = -0.5.
		dst := make([]float64, 1)
		if err := m.Score(dst, models.Batch{Rows: 1, Cols: 2, Values: []float64{14, 2}}, models.Raw); err != nil || dst[0] != -0.5 {
			t.Errorf("loaded model: raw = %v, %v; want -0.5", dst[0], err)
		}
		if m.Card().Version != 1 {
			t.Errorf("loaded card version %d", m.Card().Version)
		}

		ls, err := reg.List(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(ls) != 2 || ls[0].Version != 1 || strings.Join(ls[0].Aliases, ",") != "champion" || len(ls[1].Aliases) != 0 || ls[1].Kind != "logistic" {
			t.Errorf("List = %+v", ls)
		}

		// Errors: unknown names, versions, aliases; malformed refs.
		notFound := []string{"nope", "nope@1", "churn@3", "churn@challenger"}
		for _, ref := range notFound {
			if _, _, err := reg.ResolveRef(ctx, ref); !errors.Is(err, models.ErrNotFound) {
				t.Errorf("ResolveRef(%q): err = %v, want ErrNotFound", ref, err)
			}
		}
		for _, ref := range []string{"", "@1", "churn@", "churn@0", "churn@-1", "a/b", "churn@a b"} {
			if _, _, err := reg.ResolveRef(ctx, ref); !errors.Is(err, registry.ErrInvalidName) {
				t.Errorf("ResolveRef(%q): err = %v, want ErrInvalidName", ref, err)
			}
		}
		if _, err := reg.Promote(ctx, "churn", 7, "champion"); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("promote a missing version: err = %v", err)
		}
		if _, err := reg.Promote(ctx, "churn", 1, "latest"); !errors.Is(err, registry.ErrInvalidName) {
			t.Errorf("promote to alias latest: err = %v", err)
		}

		// rm refuses an aliased version, removes another, and its number is
		// never reused.
		if err := reg.Remove(ctx, "churn", 1); !errors.Is(err, registry.ErrAliased) {
			t.Errorf("rm aliased version: err = %v, want ErrAliased", err)
		}
		if err := reg.Remove(ctx, "churn", 2); err != nil {
			t.Fatal(err)
		}
		if _, err := reg.Card(ctx, "churn", 2); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("removed version: err = %v", err)
		}
		if _, err := st.Stat(ctx, "models/churn/2/model.json"); err == nil {
			t.Error("rm left the model file")
		}
		c3, err := reg.Register(ctx, "churn", testCard(), nil)
		if err != nil || c3.Version != 3 {
			t.Errorf("register after rm: version %v, %v; want 3", c3, err)
		}
		if err := reg.Remove(ctx, "churn", 2); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("rm twice: err = %v", err)
		}

		// A malformed card is reported as such.
		if _, err := datasets.PutBytes(ctx, st, "models/bad/1/card.json", []byte("{not json"), datasets.PutOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := reg.LoadRef(ctx, "bad@1"); !errors.Is(err, registry.ErrMalformed) {
			t.Errorf("malformed card: err = %v", err)
		}
		if _, err := datasets.PutBytes(ctx, st, "models/bad2/1/card.json", []byte(`{"name":"bad2","version":1,"kind":"logistic"}`), datasets.PutOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := reg.LoadRef(ctx, "bad2@1"); !errors.Is(err, logistic.ErrInvalid) {
			t.Errorf("card without coefficients: err = %v", err)
		}
	})
}

func TestRegisterRefuses(t *testing.T) {
	st, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	reg := registry.New(st, registry.Options{})
	ctx := t.Context()
	c := testCard()
	c.Kind = "tensorflow"
	if _, err := reg.Register(ctx, "m", c, nil); !errors.Is(err, models.ErrUnsupported) {
		t.Errorf("unknown kind: err = %v", err)
	}
	c = testCard()
	c.Coefficients = map[string]float64{"x": 1}
	if _, err := reg.Register(ctx, "m", c, nil); !errors.Is(err, logistic.ErrInvalid) {
		t.Errorf("invalid card: err = %v", err)
	}
	if _, err := reg.Register(ctx, "bad name", testCard(), nil); !errors.Is(err, registry.ErrInvalidName) {
		t.Errorf("bad name: err = %v", err)
	}
	if _, err := reg.Register(ctx, "m", testCard(), &registry.File{Name: "card.json", Body: strings.NewReader("")}); err == nil {
		t.Error("model file named card.json: no error")
	}
	if objs, _ := st.List(ctx, ""); len(objs) != 0 {
		t.Errorf("refused registrations wrote %d objects", len(objs))
	}
}

// TestConcurrentRegister: 8 goroutines register one name at once and get
// exactly versions 1..8.
func TestConcurrentRegister(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st datasets.Store, _ []string) {
		reg := registry.New(st, registry.Options{})
		const n = 8
		versions := make([]int, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				c, err := reg.Register(t.Context(), "churn", testCard(), nil)
				if err != nil {
					errs[i] = err
					return
				}
				versions[i] = c.Version
			}()
		}
		close(start)
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		checkOneToN(t, versions, n)
		vs, err := reg.Versions(t.Context(), "churn")
		if err != nil {
			t.Fatal(err)
		}
		checkOneToN(t, vs, n)
	})
}

func checkOneToN(t *testing.T, vs []int, n int) {
	t.Helper()
	got := append([]int(nil), vs...)
	sort.Ints(got)
	for i, v := range got {
		if v != i+1 {
			t.Fatalf("versions = %v, want exactly 1..%d", got, n)
		}
	}
	if len(got) != n {
		t.Fatalf("versions = %v, want exactly 1..%d", got, n)
	}
}

// TestConcurrentPromote: 8 goroutines each point their own alias at their
// own version at once; no update is lost.
func TestConcurrentPromote(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st datasets.Store, _ []string) {
		reg := registry.New(st, registry.Options{})
		const n = 8
		for range n {
			if _, err := reg.Register(t.Context(), "churn", testCard(), nil); err != nil {
				t.Fatal(err)
			}
		}
		var wg sync.WaitGroup
		start := make(chan struct{})
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, errs[i] = reg.Promote(t.Context(), "churn", i+1, fmt.Sprintf("a%d", i+1))
			}()
		}
		close(start)
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		checkAliases(t, reg, n)
	})
}

func checkAliases(t *testing.T, reg *registry.Registry, n int) {
	t.Helper()
	aliases, err := reg.Aliases(t.Context(), "churn")
	if err != nil {
		t.Fatal(err)
	}
	if len(aliases) != n {
		t.Errorf("aliases = %v, want %d", aliases, n)
	}
	for i := 1; i <= n; i++ {
		if v := aliases[fmt.Sprintf("a%d", i)]; v != i {
			t.Errorf("alias a%d -> %d, want %d (aliases %v)", i, v, i, aliases)
		}
	}
}

// runHelpers starts one helper process per op at the same instant and
// returns their outputs.
func runHelpers(t *testing.T, env []string, ops []string) []string {
	t.Helper()
	if testing.Short() {
		t.Skip("multi-process test skipped in -short mode")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	startAt := time.Now().Add(500 * time.Millisecond).UnixNano()
	outs := make([]string, len(ops))
	errs := make([]error, len(ops))
	var wg sync.WaitGroup
	for i, op := range ops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, exe, "-test.run=^$")
			cmd.Env = append(os.Environ(), env...)
			cmd.Env = append(cmd.Env, envHelper+"="+op, envStart+"="+strconv.FormatInt(startAt, 10))
			out, err := cmd.Output()
			if err != nil {
				var ee *exec.ExitError
				if errors.As(err, &ee) {
					err = fmt.Errorf("%s: %v: %s", op, err, ee.Stderr)
				}
				errs[i] = err
			}
			outs[i] = strings.TrimSpace(string(out))
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	return outs
}

// TestMultiProcessRegister: 8 processes register one name at once and get
// exactly versions 1..8.
func TestMultiProcessRegister(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st datasets.Store, env []string) {
		const n = 8
		ops := make([]string, n)
		for i := range ops {
			ops[i] = "register"
		}
		outs := runHelpers(t, env, ops)
		vs := make([]int, n)
		for i, o := range outs {
			v, err := strconv.Atoi(o)
			if err != nil {
				t.Fatalf("helper %d printed %q", i, o)
			}
			vs[i] = v
		}
		checkOneToN(t, vs, n)
	})
}

// TestMultiProcessPromote: 8 processes each promote their own version to
// their own alias at once; afterwards all 8 aliases exist.
func TestMultiProcessPromote(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st datasets.Store, env []string) {
		reg := registry.New(st, registry.Options{})
		const n = 8
		ops := make([]string, n)
		for i := range n {
			if _, err := reg.Register(t.Context(), "churn", testCard(), nil); err != nil {
				t.Fatal(err)
			}
			ops[i] = fmt.Sprintf("promote:%d:a%d", i+1, i+1)
		}
		runHelpers(t, env, ops)
		checkAliases(t, reg, n)
	})
}

// statHook is a store that runs hook once, after the first Stat of key.
type statHook struct {
	datasets.Store
	key  string
	once sync.Once
	hook func()
}

func (s *statHook) Stat(ctx context.Context, key string) (datasets.ObjectInfo, error) {
	info, err := s.Store.Stat(ctx, key)
	if key == s.key {
		s.once.Do(s.hook)
	}
	return info, err
}

// TestRemoveDuringPromote: an rm that runs whole between Promote's check
// that the version exists and its alias swap leaves no alias pointing at
// the removed version; Promote reports it removed.
func TestRemoveDuringPromote(t *testing.T) {
	dir := t.TempDir()
	st, err := local.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	reg := registry.New(st, registry.Options{})
	for range 2 {
		if _, err := reg.Register(t.Context(), "churn", testCard(), nil); err != nil {
			t.Fatal(err)
		}
	}
	var rmErr error
	hooked := &statHook{Store: st, key: "models/churn/2/card.json"}
	hooked.hook = func() { rmErr = reg.Remove(t.Context(), "churn", 2) }
	_, err = registry.New(hooked, registry.Options{}).Promote(t.Context(), "churn", 2, "champion")
	if rmErr != nil {
		t.Fatalf("rm during promote: %v", rmErr)
	}
	if !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("promote of a version removed meanwhile: err = %v, want not found", err)
	}
	aliases, err := reg.Aliases(t.Context(), "churn")
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := aliases["champion"]; ok {
		t.Fatalf("champion -> %d: an alias points at a removed version", v)
	}
	// The other order: promoted first, the rm is refused.
	if _, err := reg.Promote(t.Context(), "churn", 1, "champion"); err != nil {
		t.Fatal(err)
	}
	if err := reg.Remove(t.Context(), "churn", 1); !errors.Is(err, registry.ErrAliased) {
		t.Fatalf("rm of the champion: err = %v, want ErrAliased", err)
	}
}

// TestConcurrentPromoteRemove races a promote and an rm of the same
// version, many times: exactly one wins, and no alias ever points at a
// version without a card.
func TestConcurrentPromoteRemove(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st datasets.Store, _ []string) {
		reg := registry.New(st, registry.Options{})
		for round := range 12 {
			c, err := reg.Register(t.Context(), "churn", testCard(), nil)
			if err != nil {
				t.Fatal(err)
			}
			alias := fmt.Sprintf("a%d", round)
			var perr, rerr error
			var wg sync.WaitGroup
			start := make(chan struct{})
			wg.Add(2)
			go func() { defer wg.Done(); <-start; _, perr = reg.Promote(t.Context(), "churn", c.Version, alias) }()
			go func() { defer wg.Done(); <-start; rerr = reg.Remove(t.Context(), "churn", c.Version) }()
			close(start)
			wg.Wait()
			switch {
			case perr == nil && errors.Is(rerr, registry.ErrAliased):
			case rerr == nil && errors.Is(perr, models.ErrNotFound):
			default:
				t.Fatalf("round %d: promote: %v; rm: %v (want exactly one to win)", round, perr, rerr)
			}
			aliases, err := reg.Aliases(t.Context(), "churn")
			if err != nil {
				t.Fatal(err)
			}
			for a, v := range aliases {
				if _, err := st.Stat(t.Context(), fmt.Sprintf("models/churn/%d/card.json", v)); err != nil {
					t.Fatalf("round %d: alias %s -> %d, whose card is gone: %v", round, a, v, err)
				}
			}
		}
	})
}
