package serve

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// PullFile is where Pull writes: a file it can cut back to the last
// whole row after a broken connection.
type PullFile interface {
	io.Writer
	io.Seeker
	Truncate(size int64) error
}

// PullOptions configure Pull.
type PullOptions struct {
	// URL is the server's base URL (http://host:port).
	URL string
	// Task is the publication's task; Table its table ("" the main one).
	Task, Table string
	// Token is the bearer token (scores:read scope).
	Token string
	// SinceETag, when set, makes Pull write nothing and report
	// NotModified when the publication has not changed.
	SinceETag string
	// Retries is how many broken connections Pull resumes after [5].
	Retries int
	// Client is the HTTP client [a client with no overall timeout].
	Client *http.Client
}

// PullResult says what Pull did.
type PullResult struct {
	NotModified bool
	// ETag identifies what was pulled (for the next SinceETag).
	ETag   string
	AsOf   string
	Rows   int64
	Bytes  int64
	Resume int
}

// Pull downloads a publication's table as CSV into f, exactly the bytes
// `prevoir scores export TASK --format csv` writes. When the connection
// breaks, it cuts f back to its last whole row and resumes from there
// with a cursor pinned to the same publication: the result never mixes
// two publications. When the publication is replaced during the pull, it
// starts again on the new one, once; a second replacement is an error.
func Pull(ctx context.Context, o PullOptions, f PullFile) (*PullResult, error) {
	if o.Retries <= 0 {
		o.Retries = 5
	}
	if o.Client == nil {
		o.Client = &http.Client{}
	}
	p := &puller{o: o, f: f, res: &PullResult{}}
	for attempt := 0; ; attempt++ {
		err := p.request(ctx)
		if err == nil || ctx.Err() != nil {
			return p.res, err
		}
		var fatal *pullError
		if errors.As(err, &fatal) || attempt >= o.Retries {
			return nil, err
		}
		p.res.Resume++
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Duration(attempt+1) * 200 * time.Millisecond):
		}
	}
}

// pullError is an answer Pull does not retry.
type pullError struct{ msg string }

func (e *pullError) Error() string { return e.msg }

// puller is one Pull's state: where the file ends (after its last whole
// row) and the cursor of that row.
type puller struct {
	o      PullOptions
	f      PullFile
	res    *PullResult
	header []byte // the CSV header line, once seen
	size   int64  // bytes of whole rows in f
	cur    *cursor
	keyIdx []int // the sort key's columns in the CSV header
	// restarted is set once a replaced publication made the pull start
	// again.
	restarted bool
}

func (p *puller) request(ctx context.Context) error {
	q := url.Values{"format": {FormatCSV}}
	if p.o.Table != "" {
		q.Set("table", p.o.Table)
	}
	if p.header == nil {
		p.cur = nil // nothing written yet: start again
	}
	if p.cur != nil {
		q.Set("after", p.cur.encode())
	}
	u := strings.TrimRight(p.o.URL, "/") + "/v1/scores/" + url.PathEscape(p.o.Task) + "?" + q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return &pullError{err.Error()}
	}
	req.Header.Set("Accept", "text/csv")
	if p.o.Token != "" {
		req.Header.Set("Authorization", "Bearer "+p.o.Token)
	}
	if p.cur == nil && p.o.SinceETag != "" {
		req.Header.Set("If-None-Match", p.o.SinceETag)
	}
	resp, err := p.o.Client.Do(req)
	if err != nil {
		return fmt.Errorf("pull %s: %w", u, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusConflict && p.cur != nil && !p.restarted:
		// The publication was replaced during the pull: start again on
		// the new one (once), so the file never mixes the two.
		p.restarted = true
		p.header, p.size, p.cur, p.res.Rows = nil, 0, nil, 0
		return fmt.Errorf("pull %s: the publication was replaced: starting again", u)
	case resp.StatusCode == http.StatusNotModified:
		p.res.NotModified, p.res.ETag = true, p.o.SinceETag
		return nil
	case resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented:
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("pull %s: %s: %s", u, resp.Status, bytes.TrimSpace(b))
	case resp.StatusCode != http.StatusOK:
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return &pullError{fmt.Sprintf("pull %s: %s: %s", u, resp.Status, bytes.TrimSpace(b))}
	}
	if p.cur == nil {
		p.res.ETag = resp.Header.Get("ETag")
		p.res.AsOf = resp.Header.Get("Prevoir-As-Of")
		p.cur = &cursor{AsOf: p.res.AsOf, Run: resp.Header.Get("Prevoir-Run"), Table: resp.Header.Get(HeaderTable)}
		if p.cur.AsOf == "" || p.cur.Run == "" || p.cur.Table == "" {
			return &pullError{fmt.Sprintf("pull %s: the answer lacks the publication headers: not a prevoir server?", u)}
		}
	}
	err = p.copy(resp)
	if err == nil && resp.Trailer.Get(HeaderComplete) != "true" {
		err = fmt.Errorf("pull %s: the stream ended early", u)
	}
	return err
}

// copy reads the CSV stream into the file, row by row, keeping the file
// cut at the last whole row and the cursor after it.
func (p *puller) copy(resp *http.Response) error {
	if err := p.f.Truncate(p.size); err != nil {
		return &pullError{err.Error()}
	}
	if _, err := p.f.Seek(p.size, io.SeekStart); err != nil {
		return &pullError{err.Error()}
	}
	// raw holds what the CSV reader reads, so whole rows can be
	// written as they were sent.
	var raw bytes.Buffer
	r := csv.NewReader(io.TeeReader(resp.Body, &raw))
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	var consumed int64 // raw bytes up to the end of the last whole record
	sortCols := strings.Split(resp.Header.Get(HeaderSortKey), ",")
	first := true
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		end := r.InputOffset()
		line := raw.Next(int(end - consumed))
		consumed = end
		if first {
			first = false
			if p.header == nil {
				p.header = slices.Clone(line)
				if err := p.write(line); err != nil {
					return err
				}
				p.keyIdx = p.keyIdx[:0]
				if sortCols[0] != "" {
					for _, c := range sortCols {
						i := slices.Index(rec, c)
						if i < 0 {
							return &pullError{fmt.Sprintf("pull: the sort column %q is not in the header", c)}
						}
						p.keyIdx = append(p.keyIdx, i)
					}
				}
			} else if !bytes.Equal(line, p.header) {
				return &pullError{"pull: the resumed stream's header differs"}
			}
			continue
		}
		if err := p.write(line); err != nil {
			return err
		}
		key := make([]string, len(p.keyIdx))
		for i, c := range p.keyIdx {
			key[i] = rec[c]
		}
		if equalText(key, p.cur.Key) {
			p.cur.Eq++
		} else {
			p.cur.Key, p.cur.Eq = key, 1
		}
		p.res.Rows++
	}
}

// write appends a whole row (or the header) to the file.
func (p *puller) write(b []byte) error {
	n, err := p.f.Write(b)
	p.size += int64(n)
	p.res.Bytes = p.size
	if err != nil {
		return &pullError{err.Error()}
	}
	return nil
}
