package s3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/prevoir/prevoir/datasets"
)

// Config holds the connection settings of an S3 store. cmd/prevoir fills
// it from the standard AWS environment variables with ConfigFromEnv; the
// library never reads the environment.
type Config struct {
	// Endpoint is the URL of an S3-compatible server, such as
	// http://127.0.0.1:9000; its scheme selects TLS. Empty means AWS
	// (https://s3.amazonaws.com). With a custom endpoint buckets are
	// addressed path-style (http://host/bucket/key).
	Endpoint string
	// AccessKeyID and SecretAccessKey are static credentials; give both or
	// neither. SessionToken goes with temporary credentials.
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	// Profile and CredentialsFile select a profile of the shared AWS
	// credentials file when no key is given. An empty Profile means
	// "default"; an empty CredentialsFile means minio-go's resolution of
	// the default AWS files (~/.aws/config, then ~/.aws/credentials).
	Profile         string
	CredentialsFile string
	// Region is the bucket's region. Empty takes the profile's region
	// from ConfigFile, else lets the client ask the server (one request
	// per bucket, cached).
	Region string
	// ConfigFile is the AWS config file (AWS_CONFIG_FILE, else
	// ~/.aws/config). Its profile (Profile, else "default") gives
	// endpoint_url and region when Endpoint and Region are empty, as the
	// AWS tools do. A missing file is no error.
	ConfigFile string
	// NoInstanceMetadata skips the EC2 instance role
	// (AWS_EC2_METADATA_DISABLED=true); ContainerRole says the
	// environment names a container (ECS) or web-identity (Kubernetes
	// IRSA) role, which is tried even then.
	NoInstanceMetadata bool
	ContainerRole      bool
	// Transport, if not nil, carries every HTTP request instead of the
	// default transport (which dials with a DialTimeout and never asks
	// for compressed responses). Tests use it to count bytes.
	Transport http.RoundTripper
	// MaxRetries is how many times a request is attempted in all; zero
	// means DefaultMaxRetries. minio-go's own default (10, with backoff)
	// would make an unreachable endpoint take many seconds to report.
	MaxRetries int
}

// ConfigFromEnv resolves a Config the way the AWS tools do, reading
// variables through getenv (cmd passes os.Getenv):
//
//   - Endpoint: AWS_ENDPOINT_URL_S3, else AWS_ENDPOINT_URL, else AWS;
//   - AccessKeyID, SecretAccessKey, SessionToken: AWS_ACCESS_KEY_ID,
//     AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN;
//   - Profile, CredentialsFile: AWS_PROFILE, AWS_SHARED_CREDENTIALS_FILE;
//   - Region: AWS_REGION, else AWS_DEFAULT_REGION;
//   - ConfigFile: AWS_CONFIG_FILE, else $HOME/.aws/config (New reads the
//     profile's endpoint_url and region from it);
//   - NoInstanceMetadata: AWS_EC2_METADATA_DISABLED=true; ContainerRole:
//     AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, _FULL_URI or
//     AWS_WEB_IDENTITY_TOKEN_FILE is set.
func ConfigFromEnv(getenv func(string) string) Config {
	first := func(names ...string) string {
		for _, n := range names {
			if v := strings.TrimSpace(getenv(n)); v != "" {
				return v
			}
		}
		return ""
	}
	return Config{
		Endpoint:           first("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"),
		AccessKeyID:        first("AWS_ACCESS_KEY_ID"),
		SecretAccessKey:    first("AWS_SECRET_ACCESS_KEY"),
		SessionToken:       first("AWS_SESSION_TOKEN"),
		Profile:            first("AWS_PROFILE"),
		CredentialsFile:    first("AWS_SHARED_CREDENTIALS_FILE"),
		Region:             first("AWS_REGION", "AWS_DEFAULT_REGION"),
		ConfigFile:         configFile(first("AWS_CONFIG_FILE"), first("HOME")),
		NoInstanceMetadata: strings.EqualFold(first("AWS_EC2_METADATA_DISABLED"), "true"),
		ContainerRole:      first("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_WEB_IDENTITY_TOKEN_FILE") != "",
	}
}

