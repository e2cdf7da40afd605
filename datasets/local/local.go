// Package local implements datasets.Store over a folder of the local file
// system: the embedded default, which needs no server.
//
// Writes go to a hidden temporary file in the destination folder, are
// fsynced, then renamed into place, so a reader sees either the old object
// or the whole new one. A conditional Put holds an exclusive flock on a
// per-folder lock file while it checks and renames, which makes it safe
// across processes on one machine. ETags are the hex SHA-256 of the content.
package local

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/prevoir/prevoir/datasets"
)

// Store is a datasets.Store rooted at a folder.
type Store struct {
	root string
}

var _ datasets.Store = (*Store)(nil)

// New returns a Store rooted at dir, creating the folder if it is missing.
func New(dir string) (*Store, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("local store %s: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("local store %s: %w", dir, err)
	}
	return &Store{root: abs}, nil
}

// URL returns the store's folder.
func (s *Store) URL() string { return s.root }

// Root returns the absolute path of the store's folder.
func (s *Store) Root() string { return s.root }

func (s *Store) path(key string) (string, error) {
	if err := datasets.ValidKey(key); err != nil {
		return "", err
	}
	return filepath.Join(s.root, filepath.FromSlash(key)), nil
}

type object struct {
	*os.File
	size int64
}

func (o *object) Size() int64 { return o.size }

// Open opens key for reading.
func (s *Store) Open(ctx context.Context, key string) (datasets.Object, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p, err := s.path(key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", key, notExist(err))
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open %s: %w", key, err)
	}
	if fi.IsDir() {
		f.Close()
		return nil, fmt.Errorf("open %s: %w", key, fs.ErrNotExist)
	}
	return &object{File: f, size: fi.Size()}, nil
}

// notExist maps "a path component is a file" (ENOTDIR) to fs.ErrNotExist:
// in a key space, a/b does not exist when a is an object.
func notExist(err error) error {
	if errors.Is(err, syscall.ENOTDIR) {
		return fmt.Errorf("%w (%v)", fs.ErrNotExist, err)
	}
	return err
}

// Stat describes key; its ETag is the SHA-256 of the content, so Stat reads
// the object.
func (s *Store) Stat(ctx context.Context, key string) (datasets.ObjectInfo, error) {
	if err := ctx.Err(); err != nil {
		return datasets.ObjectInfo{}, err
	}
	p, err := s.path(key)
	if err != nil {
		return datasets.ObjectInfo{}, err
	}
	info, err := statFile(p, key)
	if err != nil {
		return datasets.ObjectInfo{}, fmt.Errorf("stat %s: %w", key, err)
	}
	return info, nil
}

func statFile(p, key string) (datasets.ObjectInfo, error) {
	f, err := os.Open(p)
	if err != nil {
		return datasets.ObjectInfo{}, notExist(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return datasets.ObjectInfo{}, err
	}
	if fi.IsDir() {
		return datasets.ObjectInfo{}, fs.ErrNotExist
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return datasets.ObjectInfo{}, err
	}
	return datasets.ObjectInfo{Key: key, Size: fi.Size(), ETag: hex.EncodeToString(h.Sum(nil)), ModTime: fi.ModTime().UTC()}, nil
}

// ctxReader stops a copy when its context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
	h   hash.Hash
	n   int64
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := c.r.Read(p)
	c.h.Write(p[:n])
	c.n += int64(n)
	return n, err
}

