package datasets_test

import (
	"os"
	"strings"
	"testing"

	"github.com/prevoir/prevoir/datasets"
)

// TestDataDocMatchesSchema keeps docs/DATA.md in step with the code: every
// column of every table appears in its table's section, with its type.
func TestDataDocMatchesSchema(t *testing.T) {
	b, err := os.ReadFile("../docs/DATA.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for _, name := range datasets.TableNames {
		_, section, ok := strings.Cut(doc, "\n### "+name+"\n")
		if !ok {
			t.Errorf("docs/DATA.md has no section ### %s", name)
			continue
		}
		section, _, _ = strings.Cut(section, "\n### ")
		cols, _ := datasets.TableSchema(name)
		for _, c := range cols {
			if !strings.Contains(section, "| `"+c.Name+"` | "+c.Type+" |") {
				t.Errorf("docs/DATA.md, table %s: column %s (%s) missing", name, c.Name, c.Type)
			}
		}
	}
	for _, code := range append(datasets.DefaultFeeCodes, datasets.DefaultAdjustmentCodes...) {
		if !strings.Contains(doc, "`"+code+"`") {
			t.Errorf("docs/DATA.md does not list the default code %q", code)
		}
	}
}
