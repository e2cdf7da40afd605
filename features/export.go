package features

import (
	"context"
	"io"
	"strconv"
	"time"

	"github.com/prevoir/prevoir/datasets"
)

// WriteCSV writes a feature table as CSV: a header of the schema's names,
// then one line per row; nulls are empty cells, numbers in the shortest
// form that reads back to the stored value, timestamps in RFC 3339 (UTC).
func WriteCSV(ctx context.Context, st datasets.Store, m *Manifest, w io.Writer) error {
	var buf []byte
	for i, c := range m.Schema {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, c.Name...)
	}
	buf = append(buf, '\n')
	if _, err := w.Write(buf); err != nil {
		return err
	}
	return Rows(ctx, st, m, func(row []any) error {
		buf = buf[:0]
		for i, v := range row {
			if i > 0 {
				buf = append(buf, ',')
			}
			switch x := v.(type) {
			case nil:
			case string:
				buf = appendCSVField(buf, x)
			case int64:
				buf = strconv.AppendInt(buf, x, 10)
			case float64:
				buf = strconv.AppendFloat(buf, x, 'g', -1, 64)
			case time.Time:
				buf = x.UTC().AppendFormat(buf, time.RFC3339Nano)
			}
		}
		buf = append(buf, '\n')
		_, err := w.Write(buf)
		return err
	})
}

func appendCSVField(buf []byte, s string) []byte {
	quote := false
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == ',' || c == '"' || c == '\n' || c == '\r' {
			quote = true
			break
		}
	}
	if !quote {
		return append(buf, s...)
	}
	buf = append(buf, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			buf = append(buf, '"')
		}
		buf = append(buf, s[i])
	}
	return append(buf, '"')
}
