package features

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// Kind says how a feature's values are to be read.
type Kind string

// Feature kinds.
const (
	Numeric     Kind = "numeric"
	Categorical Kind = "categorical"
)

// Feature is one named column of a feature table or of a model's input.
type Feature struct {
	Name        string `json:"name"`
	Kind        Kind   `json:"kind"`
	Nullable    bool   `json:"nullable,omitempty"`
	Description string `json:"description,omitempty"`
	// Type is the stored type in a feature table (int64, double), empty
	// when unknown; it does not change the Fingerprint.
	Type string `json:"type,omitempty"`
}

// Schema is an ordered list of features. Its order is the column order a
// model was trained on; its Fingerprint identifies names, kinds and order.
type Schema struct {
	Features []Feature `json:"features"`
}

// Names returns the feature names in order.
func (s Schema) Names() []string {
	out := make([]string, len(s.Features))
	for i, f := range s.Features {
		out[i] = f.Name
	}
	return out
}

// Index returns the position of the named feature, or -1.
func (s Schema) Index(name string) int {
	for i, f := range s.Features {
		if f.Name == name {
			return i
		}
	}
	return -1
}

// Fingerprint is a short hex hash of the ordered names and kinds: two
// schemas with the same fingerprint bind columns the same way.
// Descriptions and nullability do not change it.
func (s Schema) Fingerprint() string {
	h := sha256.New()
	for _, f := range s.Features {
		fmt.Fprintf(h, "%s\x00%s\n", f.Name, f.Kind)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// Validate checks that names are present and unique and kinds known.
func (s Schema) Validate() error {
	seen := make(map[string]bool, len(s.Features))
	for i, f := range s.Features {
		if strings.TrimSpace(f.Name) == "" {
			return fmt.Errorf("schema: feature %d has no name", i+1)
		}
		if seen[f.Name] {
			return fmt.Errorf("schema: feature %q appears twice", f.Name)
		}
		seen[f.Name] = true
		switch f.Kind {
		case Numeric, Categorical:
		default:
			return fmt.Errorf("schema: feature %q: unknown kind %q (numeric or categorical)", f.Name, f.Kind)
		}
	}
	return nil
}

// SchemaError reports the columns a table lacks (and has beyond) a schema.
type SchemaError struct {
	Missing []string
	Extra   []string
}

func (e *SchemaError) Error() string {
	var parts []string
	if len(e.Missing) > 0 {
		parts = append(parts, "missing column(s) "+strings.Join(quoteAll(e.Missing), ", "))
	}
	if len(e.Extra) > 0 {
		parts = append(parts, "unexpected column(s) "+strings.Join(quoteAll(e.Extra), ", "))
	}
	return "schema mismatch: " + strings.Join(parts, "; ")
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}