func configFile(named, home string) string {
	if named != "" || home == "" {
		return named
	}
	return filepath.Join(home, ".aws", "config")
}

// DefaultMaxRetries is the number of attempts of a request when
// Config.MaxRetries is zero.
const DefaultMaxRetries = 3

// DialTimeout bounds connecting to the endpoint with the default transport.
const DialTimeout = 5 * time.Second

// PartSize is the multipart part size. minio-go holds a part in memory
// while it uploads it, so it bounds the memory of a Put; with an unknown
// size (-1) it also bounds the object to 10,000 parts (156 GiB).
const PartSize = 16 << 20

// Store is a datasets.Store over one bucket of an S3-compatible server,
// with every key stored under a fixed prefix. It is safe for concurrent use.
type Store struct {
	client   *minio.Client
	core     minio.Core
	bucket   string
	prefix   string // "" or a valid key without leading or trailing '/'
	endpoint string // for error messages
}

var _ datasets.Store = (*Store)(nil)

// New opens bucket, which must exist (prevoir never creates buckets), with
// keys stored under prefix + "/" + key. It checks that the bucket exists,
// so wrong credentials, an unreachable endpoint and a missing bucket are
// reported here, each as a one-line error naming the problem.
func New(ctx context.Context, bucket, prefix string, cfg Config) (*Store, error) {
	prefix = strings.Trim(prefix, "/")
	s := &Store{bucket: bucket, prefix: prefix}
	if bucket == "" {
		return nil, errors.New("s3 store: missing bucket name")
	}
	if prefix != "" {
		if err := datasets.ValidKey(prefix); err != nil {
			return nil, fmt.Errorf("s3 store %s: prefix: %w", s.URL(), err)
		}
	}
	if cfg.Endpoint == "" || cfg.Region == "" {
		p, err := readProfile(cfg.ConfigFile, cfg.Profile)
		if err != nil {
			return nil, fmt.Errorf("s3 store %s: %w", s.URL(), err)
		}
		if cfg.Endpoint == "" && p["endpoint_url"] != "" {
			cfg.Endpoint = p["endpoint_url"]
		}
		if cfg.Region == "" {
			cfg.Region = p["region"]
		}
	}
	host, secure, err := parseEndpoint(cfg.Endpoint)
	if err != nil {
		return nil, fmt.Errorf("s3 store %s: %w", s.URL(), err)
	}
	s.endpoint = cfg.Endpoint
	if s.endpoint == "" {
		s.endpoint = "https://" + host
	}
	creds, err := resolveCredentials(cfg)
	if err != nil {
		return nil, fmt.Errorf("s3 store %s: %w", s.URL(), err)
	}

	transport := cfg.Transport
	if transport == nil {
		transport = defaultTransport()
	}
	retries := cfg.MaxRetries
	if retries <= 0 {
		retries = DefaultMaxRetries
	}
	opts := &minio.Options{
		Creds:      creds,
		Secure:     secure,
		Transport:  transport,
		Region:     cfg.Region,
		MaxRetries: retries,
	}
	if cfg.Endpoint != "" {
		opts.BucketLookup = minio.BucketLookupPath
	}
	client, err := minio.New(host, opts)
	if err != nil {
		return nil, fmt.Errorf("s3 store %s: %v", s.URL(), oneLine(err))
	}
	s.client = client
	s.core = minio.Core{Client: client}

	ok, err := client.BucketExists(ctx, bucket)
	if err != nil {
		return nil, fmt.Errorf("s3 store %s: %s", s.URL(), s.describe(err))
	}
	if !ok {
		return nil, fmt.Errorf("s3 store %s: bucket %q does not exist at %s (prevoir never creates buckets)", s.URL(), bucket, s.endpoint)
	}
	return s, nil
}

