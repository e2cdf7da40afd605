package privacy

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/prevoir/prevoir/datasets"
)

// Rows is a table read record by record: the methods of models.RowReader,
// which a scoring input provides.
type Rows interface {
	Header() []string
	// Next returns the next record, valid until the following call.
	Next() ([]string, error)
	Name() string
	Line() int
	At(col int, err error) error
}

// CustomerColumn is the input column that names customers: per-customer
// outputs drop the rows of forgotten and opted-out customers by it.
const CustomerColumn = "customer_id"

// InputOptions says which rows of a scoring input FilterInput drops.
type InputOptions struct {
	// IDs are the columns copied to the output as ids; when one of them is
	// CustomerColumn, rows of forgotten customers are dropped.
	IDs []string
	// Channel, when set, also drops customers opted out of it (a record
	// given through prevoir at or before At, zero: now). It needs
	// CustomerColumn among IDs.
	Channel string
	At      time.Time
}

// FilteredRows is an input without the rows of suppressed customers.
type FilteredRows struct {
	Rows
	col       int
	forgotten func(string) bool
	sup       *Suppressions
	channel   string
	at        time.Time
	// Forgotten and OptedOut count the rows dropped so far.
	Forgotten, OptedOut int64
}

// FilterInput returns in without the rows of the store's forgotten
// customers and, with opts.Channel, of those opted out of that channel,
// when opts.IDs names the CustomerColumn. Without it, nothing is dropped
// and a Channel is an error (the rows cannot be told apart).
func FilterInput(ctx context.Context, st datasets.Store, in Rows, opts InputOptions) (*FilteredRows, error) {
	f := &FilteredRows{Rows: in, col: -1, channel: opts.Channel, at: opts.At}
	if opts.Channel != "" && !ValidChannel(opts.Channel) {
		return nil, datasets.Fieldf("Channel", opts.Channel, "want one of %v", Channels)
	}
	if !slices.Contains(opts.IDs, CustomerColumn) {
		if opts.Channel != "" {
			return nil, datasets.Fieldf("Channel", opts.Channel, "needs the id column %s to know whom a row scores", CustomerColumn)
		}
		return f, nil
	}
	f.col = slices.Index(in.Header(), CustomerColumn)
	if f.col < 0 {
		return nil, fmt.Errorf("%s: no column %s", in.Name(), CustomerColumn)
	}
	sup, err := Load(ctx, st)
	if err != nil {
		return nil, err
	}
	f.sup, f.forgotten = sup, sup.Filter()
	return f, nil
}

// Next returns the next record of a customer not suppressed.
func (f *FilteredRows) Next() ([]string, error) {
	for {
		rec, err := f.Rows.Next()
		if err != nil || f.col < 0 || f.col >= len(rec) {
			return rec, err
		}
		id := rec[f.col]
		if f.forgotten(id) {
			f.Forgotten++
			continue
		}
		if f.channel != "" && f.sup.OptedOut(id, f.channel, f.at) {
			f.OptedOut++
			continue
		}
		return rec, nil
	}
}

// Dropped is the number of rows dropped so far.
func (f *FilteredRows) Dropped() int64 { return f.Forgotten + f.OptedOut }