// Put writes r to key through a temporary file, fsync and rename.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64, opts datasets.PutOptions) (info datasets.ObjectInfo, err error) {
	if err := ctx.Err(); err != nil {
		return datasets.ObjectInfo{}, err
	}
	p, err := s.path(key)
	if err != nil {
		return datasets.ObjectInfo{}, err
	}
	if opts.IfAbsent && opts.IfMatch != "" {
		return datasets.ObjectInfo{}, fmt.Errorf("put %s: IfAbsent and IfMatch are exclusive", key)
	}
	dir := filepath.Dir(p)
	if err := mkdirAll(dir); err != nil {
		return datasets.ObjectInfo{}, fmt.Errorf("put %s: %w", key, err)
	}
	tmp, err := createTemp(dir, filepath.Base(p))
	for try := 0; err != nil && errors.Is(err, fs.ErrNotExist) && try < 5; try++ {
		// A concurrent Delete pruned the folder between MkdirAll and here.
		if err = mkdirAll(dir); err == nil {
			tmp, err = createTemp(dir, filepath.Base(p))
		}
	}
	if err != nil {
		return datasets.ObjectInfo{}, fmt.Errorf("put %s: %w", key, err)
	}
	tmpName := tmp.Name()
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmpName)
		}
	}()
	cr := &ctxReader{ctx: ctx, r: r, h: sha256.New()}
	if _, err := io.Copy(tmp, cr); err != nil {
		return datasets.ObjectInfo{}, fmt.Errorf("put %s: %w", key, err)
	}
	if size >= 0 && cr.n != size {
		return datasets.ObjectInfo{}, fmt.Errorf("put %s: read %d bytes, expected %d", key, cr.n, size)
	}
	if err := tmp.Sync(); err != nil {
		return datasets.ObjectInfo{}, fmt.Errorf("put %s: %w", key, err)
	}
	fi, err := tmp.Stat()
	if err != nil {
		return datasets.ObjectInfo{}, fmt.Errorf("put %s: %w", key, err)
	}
	if err := tmp.Close(); err != nil {
		return datasets.ObjectInfo{}, fmt.Errorf("put %s: %w", key, err)
	}
	if err := ctx.Err(); err != nil {
		return datasets.ObjectInfo{}, err
	}
	info = datasets.ObjectInfo{Key: key, Size: cr.n, ETag: hex.EncodeToString(cr.h.Sum(nil)), ModTime: fi.ModTime().UTC()}

	switch {
	case opts.IfAbsent:
		// link(2) fails with EEXIST if the destination exists: an atomic
		// exclusive create of the finished file.
		if err := os.Link(tmpName, p); err != nil {
			if errors.Is(err, fs.ErrExist) {
				return datasets.ObjectInfo{}, fmt.Errorf("put %s if absent: %w", key, datasets.ErrPreconditionFailed)
			}
			return datasets.ObjectInfo{}, fmt.Errorf("put %s: %w", key, err)
		}
		os.Remove(tmpName)
	case opts.IfMatch != "":
		unlock, err := lockDir(dir)
		if err != nil {
			return datasets.ObjectInfo{}, fmt.Errorf("put %s: %w", key, err)
		}
		defer unlock()
		cur, err := statFile(p, key)
		if errors.Is(err, fs.ErrNotExist) {
			return datasets.ObjectInfo{}, fmt.Errorf("put %s if match %s: object missing: %w", key, opts.IfMatch, datasets.ErrPreconditionFailed)
		}
		if err != nil {
			return datasets.ObjectInfo{}, fmt.Errorf("put %s: %w", key, err)
		}
		if cur.ETag != opts.IfMatch {
			return datasets.ObjectInfo{}, fmt.Errorf("put %s if match %s: %w", key, opts.IfMatch, datasets.ErrPreconditionFailed)
		}
		if err := os.Rename(tmpName, p); err != nil {
			return datasets.ObjectInfo{}, fmt.Errorf("put %s: %w", key, err)
		}
	default:
		if err := os.Rename(tmpName, p); err != nil {
			return datasets.ObjectInfo{}, fmt.Errorf("put %s: %w", key, err)
		}
	}
	syncDir(dir)
	return info, nil
}

func mkdirAll(dir string) error {
	err := os.MkdirAll(dir, 0o755)
	if errors.Is(err, syscall.ENOTDIR) || errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("a parent of the key is an object: %w", err)
	}
	return err
}