// parseEndpoint splits an endpoint URL into the host minio-go wants and
// whether to use TLS.
func parseEndpoint(endpoint string) (host string, secure bool, err error) {
	if endpoint == "" {
		return "s3.amazonaws.com", true, nil
	}
	if !strings.Contains(endpoint, "://") {
		return "", false, fmt.Errorf("endpoint %q: want an http:// or https:// URL", endpoint)
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return "", false, fmt.Errorf("endpoint %q: %v", endpoint, err)
	}
	switch u.Scheme {
	case "http":
	case "https":
		secure = true
	default:
		return "", false, fmt.Errorf("endpoint %q: want an http:// or https:// URL", endpoint)
	}
	if u.Host == "" {
		return "", false, fmt.Errorf("endpoint %q: missing host", endpoint)
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
		return "", false, fmt.Errorf("endpoint %q: want scheme://host[:port] only, without path, query or user", endpoint)
	}
	return u.Host, secure, nil
}

// defaultTransport is minio-go's default transport with a short dial
// timeout, so an unreachable endpoint is reported within seconds.
func defaultTransport() *http.Transport {
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: DialTimeout, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   16,
		ResponseHeaderTimeout: time.Minute,
		IdleConnTimeout:       time.Minute,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: 10 * time.Second,
		// Never let the transport add Accept-Encoding: gzip and
		// transparently decode: sizes and ranges are of stored bytes.
		DisableCompression: true,
	}
}

// describe explains an error of the bucket check in one line.
func (s *Store) describe(err error) string {
	var er minio.ErrorResponse
	if errors.As(err, &er) {
		switch er.Code {
		case "InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "ExpiredToken",
			"InvalidToken", "InvalidClientTokenId", "AuthorizationHeaderMalformed":
			return fmt.Sprintf("credentials refused by %s: %s (%s)", s.endpoint, er.Code, oneLine(er))
		}
		return fmt.Sprintf("%s: %s (%s, HTTP %d)", s.endpoint, oneLine(er), er.Code, er.StatusCode)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Sprintf("%s: %v", s.endpoint, err)
	}
	var op *net.OpError
	if errors.As(err, &op) {
		return fmt.Sprintf("cannot reach %s: %v", s.endpoint, op)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Sprintf("cannot reach %s: %v", s.endpoint, ue.Err)
	}
	return fmt.Sprintf("%s: %s", s.endpoint, oneLine(err))
}

func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

// URL returns s3://bucket/prefix.
func (s *Store) URL() string {
	if s.prefix == "" {
		return "s3://" + s.bucket
	}
	return "s3://" + s.bucket + "/" + s.prefix
}

// objectName maps a store key to the S3 object name: prefix + "/" + key.
func (s *Store) objectName(key string) (string, error) {
	if err := datasets.ValidKey(key); err != nil {
		return "", err
	}
	if s.prefix == "" {
		return key, nil
	}
	return s.prefix + "/" + key, nil
}

// keyOf maps an S3 object name back to a store key; ok is false for a name
// outside the prefix or one that is not a valid key (temporary objects,
// "folder" markers ending in '/', and the like).
func (s *Store) keyOf(name string) (key string, ok bool) {
	key = name
	if s.prefix != "" {
		var found bool
		key, found = strings.CutPrefix(name, s.prefix+"/")
		if !found {
			return "", false
		}
	}
	if datasets.ValidKey(key) != nil {
		return "", false
	}
	return key, true
}

