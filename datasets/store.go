package datasets

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Store is prevoir's view of object storage: a flat namespace of
// '/'-separated keys holding immutable byte strings. Every backend (a local
// folder, S3) satisfies the same contract, checked by one conformance suite:
//
//   - a missing key is reported as an error for which
//     errors.Is(err, fs.ErrNotExist) is true;
//   - a conditional Put whose condition fails returns an error for which
//     errors.Is(err, ErrPreconditionFailed) is true, and changes nothing;
//   - List is recursive and sorted by key bytes, and never shows the
//     temporary objects a backend uses while writing;
//   - Delete of a missing key is not an error;
//   - keys are validated with ValidKey before any I/O.
//
// A Store is safe for concurrent use by multiple goroutines, and conditional
// Puts are safe across processes.
type Store interface {
	// Open opens key for reading. The object supports ranged reads
	// (ReadAt, Seek) that fetch only the bytes asked for.
	Open(ctx context.Context, key string) (Object, error)
	// Stat describes key without reading it.
	Stat(ctx context.Context, key string) (ObjectInfo, error)
	// Put stores the bytes of r under key. size is the number of bytes r
	// holds, or -1 when unknown; the body is streamed either way.
	Put(ctx context.Context, key string, r io.Reader, size int64, opts PutOptions) (ObjectInfo, error)
	// List returns every object whose key starts with prefix, sorted by
	// key bytes. An empty prefix lists the whole store.
	List(ctx context.Context, prefix string) ([]ObjectInfo, error)
	// Delete removes key. Deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// URL returns the store's location, as a user would type it
	// (a folder path or s3://bucket/prefix).
	URL() string
}

// Object is an open stored object: a seekable stream that also serves
// random-access reads, as Parquet readers need.
type Object interface {
	io.ReadSeekCloser
	io.ReaderAt
	// Size is the object's length in bytes.
	Size() int64
}

// ObjectInfo describes a stored object.
type ObjectInfo struct {
	// Key is the object's key within the store.
	Key string `json:"key"`
	// Size is the object's length in bytes.
	Size int64 `json:"size"`
	// ETag identifies the object's content: an opaque string that changes
	// whenever the content changes. The local backend uses the SHA-256 of the
	// content; S3 uses the server's ETag. List may leave it empty where
	// computing it would mean reading the object (the local backend).
	ETag string `json:"etag,omitempty"`
	// ModTime is when the object was last written.
	ModTime time.Time `json:"modified"`
}

// PutOptions makes a Put conditional. The zero value is an unconditional
// overwrite.
type PutOptions struct {
	// IfAbsent makes the Put succeed only if no object exists under the key.
	IfAbsent bool
	// IfMatch, when not empty, makes the Put succeed only if the object
	// under the key exists and has this ETag.
	IfMatch string
	// ContentType is recorded where the backend keeps it (S3).
	ContentType string
}

// ErrPreconditionFailed is returned (wrapped) by a conditional Put whose
// condition does not hold.
var ErrPreconditionFailed = errors.New("precondition failed")

// ErrChanged is returned (wrapped) by a read of an open object that was
// replaced after Open: a reader never mixes two versions' bytes. Reading
// again from a new Open sees the new version.
var ErrChanged = errors.New("object changed while being read")

// ErrInvalidKey is returned (wrapped) for a key that ValidKey refuses.
var ErrInvalidKey = errors.New("invalid key")

// TempPrefix starts the name of every temporary object a backend writes.
// Keys with a segment starting with it are refused, and List never shows them.
const TempPrefix = ".prevoir-"

// ValidKey reports whether key is a usable store key: '/'-separated
// segments, none empty, none "." or "..", none starting with TempPrefix,
// no NUL or backslash, at most 1024 bytes.
func ValidKey(key string) error {
	if key == "" {
		return fmt.Errorf("%w: empty key", ErrInvalidKey)
	}
	if len(key) > 1024 {
		return fmt.Errorf("%w %.40q...: longer than 1024 bytes", ErrInvalidKey, key)
	}
	if strings.ContainsAny(key, "\x00\\") {
		return fmt.Errorf("%w %q: contains NUL or backslash", ErrInvalidKey, key)
	}
	for _, seg := range strings.Split(key, "/") {
		switch {
		case seg == "":
			return fmt.Errorf("%w %q: empty path segment", ErrInvalidKey, key)
		case seg == "." || seg == "..":
			return fmt.Errorf("%w %q: %q segment not allowed", ErrInvalidKey, key, seg)
		case strings.HasPrefix(seg, TempPrefix):
			return fmt.Errorf("%w %q: segments starting with %q are reserved", ErrInvalidKey, key, TempPrefix)
		}
	}
	return nil
}

// ValidPrefix reports whether prefix can be listed: empty, or a key prefix
// whose complete segments are valid (a trailing '/' is allowed).
func ValidPrefix(prefix string) error {
	if prefix == "" {
		return nil
	}
	p := strings.TrimSuffix(prefix, "/")
	if p == "" {
		return fmt.Errorf("%w prefix %q", ErrInvalidKey, prefix)
	}
	if err := ValidKey(p); err != nil {
		return err
	}
	return nil
}

// ReadAll reads a whole object; for small objects such as manifests. An
// object replaced while it is read is read again, up to a few times.
func ReadAll(ctx context.Context, s Store, key string) ([]byte, error) {
	var err error
	for try := 0; try < 5; try++ {
		var b []byte
		b, err = readAll(ctx, s, key)
		if !errors.Is(err, ErrChanged) {
			return b, err
		}
	}
	return nil, err
}

func readAll(ctx context.Context, s Store, key string) ([]byte, error) {
	o, err := s.Open(ctx, key)
	if err != nil {
		return nil, err
	}
	defer o.Close()
	b := make([]byte, o.Size())
	if _, err := io.ReadFull(o, b); err != nil {
		return nil, fmt.Errorf("read %s: %w", key, err)
	}
	return b, nil
}

// PutBytes stores b under key.
func PutBytes(ctx context.Context, s Store, key string, b []byte, opts PutOptions) (ObjectInfo, error) {
	return s.Put(ctx, key, bytes.NewReader(b), int64(len(b)), opts)
}

// Scavenger is implemented by backends whose writes can leave temporary
// objects behind when the writing process is killed (the local backend's
// .prevoir-tmp-* files, S3's incomplete multipart uploads). List never
// shows them; `prevoir store gc` finds and removes them through it.
type Scavenger interface {
	// Temporaries lists the temporary objects under prefix, sorted by Key:
	// for each, Key names it for RemoveTemporary (it is not a valid store
	// key), Size is what it holds so far, ModTime when it was last written.
	Temporaries(ctx context.Context, prefix string) ([]ObjectInfo, error)
	// RemoveTemporary removes a temporary object Temporaries listed. A
	// missing one is not an error; a Key that names no temporary is.
	RemoveTemporary(ctx context.Context, key string) error
}
