package report

import (
	"context"

	"github.com/prevoir/prevoir/serve/publish"
)

// readColumns reads the named columns of one table of a publication, by
// name: each row holds the values in the order of names, strings as
// strings, numbers (double or int64) as float64, nulls and columns the
// table does not have as nil. missing lists the columns it does not have,
// so a builder can say what it could not show.
func readColumns(ctx context.Context, p *Publication, m *publish.Manifest, table string, names []string) (rows [][]any, missing []string, err error) {
	t, err := m.Table(table)
	if err != nil {
		return nil, nil, err
	}
	idx := make([]int, len(names))
	for i, n := range names {
		idx[i] = -1
		for j, c := range t.Columns {
			if c.Name == n {
				idx[i] = j
			}
		}
		if idx[i] < 0 {
			missing = append(missing, n)
		}
	}
	err = publish.Rows(ctx, p.Store, m, t.Name, func(row []any) error {
		r := make([]any, len(names))
		for i, j := range idx {
			if j < 0 || j >= len(row) {
				continue
			}
			switch v := row[j].(type) {
			case int64:
				r[i] = float64(v)
			default:
				r[i] = v
			}
		}
		rows = append(rows, r)
		return nil
	})
	return rows, missing, err
}

// str and num read a cell of readColumns' rows.
func str(v any) string {
	s, _ := v.(string)
	return s
}

func num(v any) float64 {
	f, _ := v.(float64)
	return f
}

// hasTable reports whether m has a table of that name.
func hasTable(m *publish.Manifest, name string) bool {
	for _, t := range m.Tables {
		if t.Name == name {
			return true
		}
	}
	return false
}