// translate maps a minio-go error to the datasets contract. It inspects
// err before anything wraps it: minio.ToErrorResponse does not see through
// %w. The original error stays in the chain.
func translate(err error) error {
	var er minio.ErrorResponse
	if !errors.As(err, &er) {
		return err
	}
	switch {
	case er.Code == minio.NoSuchKey || er.StatusCode == http.StatusNotFound && er.Code != minio.NoSuchBucket:
		return fmt.Errorf("%w (%s)", fs.ErrNotExist, oneLine(er))
	case er.Code == minio.PreconditionFailed || er.StatusCode == http.StatusPreconditionFailed,
		er.Code == "ConditionalRequestConflict":
		return fmt.Errorf("%w: %w", datasets.ErrPreconditionFailed, er)
	}
	return err
}

func etag(s string) string { return strings.Trim(s, `"`) }

// Stat describes key: its size, the server's ETag (unquoted) and ModTime.
func (s *Store) Stat(ctx context.Context, key string) (datasets.ObjectInfo, error) {
	name, err := s.objectName(key)
	if err != nil {
		return datasets.ObjectInfo{}, err
	}
	oi, err := s.client.StatObject(ctx, s.bucket, name, minio.StatObjectOptions{})
	if err != nil {
		return datasets.ObjectInfo{}, fmt.Errorf("stat %s: %w", s.at(key), translate(err))
	}
	return datasets.ObjectInfo{Key: key, Size: oi.Size, ETag: etag(oi.ETag), ModTime: oi.LastModified.UTC()}, nil
}

// at names key in errors: s3://bucket/prefix/key.
func (s *Store) at(key string) string { return s.URL() + "/" + key }

// Open stats key, then returns an object whose reads fetch only the bytes
// asked for with ranged GETs. The reads use ctx, and are pinned to the
// ETag seen by Open: if the object is replaced, they fail with an error
// wrapping datasets.ErrChanged rather than mix two versions.
func (s *Store) Open(ctx context.Context, key string) (datasets.Object, error) {
	name, err := s.objectName(key)
	if err != nil {
		return nil, err
	}
	oi, err := s.client.StatObject(ctx, s.bucket, name, minio.StatObjectOptions{})
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", s.at(key), translate(err))
	}
	return &object{s: s, ctx: ctx, key: key, name: name, etag: etag(oi.ETag), size: oi.Size}, nil
}

// Put streams r to key. With a known size the body is sent as it is read;
// with size -1 it goes up in PartSize parts. IfAbsent becomes
// If-None-Match: *, IfMatch becomes If-Match; a condition that fails
// returns an error wrapping datasets.ErrPreconditionFailed.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64, opts datasets.PutOptions) (datasets.ObjectInfo, error) {
	name, err := s.objectName(key)
	if err != nil {
		return datasets.ObjectInfo{}, err
	}
	if opts.IfAbsent && opts.IfMatch != "" {
		return datasets.ObjectInfo{}, fmt.Errorf("put %s: IfAbsent and IfMatch are exclusive", s.at(key))
	}
	if err := ctx.Err(); err != nil {
		return datasets.ObjectInfo{}, fmt.Errorf("put %s: %w", s.at(key), err)
	}
	po := minio.PutObjectOptions{ContentType: opts.ContentType, PartSize: PartSize, NumThreads: 4}
	if size > 10000*PartSize {
		po.PartSize = 0 // let minio-go pick a part size that fits 10,000 parts
	}
	op := "put"
	switch {
	case opts.IfAbsent:
		po.SetMatchETagExcept("*")
		op = "put if absent"
	case opts.IfMatch != "":
		po.SetMatchETag(opts.IfMatch)
		op = "put if match " + opts.IfMatch
	}
	ui, err := s.client.PutObject(ctx, s.bucket, name, r, size, po)
	if err != nil {
		terr := translate(err)
		if opts.IfMatch != "" && errors.Is(terr, fs.ErrNotExist) {
			// If-Match on a missing object: the condition does not hold.
			terr = fmt.Errorf("%w: object missing", datasets.ErrPreconditionFailed)
		}
		if err := ctx.Err(); err != nil && !errors.Is(terr, datasets.ErrPreconditionFailed) {
			terr = err
		}
		return datasets.ObjectInfo{}, fmt.Errorf("%s %s: %w", op, s.at(key), terr)
	}
	mod := ui.LastModified.UTC()
	if ui.LastModified.IsZero() {
		mod = time.Now().UTC()
	}
	return datasets.ObjectInfo{Key: key, Size: ui.Size, ETag: etag(ui.ETag), ModTime: mod}, nil
}

