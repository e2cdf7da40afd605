package synth

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strconv"
)

// CSVHeader is the header of the CSV output: the columns of
// the order lines bench/kit writes (kit orders), so the same benchmarks read either file.
const CSVHeader = "customer_id,order_id,timestamp,product_id,category,quantity,unit_price,warehouse\n"

// WriteCSV generates the order lines of the history described by o (sales
// and returns, no other table) and writes them to w as CSV with CSVHeader:
// timestamps in ISO 8601 UTC with a Z, prices with two decimals, returns as
// negative quantities at their own time. Rows are sorted by customer, then
// time. Memory does not grow with the number of lines.
func WriteCSV(ctx context.Context, o Options, w io.Writer) (Summary, error) {
	o = o.withDefaults()
	if err := o.validate(); err != nil {
		return Summary{}, err
	}
	wd := newWorld(o)
	bw := bufio.NewWriterSize(w, 1<<20)
	if _, err := bw.WriteString(CSVHeader); err != nil {
		return Summary{}, err
	}
	s := &csvSink{w: wd, out: bw, sum: newSummary(wd)}
	if err := run(ctx, wd, engineOpts{}, o.Workers, s); err != nil {
		return Summary{}, err
	}
	if err := bw.Flush(); err != nil {
		return Summary{}, err
	}
	return s.sum, nil
}

type csvSink struct {
	w   *world
	out *bufio.Writer
	sum Summary
}

func (s *csvSink) encode(b *batch) error {
	buf := b.enc[0][:0]
	w := s.w
	var id []byte
	cur := int32(-1)
	for i := range b.lines {
		l := &b.lines[i]
		if l.cust != cur {
			cur = l.cust
			id = w.appendCustomerID(id[:0], int(cur))
		}
		buf = append(buf, id...)
		buf = append(buf, ',')
		buf = w.appendOrderID(buf, int(l.cust), l.seq)
		buf = append(buf, ',')
		buf = w.appendTime(buf, l.ts)
		buf = append(buf, ',')
		buf = append(buf, w.prodID[l.product]...)
		buf = append(buf, ',')
		buf = append(buf, categories[w.prodCat[l.product]].name...)
		buf = append(buf, ',')
		buf = strconv.AppendInt(buf, int64(l.qty), 10)
		buf = append(buf, ',')
		buf = appendCents(buf, l.cents)
		buf = append(buf, ',')
		buf = append(buf, w.whName[l.wh]...)
		buf = append(buf, '\n')
	}
	b.enc[0] = buf
	return nil
}

func (s *csvSink) write(b *batch) error {
	s.sum.add(b)
	_, err := s.out.Write(b.enc[0])
	return err
}

// appendCustomerID appends the id of customer idx: idx+1, zero-padded to a
// fixed width so that text order is customer order.
func (w *world) appendCustomerID(buf []byte, idx int) []byte {
	var tmp [20]byte
	d := strconv.AppendInt(tmp[:0], int64(idx)+1, 10)
	for i := len(d); i < w.custWidth; i++ {
		buf = append(buf, '0')
	}
	return append(buf, d...)
}

// customerID returns the id of customer idx.
func (w *world) customerID(idx int) string { return string(w.appendCustomerID(nil, idx)) }

// appendOrderID appends the id of order seq of customer idx: (idx+1)*10000
// + seq, an integer unique in the dataset. A return line keeps the id of
// the order it returns.
func (w *world) appendOrderID(buf []byte, idx int, seq int32) []byte {
	return strconv.AppendInt(buf, (int64(idx)+1)*10000+int64(seq), 10)
}

func (w *world) orderID(idx int, seq int32) string { return string(w.appendOrderID(nil, idx, seq)) }

// appendTime appends the instant ts (seconds since the start) as
// 2006-01-02T15:04:05Z.
func (w *world) appendTime(buf []byte, ts int64) []byte {
	d, s := ts/day, ts%day
	buf = append(buf, w.dayStrings[d]...)
	h, m, sec := s/3600, s/60%60, s%60
	return append(buf, byte('0'+h/10), byte('0'+h%10), ':', byte('0'+m/10), byte('0'+m%10), ':', byte('0'+sec/10), byte('0'+sec%10), 'Z')
}

func appendCents(buf []byte, c int64) []byte {
	if c < 0 {
		buf = append(buf, '-')
		c = -c
	}
	buf = strconv.AppendInt(buf, c/100, 10)
	return append(buf, '.', byte('0'+c%100/10), byte('0'+c%10))
}

// Summary counts what a generation wrote.
type Summary struct {
	Dataset    string `json:"dataset,omitempty"`
	RunID      string `json:"run_id"`
	Start      string `json:"start"`
	End        string `json:"end"`
	Customers  int    `json:"customers"`
	Products   int    `json:"products"`
	Warehouses int    `json:"warehouses"`
	Promotions int    `json:"promotions"`
	Orders     int64  `json:"orders"`
	Lines      int64  `json:"lines"`
	Returns    int64  `json:"return_lines"`
	Events     int64  `json:"events"`
	Loyalty    int64  `json:"loyalty_entries"`
	Consent    int64  `json:"consent_records"`
	OneTime    int64  `json:"one_time_buyers"`
	Dropped    int64  `json:"dropped_out"`
}

func newSummary(w *world) Summary {
	return Summary{
		Dataset:    w.o.Name,
		RunID:      w.o.RunID(),
		Start:      w.start.Format("2006-01-02"),
		End:        w.o.End.Format("2006-01-02"),
		Customers:  w.o.Customers,
		Products:   w.o.Products,
		Warehouses: w.nw,
		Promotions: len(w.promos),
	}
}

func (s *Summary) add(b *batch) {
	s.Lines += int64(len(b.lines))
	for i := range b.lines {
		if b.lines[i].qty < 0 {
			s.Returns++
		}
	}
	for i := range b.custs {
		c := &b.custs[i]
		s.Orders += int64(c.orders)
		if c.orders == 1 {
			s.OneTime++
		}
		if c.dropout >= 0 {
			s.Dropped++
		}
	}
	s.Events += int64(len(b.events))
	s.Loyalty += int64(len(b.ledger))
	s.Consent += int64(len(b.consent))
}

// String is a one-line human summary.
func (s Summary) String() string {
	return fmt.Sprintf("%d customers, %d orders, %d order lines (%d returns), %d events, %d loyalty entries, %d consent records, %s..%s",
		s.Customers, s.Orders, s.Lines, s.Returns, s.Events, s.Loyalty, s.Consent, s.Start, s.End)
}
