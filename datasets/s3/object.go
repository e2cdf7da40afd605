package s3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/minio/minio-go/v7"

	"github.com/prevoir/prevoir/datasets"
)

// object is an open S3 object. Read streams from the current offset with
// one ranged GET that is kept open while reads stay sequential; ReadAt
// issues a GET for exactly the bytes asked for. Every GET carries If-Match
// with the ETag Open saw.
type object struct {
	s    *Store
	ctx  context.Context
	key  string // store key, for errors
	name string // S3 object name
	etag string
	size int64

	mu      sync.Mutex // guards the fields below
	pos     int64
	body    io.ReadCloser // open stream for Read, or nil
	bodyPos int64         // offset body will read next
	closed  bool
}

var errClosed = errors.New("object closed")

func (o *object) Size() int64 { return o.size }

// get opens a ranged GET of bytes [off, end] of the version Open saw.
func (o *object) get(off, end int64) (io.ReadCloser, error) {
	var opts minio.GetObjectOptions
	if err := opts.SetRange(off, end); err != nil {
		return nil, err
	}
	if o.etag != "" {
		if err := opts.SetMatchETag(o.etag); err != nil {
			return nil, err
		}
	}
	rc, _, _, err := o.s.core.GetObject(o.ctx, o.s.bucket, o.name, opts)
	if err != nil {
		terr := translate(err)
		if errors.Is(terr, datasets.ErrPreconditionFailed) {
			// If-Match failed: the object was replaced after Open.
			return nil, fmt.Errorf("%w (%s)", datasets.ErrChanged, oneLine(err))
		}
		return nil, terr
	}
	return rc, nil
}

// Read reads from the current offset.
func (o *object) Read(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return 0, fmt.Errorf("read %s: %w", o.s.at(o.key), errClosed)
	}
	if o.pos >= o.size {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	if o.body == nil || o.bodyPos != o.pos {
		o.closeBody()
		rc, err := o.get(o.pos, o.size-1)
		if err != nil {
			return 0, fmt.Errorf("read %s: %w", o.s.at(o.key), err)
		}
		o.body, o.bodyPos = rc, o.pos
	}
	if max := o.size - o.pos; int64(len(p)) > max {
		p = p[:max]
	}
	n, err := o.body.Read(p)
	o.pos += int64(n)
	o.bodyPos = o.pos
	switch {
	case err == io.EOF && o.pos < o.size:
		o.closeBody()
		return n, fmt.Errorf("read %s: %w", o.s.at(o.key), io.ErrUnexpectedEOF)
	case err == io.EOF:
		o.closeBody()
		return n, nil
	case err != nil:
		o.closeBody()
		return n, fmt.Errorf("read %s: %w", o.s.at(o.key), err)
	}
	return n, nil
}

func (o *object) closeBody() {
	if o.body != nil {
		o.body.Close()
		o.body = nil
	}
}

// Seek sets the offset of the next Read. It does no I/O: the next Read
// opens a new ranged GET if the offset moved.
func (o *object) Seek(offset int64, whence int) (int64, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return 0, fmt.Errorf("seek %s: %w", o.s.at(o.key), errClosed)
	}
	var abs int64
	switch whence {
	case io.SeekStart:
		abs = offset
	case io.SeekCurrent:
		abs = o.pos + offset
	case io.SeekEnd:
		abs = o.size + offset
	default:
		return 0, fmt.Errorf("seek %s: invalid whence %d", o.s.at(o.key), whence)
	}
	if abs < 0 {
		return 0, fmt.Errorf("seek %s: negative offset %d", o.s.at(o.key), abs)
	}
	o.pos = abs
	return abs, nil
}

// ReadAt reads len(p) bytes at off with one ranged GET of just those
// bytes. It is safe to call concurrently, and does not move the offset.
func (o *object) ReadAt(p []byte, off int64) (int, error) {
	o.mu.Lock()
	closed := o.closed
	o.mu.Unlock()
	if closed {
		return 0, fmt.Errorf("read %s: %w", o.s.at(o.key), errClosed)
	}
	if off < 0 {
		return 0, fmt.Errorf("read %s: negative offset %d", o.s.at(o.key), off)
	}
	if off >= o.size {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	want := p
	if max := o.size - off; int64(len(want)) > max {
		want = want[:max]
	}
	rc, err := o.get(off, off+int64(len(want))-1)
	if err != nil {
		return 0, fmt.Errorf("read %s at %d: %w", o.s.at(o.key), off, err)
	}
	defer rc.Close()
	n, err := io.ReadFull(rc, want)
	if err != nil {
		return n, fmt.Errorf("read %s at %d: %w", o.s.at(o.key), off, err)
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// Close ends any open stream. Further reads fail.
func (o *object) Close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.closeBody()
	o.closed = true
	return nil
}