// List returns the objects under prefix, sorted by key bytes, with keys
// relative to the store's prefix. Objects whose name is not a valid key
// (temporary objects, folder markers) are not shown.
func (s *Store) List(ctx context.Context, prefix string) ([]datasets.ObjectInfo, error) {
	if err := datasets.ValidPrefix(prefix); err != nil {
		return nil, err
	}
	full := prefix
	if s.prefix != "" {
		full = s.prefix + "/" + prefix
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // ends minio-go's listing if we return early
	var out []datasets.ObjectInfo
	for oi := range s.client.ListObjectsIter(ctx, s.bucket, minio.ListObjectsOptions{Prefix: full, Recursive: true}) {
		if oi.Err != nil {
			err := oi.Err
			if cerr := ctx.Err(); cerr != nil {
				err = cerr
			}
			return nil, fmt.Errorf("list %s/%s: %w", s.URL(), prefix, translate(err))
		}
		key, ok := s.keyOf(oi.Key)
		if !ok || !strings.HasPrefix(key, prefix) {
			continue
		}
		out = append(out, datasets.ObjectInfo{Key: key, Size: oi.Size, ETag: etag(oi.ETag), ModTime: oi.LastModified.UTC()})
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("list %s/%s: %w", s.URL(), prefix, err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// Delete removes key. A missing key is not an error.
func (s *Store) Delete(ctx context.Context, key string) error {
	name, err := s.objectName(key)
	if err != nil {
		return err
	}
	if err := s.client.RemoveObject(ctx, s.bucket, name, minio.RemoveObjectOptions{}); err != nil {
		if terr := translate(err); !errors.Is(terr, fs.ErrNotExist) {
			return fmt.Errorf("delete %s: %w", s.at(key), terr)
		}
	}
	return nil
}

// Temporaries lists the incomplete multipart uploads under prefix: those
// of a killed process stay (and are billed) until removed. Key is the
// store key the upload was writing. AWS S3 lists them by any prefix; MinIO
// only by an object's exact key, so on MinIO a prefix finds none, and
// MinIO's own expiry of stale uploads (24 h by default) removes them.
func (s *Store) Temporaries(ctx context.Context, prefix string) ([]datasets.ObjectInfo, error) {
	if err := datasets.ValidPrefix(prefix); err != nil {
		return nil, err
	}
	full := prefix
	if s.prefix != "" {
		full = s.prefix + "/" + prefix
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // ends minio-go's listing if we return early
	var out []datasets.ObjectInfo
	for u := range s.client.ListIncompleteUploads(ctx, s.bucket, full, true) {
		if u.Err != nil {
			return nil, fmt.Errorf("list temporaries %s/%s: %w", s.URL(), prefix, translate(u.Err))
		}
		key, ok := s.keyOf(u.Key)
		if !ok || !strings.HasPrefix(key, prefix) {
			continue
		}
		out = append(out, datasets.ObjectInfo{Key: key, Size: u.Size, ModTime: u.Initiated.UTC()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// RemoveTemporary aborts the incomplete multipart uploads of key.
func (s *Store) RemoveTemporary(ctx context.Context, key string) error {
	name, err := s.objectName(key)
	if err != nil {
		return err
	}
	if err := s.client.RemoveIncompleteUpload(ctx, s.bucket, name); err != nil {
		if terr := translate(err); !errors.Is(terr, fs.ErrNotExist) {
			return fmt.Errorf("remove temporary %s: %w", s.at(key), terr)
		}
	}
	return nil
}