// lockDir takes an exclusive flock on the folder's lock file. The lock
// serialises compare-and-swap Puts across processes.
func lockDir(dir string) (func(), error) {
	f, err := os.OpenFile(filepath.Join(dir, datasets.TempPrefix+"lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

func randSuffix() string {
	var b [6]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// List returns the objects under prefix, sorted by key bytes. Temporary
// and lock files are never shown. ETags are left empty.
func (s *Store) List(ctx context.Context, prefix string) ([]datasets.ObjectInfo, error) {
	if err := datasets.ValidPrefix(prefix); err != nil {
		return nil, err
	}
	var out []datasets.ObjectInfo
	err := s.walk(ctx, prefix, func(key string, d fs.DirEntry) (skipDir bool, err error) {
		name := d.Name()
		if strings.HasPrefix(name, datasets.TempPrefix) {
			return d.IsDir(), nil
		}
		if d.IsDir() || !strings.HasPrefix(key, prefix) {
			return false, nil
		}
		fi, err := d.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return false, nil // deleted while listing
			}
			return false, err
		}
		if !fi.Mode().IsRegular() {
			return false, nil
		}
		out = append(out, datasets.ObjectInfo{Key: key, Size: fi.Size(), ModTime: fi.ModTime().UTC()})
		return false, nil
	})
	if err != nil {
		return nil, fmt.Errorf("list %q: %w", prefix, err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// Delete removes key and any folders it leaves empty. A missing key is not
// an error.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p, err := s.path(key)
	if err != nil {
		return err
	}
	fi, err := os.Lstat(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return nil
		}
		return fmt.Errorf("delete %s: %w", key, err)
	}
	if fi.IsDir() {
		return nil // a key prefix, not an object
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	// Prune empty parents, keeping the root. Folders holding only a lock
	// file are left in place: removing them could race a writer.
	for dir := filepath.Dir(p); dir != s.root && strings.HasPrefix(dir, s.root); dir = filepath.Dir(dir) {
		if os.Remove(dir) != nil {
			break
		}
	}
	return nil
}

// A Put's temporary is named .prevoir-tmp-<12 hex>-<the object's name, at
// most tempNameMax bytes>, so Temporaries can say which key it was for.
const tempNameMax = 128

func createTemp(dir, base string) (*os.File, error) {
	if len(base) > tempNameMax {
		base = base[:tempNameMax]
	}
	for try := 0; ; try++ {
		f, err := os.OpenFile(filepath.Join(dir, datasets.TempPrefix+"tmp-"+randSuffix()+"-"+base), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if err == nil || !errors.Is(err, fs.ErrExist) || try == 10 {
			return f, err
		}
	}
}

// tempFile reports whether a file name is a Put's temporary.
func tempFile(name string) bool { return strings.HasPrefix(name, datasets.TempPrefix+"tmp-") }

// tempTarget returns the key (possibly cut short) a temporary at key was
// written for.
func tempTarget(key string) string {
	dir, name := path.Split(key)
	name = strings.TrimPrefix(name, datasets.TempPrefix+"tmp-")
	if len(name) > 13 && name[12] == '-' {
		name = name[13:]
	}
	return dir + name
}

// walk visits every entry of the deepest folder that contains every key
// with prefix, giving fn the entry's '/'-separated path relative to the
// root; fn returns skipDir to leave a folder out. A folder that does not
// exist holds nothing.
func (s *Store) walk(ctx context.Context, prefix string, fn func(key string, d fs.DirEntry) (skipDir bool, err error)) error {
	start := s.root
	if i := strings.LastIndex(prefix, "/"); i >= 0 {
		start = filepath.Join(s.root, filepath.FromSlash(prefix[:i]))
	}
	return filepath.WalkDir(start, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
				return nil
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(s.root, p)
		if err != nil {
			return err
		}
		skip, err := fn(filepath.ToSlash(rel), d)
		if skip && err == nil {
			return filepath.SkipDir
		}
		return err
	})
}

// Temporaries lists the temporary files of Puts (.prevoir-tmp-*) under
// prefix: those of a killed process stay until removed. Key is the file's
// path relative to the root, '/'-separated.
func (s *Store) Temporaries(ctx context.Context, prefix string) ([]datasets.ObjectInfo, error) {
	if err := datasets.ValidPrefix(prefix); err != nil {
		return nil, err
	}
	var out []datasets.ObjectInfo
	err := s.walk(ctx, prefix, func(key string, d fs.DirEntry) (bool, error) {
		if d.IsDir() || !tempFile(d.Name()) || !strings.HasPrefix(tempTarget(key), prefix) {
			return false, nil
		}
		fi, err := d.Info()
		if err != nil {
			return false, nil // removed while listing
		}
		out = append(out, datasets.ObjectInfo{Key: key, Size: fi.Size(), ModTime: fi.ModTime().UTC()})
		return false, nil
	})
	if err != nil {
		return nil, fmt.Errorf("list temporaries %q: %w", prefix, err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// RemoveTemporary removes a temporary file Temporaries listed.
func (s *Store) RemoveTemporary(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	dir, name := path.Split(key)
	if !tempFile(name) || strings.Contains(key, "\\") || strings.Contains(key, "..") {
		return fmt.Errorf("remove temporary %q: %w: not a temporary", key, datasets.ErrInvalidKey)
	}
	if dir != "" {
		if err := datasets.ValidPrefix(dir); err != nil {
			return fmt.Errorf("remove temporary %q: %w", key, err)
		}
	}
	if err := os.Remove(filepath.Join(s.root, filepath.FromSlash(key))); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove temporary %s: %w", key, err)
	}
	return nil
}
