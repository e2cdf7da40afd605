package datasets

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// SourceFile is one file an import reads: a local file or an object of
// a store (S3).
type SourceFile struct {
	// Path names the file in error messages, as the user gave it (a
	// folder's files are joined to the folder as given).
	Path string
	// ID identifies the file in the manifest, for idempotent appends: the
	// absolute path of a local file, the s3:// URL of an object.
	ID string
	// Size is the file's length in bytes.
	Size int64
	// Open opens the file. The reader may also be an io.ReaderAt (local
	// files and store objects are), which Parquet sources need.
	Open func(ctx context.Context) (io.ReadCloser, error)
}

// sourceExts are the file name endings a folder or prefix import picks up.
var sourceExts = []string{".csv", ".tsv", ".txt", ".psv", ".dat", ".parquet", ".csv.gz", ".tsv.gz", ".txt.gz", ".psv.gz", ".dat.gz", ".gz"}

// IsSourceName reports whether a file found in a folder or under a prefix
// is imported: a known extension (.csv, .tsv, .txt, .psv, .dat, .parquet,
// optionally .gz), and not hidden ('.' or '_' first, like _SUCCESS).
func IsSourceName(name string) bool {
	base := path.Base(name)
	if strings.HasPrefix(base, ".") || strings.HasPrefix(base, "_") {
		return false
	}
	lower := strings.ToLower(base)
	for _, e := range sourceExts {
		if strings.HasSuffix(lower, e) {
			return true
		}
	}
	return false
}

// LocalSources expands local paths: a file is imported whatever its name,
// a folder contributes its source files (IsSourceName), recursively, in
// sorted order.
func LocalSources(paths []string) ([]SourceFile, error) {
	var out []SourceFile
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		if !fi.IsDir() {
			sf, err := localSource(p, fi.Size())
			if err != nil {
				return nil, err
			}
			out = append(out, sf)
			continue
		}
		var files []SourceFile
		err = filepath.WalkDir(p, func(q string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if q != p && (strings.HasPrefix(d.Name(), ".") || strings.HasPrefix(d.Name(), "_")) {
					return filepath.SkipDir
				}
				return nil
			}
			if !IsSourceName(d.Name()) {
				return nil
			}
			info, err := os.Stat(q) // follows a symbolic link
			if err != nil {
				return err
			}
			if !info.Mode().IsRegular() {
				return nil
			}
			sf, err := localSource(q, info.Size())
			if err != nil {
				return err
			}
			files = append(files, sf)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("%s: no source files in the folder (.csv, .tsv, .txt, .psv, .dat, .parquet, optionally .gz)", p)
		}
		sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
		out = append(out, files...)
	}
	return out, nil
}

func localSource(p string, size int64) (SourceFile, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return SourceFile{}, fmt.Errorf("%s: %w", p, err)
	}
	return SourceFile{
		Path: p, ID: abs, Size: size,
		Open: func(ctx context.Context) (io.ReadCloser, error) { return os.Open(p) },
	}, nil
}

// StoreSources lists the source files of a store under prefix (an object
// key, or a folder-like prefix; "" for the whole store). base is the
// store's URL as the user typed it (s3://bucket/prefix): Path and ID are
// base + "/" + key.
func StoreSources(ctx context.Context, st Store, base, prefix string) ([]SourceFile, error) {
	base = strings.TrimSuffix(base, "/")
	mk := func(o ObjectInfo) SourceFile {
		key := o.Key
		u := base + "/" + key
		return SourceFile{Path: u, ID: u, Size: o.Size, Open: func(ctx context.Context) (io.ReadCloser, error) { return st.Open(ctx, key) }}
	}
	prefix = strings.Trim(prefix, "/")
	if prefix != "" {
		if info, err := st.Stat(ctx, prefix); err == nil {
			return []SourceFile{mk(info)}, nil
		}
		prefix += "/"
	}
	objs, err := st.List(ctx, prefix)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", base+"/"+prefix, err)
	}
	var out []SourceFile
	for _, o := range objs {
		if IsSourceName(o.Key) {
			out = append(out, mk(o))
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no source files under this prefix (.csv, .tsv, .txt, .psv, .dat, .parquet, optionally .gz)", strings.TrimSuffix(base+"/"+prefix, "/"))
	}
	return out, nil
}
