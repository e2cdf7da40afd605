package gbdt

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/prevoir/prevoir/features"
	"github.com/prevoir/prevoir/models"
)

// generatedNames reports whether names are a framework's made-up ones:
// LightGBM's Column_<i> or XGBoost's f<i>, in order.
func generatedNames(names []string) bool {
	if len(names) == 0 {
		return true
	}
	for _, prefix := range []string{"Column_", "f"} {
		ok := true
		for i, n := range names {
			if n != prefix+strconv.Itoa(i) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// binding is how a batch's columns feed the model's features.
type binding struct {
	inputs   features.Schema
	perm     []int // perm[j]: batch column of model feature j
	identity bool
	warnings []string
}

// bind binds the model's features (names: the file's names, nil when it
// has none; kinds: how the model splits each feature; split: whether it
// splits on it at all) to schema. A nil schema takes the model's own
// names and kinds. A schema kind that differs from how the model splits
// a feature is a warning; a feature no split uses warns of nothing.
func bind(names []string, kinds []features.Kind, split []bool, schema *features.Schema) (*binding, error) {
	n := len(kinds)
	b := &binding{perm: make([]int, n), identity: true}
	for j := range b.perm {
		b.perm[j] = j
	}
	if len(names) > 0 {
		seen := map[string]bool{}
		for _, nm := range names {
			if seen[nm] {
				return nil, refuse("model file", "feature name %q appears twice", nm)
			}
			seen[nm] = true
		}
	}
	named := !generatedNames(names)
	if schema == nil {
		fs := make([]features.Feature, n)
		for j := range fs {
			name := "f" + strconv.Itoa(j)
			if len(names) == n {
				name = names[j]
			}
			fs[j] = features.Feature{Name: name, Kind: kinds[j], Nullable: true}
		}
		b.inputs = features.Schema{Features: fs}
		return b, nil
	}
	if err := schema.Validate(); err != nil {
		return nil, err
	}
	b.inputs = *schema
	if named {
		var missing, extra []string
		for j, nm := range names {
			k := schema.Index(nm)
			if k < 0 {
				missing = append(missing, nm)
				continue
			}
			b.perm[j] = k
			if k != j {
				b.identity = false
			}
		}
		in := map[string]bool{}
		for _, nm := range names {
			in[nm] = true
		}
		for _, f := range schema.Features {
			if !in[f.Name] {
				extra = append(extra, f.Name)
			}
		}
		if len(missing) > 0 || len(extra) > 0 {
			se := &features.SchemaError{Missing: missing, Extra: extra}
			var parts []string
			if len(missing) > 0 {
				parts = append(parts, "the model uses feature(s) "+quoteList(missing)+" that the schema lacks")
			}
			if len(extra) > 0 {
				parts = append(parts, "the schema has feature(s) "+quoteList(extra)+" that the model does not use")
			}
			return nil, &bindError{se: se, msg: strings.Join(parts, "; ")}
		}
	} else if len(schema.Features) != n {
		return nil, &bindError{
			se:  &features.SchemaError{},
			msg: fmt.Sprintf("the model file names no features and has %d; the schema has %d (binding by position needs the same count)", n, len(schema.Features)),
		}
	}
	for j := 0; j < n; j++ {
		f := schema.Features[b.perm[j]]
		if f.Kind != kinds[j] && split[j] {
			b.warnings = append(b.warnings, fmt.Sprintf("feature %q: the schema says %s, the model splits it as %s (the model decides)", f.Name, f.Kind, kinds[j]))
		}
	}
	sort.Strings(b.warnings)
	return b, nil
}

// bindError is a feature binding failure: errors.Is ErrSchemaMismatch,
// errors.As *features.SchemaError.
type bindError struct {
	se  *features.SchemaError
	msg string
}

func (e *bindError) Error() string        { return "schema mismatch: " + e.msg }
func (e *bindError) Is(target error) bool { return target == models.ErrSchemaMismatch }
func (e *bindError) Unwrap() error        { return e.se }

func quoteList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}
