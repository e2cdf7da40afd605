package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/serve/nightly"
)

// readRunConfig reads the nightly job's config file (docs/NIGHTLY.md):
// YAML, unknown keys refused with their line, defaults filled. An empty
// path is the default config.
func readRunConfig(path string) (*nightly.Config, error) {
	cfg := &nightly.Config{}
	if path != "" {
		if err := decodeYAMLFile(path, cfg); err != nil {
			return nil, err
		}
		cfg.Dir = filepath.Dir(path)
	}
	if err := cfg.Defaults(); err != nil {
		return nil, keyError(path, err)
	}
	return cfg, nil
}

// readRules reads a trigger rules file (docs/NIGHTLY.md, "Trigger rules").
func readRules(path string) (*nightly.Rules, error) {
	r := &nightly.Rules{}
	if err := decodeYAMLFile(path, r); err != nil {
		return nil, err
	}
	if err := r.Defaults(); err != nil {
		return nil, keyError(path, err)
	}
	return r, nil
}

// decodeYAMLFile decodes one YAML document into v, refusing keys v has
// no field for; errors name the file and line.
func decodeYAMLFile(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return usageErrorf("config: %v", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return usageErrorf("%s: %s", path, yamlMessage(err))
	}
	return nil
}

var unknownKeyRE = regexp.MustCompile(`field (\S+) not found in type \S+`)

// yamlMessage turns yaml.v3's "line 3: field x not found in type
// nightly.Config" into "line 3: unknown key x".
func yamlMessage(err error) string {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return strings.TrimPrefix(err.Error(), "yaml: ")
	}
	msgs := make([]string, len(te.Errors))
	for i, e := range te.Errors {
		msgs[i] = unknownKeyRE.ReplaceAllString(e, "unknown key $1")
	}
	return strings.Join(msgs, "; ")
}

// keyError names the config key of a library FieldError (not a flag).
func keyError(path string, err error) error {
	if path == "" {
		path = "config"
	}
	if fe, ok := datasets.AsFieldError(err); ok {
		v := ""
		if fe.Value != "" {
			v = " " + fe.Value
		}
		return usageErrorf("%s: key %s%s: %s", path, fe.Field, v, fe.Msg)
	}
	return fmt.Errorf("%s: %w", path, err)
}
