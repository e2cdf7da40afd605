package privacy

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/prevoir/prevoir/datasets"
)

// Subject is the subject-access view of one customer: what the store holds
// about them, and nothing about anyone else.
type Subject struct {
	CustomerID string `json:"customer_id"`
	// Forgotten is set when the customer was forgotten (then the tables
	// hold none of their rows).
	Forgotten   bool       `json:"forgotten"`
	ForgottenAt *time.Time `json:"forgotten_at,omitempty"`
	// Consent are the opt-outs and opt-ins given through prevoir.
	Consent []SubjectConsent `json:"consent"`
	// Tables are the customer's rows, per dataset table that has any.
	Tables []SubjectTable `json:"tables"`
	// Objects are the keys of every stored object holding a row of the
	// customer, by layer: empty once the customer is forgotten.
	Objects []SubjectObject `json:"objects"`
}

// SubjectObject is one stored object holding rows of the customer.
type SubjectObject struct {
	Layer string `json:"layer"`
	Key   string `json:"key"`
}

// SubjectConsent is a consent record in the subject-access view.
type SubjectConsent struct {
	Channel string    `json:"channel"`
	OptedIn bool      `json:"opted_in"`
	At      time.Time `json:"at"`
}

// SubjectTable is one table's rows of a customer, as column -> value
// (timestamps in RFC 3339 UTC, nulls left out). For a customer file (the
// generator's truth) Table is the file's path in the dataset folder and
// the values are its text.
type SubjectTable struct {
	Dataset string           `json:"dataset"`
	Table   string           `json:"table"`
	Rows    []map[string]any `json:"rows"`
}

// Show gathers the subject-access view of customerID: the suppressions,
// the customer's rows in every dataset table and customer file, and the
// keys of every object holding them in each of layers (the list that
// Forget walks; serve.Layers).
func Show(ctx context.Context, st datasets.Store, customerID string, layers ...Rewriter) (*Subject, error) {
	id := datasets.NormalizeID(customerID)
	sup, err := Load(ctx, st)
	if err != nil {
		return nil, err
	}
	s := &Subject{CustomerID: id, Consent: []SubjectConsent{}, Tables: []SubjectTable{}, Objects: []SubjectObject{}}
	if at, ok := sup.ForgottenAt(id); ok {
		s.Forgotten, s.ForgottenAt = true, &at
	}
	for _, r := range sup.Consent(id) {
		s.Consent = append(s.Consent, SubjectConsent{Channel: r.Channel, OptedIn: r.OptedIn, At: r.At})
	}
	ids := NewIDs(id)
	if len(ids) == 0 {
		return s, nil
	}
	err = eachSubjectRow(ctx, st, ids, func(ds, table, _ string, row map[string]any) error {
		if n := len(s.Tables); n == 0 || s.Tables[n-1].Dataset != ds || s.Tables[n-1].Table != table {
			s.Tables = append(s.Tables, SubjectTable{Dataset: ds, Table: table})
		}
		t := &s.Tables[len(s.Tables)-1]
		t.Rows = append(t.Rows, row)
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, l := range layers {
		keys, err := l.Find(ctx, ids)
		if err != nil {
			return nil, fmt.Errorf("show %s: %w", l.Layer(), err)
		}
		for _, k := range keys {
			s.Objects = append(s.Objects, SubjectObject{Layer: l.Layer(), Key: k})
		}
	}
	return s, nil
}

// eachSubjectRow calls fn with every row of ids in every dataset of st:
// the rows of customer-keyed tables (by part) and of customer files, with
// the key of the object holding each.
func eachSubjectRow(ctx context.Context, st datasets.Store, ids IDs, fn func(ds, table, key string, row map[string]any) error) error {
	names, err := datasets.ListDatasets(ctx, st)
	if err != nil {
		return err
	}
	for _, ds := range names {
		tables, err := datasets.ListTables(ctx, st, ds)
		if err != nil {
			return err
		}
		for _, t := range tables {
			ct, ok := customerTables[t]
			if !ok {
				continue
			}
			if err := ct.rows(ctx, st, ds, ids, func(key string, row map[string]any) error { return fn(ds, t, key, row) }); err != nil {
				return err
			}
		}
		files, err := datasets.CustomerFiles(ctx, st, ds)
		if err != nil {
			return err
		}
		for _, key := range files {
			var header []string
			err := datasets.ReadCustomerFile(ctx, st, key, func(id string, line []byte) error {
				if header == nil {
					header = strings.Split(string(line), ",")
					return nil
				}
				if !ids.Has(id) {
					return nil
				}
				row := map[string]any{}
				for i, v := range strings.Split(string(line), ",") {
					if i < len(header) && v != "" {
						row[header[i]] = v
					}
				}
				return fn(ds, strings.TrimPrefix(key, "datasets/"+ds+"/"), key, row)
			})
			if err != nil {
				return err
			}
		}
	}
	return nil
}

func subjectRows[T any](ctx context.Context, st datasets.Store, ds string, t *datasets.Table[T], ids IDs, fn func(key string, row map[string]any) error) error {
	m, err := datasets.ReadManifest(ctx, st, ds, t.Name)
	if err != nil {
		return err
	}
	for _, p := range m.Parts {
		may, err := mayHold(ctx, st, p.Key, t.KeyColumn, ids)
		if err != nil {
			return err
		}
		if !may {
			continue
		}
		rows, err := datasets.ReadPart(ctx, st, t, p.Key)
		if err != nil {
			return err
		}
		for i := range rows {
			if ids.Has(t.Key(&rows[i])) {
				if err := fn(p.Key, rowMap(&rows[i])); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// rowMap turns a canonical row into column -> value by its parquet tags.
func rowMap(row any) map[string]any {
	v := reflect.ValueOf(row).Elem()
	m := map[string]any{}
	for i := 0; i < v.NumField(); i++ {
		tag := v.Type().Field(i).Tag.Get("parquet")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" || name == "-" {
			continue
		}
		f := v.Field(i)
		if f.Kind() == reflect.Pointer {
			if f.IsNil() {
				continue
			}
			f = f.Elem()
		}
		if f.Kind() == reflect.String && f.String() == "" {
			continue
		}
		if strings.Contains(opts, "timestamp(") && f.Kind() == reflect.Int64 {
			m[name] = datasets.FromMicros(f.Int()).Format(time.RFC3339)
			continue
		}
		m[name] = f.Interface()
	}
	return m
}
