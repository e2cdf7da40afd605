package datasets

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
)

// A customer file is a gzip CSV object of a dataset beside its tables
// (datasets/<name>/.../*.csv.gz) whose first column is customer_id: one
// row per customer, in no table's schema, such as the generator's latent
// truth (_latent/customers.csv.gz). Like a table's rows, its rows are
// customer rows: CustomerCSV drops forgotten customers when it writes
// them, and forget and subject access (datasets/privacy) find every
// customer file of every dataset by CustomerFiles.

// CustomerFileColumn is the first column of every customer file.
const CustomerFileColumn = "customer_id"

// CustomerCSV streams a customer file into the store: a header, then
// chunks of lines encoded in parallel (Encode) and written in order
// (Write). Lines of forgotten customers (the store's tombstones, loaded by
// NewCustomerCSV) are dropped by Encode: a chunk cannot be written
// without passing through it.
type CustomerCSV struct {
	key        string
	drop       func(string) bool
	pw         *io.PipeWriter
	errc       chan error
	suppressed atomic.Int64
}

// CSVChunk is a gzip member of a customer file's lines made by Encode.
type CSVChunk struct{ b []byte }

// NewCustomerCSV starts writing the customer file key of a dataset
// (datasets/<name>/...csv.gz) with header (without newline; its first
// column must be customer_id).
func NewCustomerCSV(ctx context.Context, st Store, key, header string) (*CustomerCSV, error) {
	if !isCustomerFileKey(key) {
		return nil, fmt.Errorf("customer file %s: not a .csv.gz key of a dataset", key)
	}
	if first, _, _ := strings.Cut(header, ","); first != CustomerFileColumn {
		return nil, fmt.Errorf("customer file %s: the first column is %q, want %s", key, first, CustomerFileColumn)
	}
	f, err := LoadForgotten(ctx, st)
	if err != nil {
		return nil, fmt.Errorf("customer file %s: suppressions: %w", key, err)
	}
	pr, pw := io.Pipe()
	c := &CustomerCSV{key: key, drop: f.Filter(), pw: pw, errc: make(chan error, 1)}
	go func() {
		_, err := st.Put(context.WithoutCancel(ctx), key, pr, -1, PutOptions{ContentType: "application/gzip"})
		pr.CloseWithError(err)
		c.errc <- err
	}()
	var hdr bytes.Buffer
	if err := gzipMember(&hdr, []byte(header+"\n")); err != nil {
		c.Abort(err)
		return nil, err
	}
	if _, err := pw.Write(hdr.Bytes()); err != nil {
		c.Abort(err)
		return nil, err
	}
	return c, nil
}

// Encode drops the lines of forgotten customers from lines (CSV lines,
// each ending in a newline, customer id first) and compresses the rest as
// one gzip member appended to dst[:0]. It is safe for concurrent use.
func (c *CustomerCSV) Encode(dst []byte, lines []byte) (CSVChunk, error) {
	kept := lines
	if n := dropForgottenLines(lines, c.drop, nil); n > 0 {
		kept = make([]byte, 0, len(lines))
		dropForgottenLines(lines, c.drop, func(line []byte) { kept = append(kept, line...) })
		c.suppressed.Add(n)
	}
	buf := bytes.NewBuffer(dst[:0])
	if err := gzipMember(buf, kept); err != nil {
		return CSVChunk{}, err
	}
	return CSVChunk{b: buf.Bytes()}, nil
}

// dropForgottenLines counts the lines whose first field drop reports,
// calling keep (if not nil) with every other line.
func dropForgottenLines(lines []byte, drop func(string) bool, keep func([]byte)) int64 {
	var n int64
	for len(lines) > 0 {
		i := bytes.IndexByte(lines, '\n')
		line := lines
		if i >= 0 {
			line = lines[:i+1]
		}
		lines = lines[len(line):]
		id, _, _ := bytes.Cut(line, []byte{','})
		if drop(strings.TrimSpace(string(id))) {
			n++
		} else if keep != nil {
			keep(line)
		}
	}
	return n
}

