package privacy

import (
	"context"
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
	// Extra holds what other layers know (generator truth, features,
	// scores), by layer; filled by callers that know those layers.
	Extra map[string]any `json:"extra,omitempty"`
}

// SubjectConsent is a consent record in the subject-access view.
type SubjectConsent struct {
	Channel string    `json:"channel"`
	OptedIn bool      `json:"opted_in"`
	At      time.Time `json:"at"`
}

// SubjectTable is one table's rows of a customer, as column -> value
// (timestamps in RFC 3339 UTC, nulls left out).
type SubjectTable struct {
	Dataset string           `json:"dataset"`
	Table   string           `json:"table"`
	Rows    []map[string]any `json:"rows"`
}

// Show gathers the subject-access view of customerID from every dataset
// of st and from the suppressions.
func Show(ctx context.Context, st datasets.Store, customerID string) (*Subject, error) {
	id := datasets.NormalizeID(customerID)
	sup, err := Load(ctx, st)
	if err != nil {
		return nil, err
	}
	s := &Subject{CustomerID: id, Consent: []SubjectConsent{}, Tables: []SubjectTable{}}
	if at, ok := sup.ForgottenAt(id); ok {
		s.Forgotten, s.ForgottenAt = true, &at
	}
	for _, r := range sup.Consent(id) {
		s.Consent = append(s.Consent, SubjectConsent{Channel: r.Channel, OptedIn: r.OptedIn, At: r.At})
	}
	ids := NewIDs(id)
	names, err := datasets.ListDatasets(ctx, st)
	if err != nil {
		return nil, err
	}
	for _, ds := range names {
		tables, err := datasets.ListTables(ctx, st, ds)
		if err != nil {
			return nil, err
		}
		for _, t := range tables {
			var rows []map[string]any
			switch t {
			case "orders":
				rows, err = subjectRows(ctx, st, ds, datasets.Orders, ids)
			case "customers":
				rows, err = subjectRows(ctx, st, ds, datasets.Customers, ids)
			case "events":
				rows, err = subjectRows(ctx, st, ds, datasets.Events, ids)
			case "loyalty":
				rows, err = subjectRows(ctx, st, ds, datasets.Loyalty, ids)
			case "consent":
				rows, err = subjectRows(ctx, st, ds, datasets.ConsentTable, ids)
			}
			if err != nil {
				return nil, err
			}
			if len(rows) > 0 {
				s.Tables = append(s.Tables, SubjectTable{Dataset: ds, Table: t, Rows: rows})
			}
		}
	}
	return s, nil
}

func subjectRows[T any](ctx context.Context, st datasets.Store, ds string, t *datasets.Table[T], ids IDs) ([]map[string]any, error) {
	m, err := datasets.ReadManifest(ctx, st, ds, t.Name)
	if err != nil {
		return nil, err
	}
	var out []map[string]any
	for _, p := range m.Parts {
		may, err := mayHold(ctx, st, p.Key, t.KeyColumn, ids)
		if err != nil {
			return nil, err
		}
		if !may {
			continue
		}
		rows, err := datasets.ReadPart(ctx, st, t, p.Key)
		if err != nil {
			return nil, err
		}
		for i := range rows {
			if ids.Has(t.Key(&rows[i])) {
				out = append(out, rowMap(&rows[i]))
			}
		}
	}
	return out, nil
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