// Write appends a chunk, in the order chunks must appear.
func (c *CustomerCSV) Write(ch CSVChunk) error {
	_, err := c.pw.Write(ch.b)
	return err
}

// Suppressed returns how many lines of forgotten customers were dropped.
func (c *CustomerCSV) Suppressed() int64 { return c.suppressed.Load() }

// Close finishes the object and returns the store's error, if any.
func (c *CustomerCSV) Close() error {
	err := c.pw.Close()
	if perr := <-c.errc; perr != nil {
		err = perr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", c.key, err)
	}
	return nil
}

// Abort stops writing: nothing is stored under the key (on stores that
// commit an object only when its upload completes).
func (c *CustomerCSV) Abort(cause error) {
	if cause == nil {
		cause = errors.New("aborted")
	}
	c.pw.CloseWithError(cause)
	<-c.errc
}

// gzipMember compresses p as one gzip member (no name, no time: the bytes
// depend only on p). Concatenated members form one valid gzip stream.
func gzipMember(dst *bytes.Buffer, p []byte) error {
	zw, err := gzip.NewWriterLevel(dst, gzip.BestSpeed)
	if err != nil {
		return err
	}
	if _, err := zw.Write(p); err != nil {
		return err
	}
	return zw.Close()
}

func isCustomerFileKey(key string) bool {
	return strings.HasPrefix(key, "datasets/") && strings.HasSuffix(key, ".csv.gz") && ValidKey(key) == nil
}

// CustomerFiles returns the keys of the customer files of dataset ds:
// its .csv.gz objects whose header's first column is customer_id.
func CustomerFiles(ctx context.Context, st Store, ds string) ([]string, error) {
	objs, err := st.List(ctx, "datasets/"+ds+"/")
	if err != nil {
		return nil, err
	}
	var keys []string
	for _, o := range objs {
		if !isCustomerFileKey(o.Key) {
			continue
		}
		ok, err := customerFileHeader(ctx, st, o.Key)
		if err != nil {
			return nil, err
		}
		if ok {
			keys = append(keys, o.Key)
		}
	}
	return keys, nil
}

func customerFileHeader(ctx context.Context, st Store, key string) (bool, error) {
	o, err := st.Open(ctx, key)
	if err != nil {
		return false, err
	}
	defer o.Close()
	var first string
	err = Guard("read "+key, func() error {
		zr, err := gzip.NewReader(o)
		if err != nil {
			return err
		}
		line, err := bufio.NewReader(io.LimitReader(zr, 1<<20)).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		first, _, _ = strings.Cut(strings.TrimSpace(line), ",")
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("read %s: %w", key, err)
	}
	return first == CustomerFileColumn, nil
}

// ReadCustomerFile calls fn with each line of the customer file at key
// (without its newline) and its customer id: the header first (id
// "customer_id"), then the rows.
func ReadCustomerFile(ctx context.Context, st Store, key string, fn func(id string, line []byte) error) error {
	o, err := st.Open(ctx, key)
	if err != nil {
		return err
	}
	defer o.Close()
	return Guard("read "+key, func() error {
		zr, err := gzip.NewReader(bufio.NewReaderSize(o, 1<<20))
		if err != nil {
			return fmt.Errorf("read %s: %w", key, err)
		}
		br := bufio.NewReaderSize(zr, 1<<20)
		for {
			line, err := br.ReadSlice('\n')
			if errors.Is(err, bufio.ErrBufferFull) {
				return fmt.Errorf("read %s: line longer than 1 MiB", key)
			}
			if len(line) > 0 {
				line = bytes.TrimRight(line, "\r\n")
				id, _, _ := bytes.Cut(line, []byte{','})
				if err := fn(strings.TrimSpace(string(id)), line); err != nil {
					return err
				}
			}
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("read %s: %w", key, err)
			}
		}
	})
}
