package s3

import (
	"errors"
	"testing"

	"github.com/prevoir/prevoir/datasets"
)

func TestConfigFromEnv(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want Config
	}{
		{"empty", nil, Config{}},
		{
			"s3 endpoint wins",
			map[string]string{"AWS_ENDPOINT_URL_S3": "http://s3.local:9000", "AWS_ENDPOINT_URL": "http://other:1"},
			Config{Endpoint: "http://s3.local:9000"},
		},
		{
			"generic endpoint",
			map[string]string{"AWS_ENDPOINT_URL": "https://minio.example.com"},
			Config{Endpoint: "https://minio.example.com"},
		},
		{
			"static keys",
			map[string]string{"AWS_ACCESS_KEY_ID": "AK", "AWS_SECRET_ACCESS_KEY": "SK", "AWS_SESSION_TOKEN": "TOK"},
			Config{AccessKeyID: "AK", SecretAccessKey: "SK", SessionToken: "TOK"},
		},
		{
			"profile and file",
			map[string]string{"AWS_PROFILE": "prod", "AWS_SHARED_CREDENTIALS_FILE": "/etc/aws/creds"},
			Config{Profile: "prod", CredentialsFile: "/etc/aws/creds"},
		},
		{
			"region wins over default region",
			map[string]string{"AWS_REGION": "eu-west-3", "AWS_DEFAULT_REGION": "us-east-2"},
			Config{Region: "eu-west-3"},
		},
		{
			"default region",
			map[string]string{"AWS_DEFAULT_REGION": "us-east-2"},
			Config{Region: "us-east-2"},
		},
		{
			"blank values are unset",
			map[string]string{"AWS_ENDPOINT_URL_S3": "  ", "AWS_ENDPOINT_URL": "http://x:1", "AWS_REGION": ""},
			Config{Endpoint: "http://x:1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ConfigFromEnv(func(k string) string { return tt.env[k] })
			if got != tt.want {
				t.Errorf("ConfigFromEnv = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseEndpoint(t *testing.T) {
	tests := []struct {
		in      string
		host    string
		secure  bool
		wantErr bool
	}{
		{"", "s3.amazonaws.com", true, false},
		{"http://127.0.0.1:9000", "127.0.0.1:9000", false, false},
		{"https://minio.example.com", "minio.example.com", true, false},
		{"https://minio.example.com/", "minio.example.com", true, false},
		{"minio.example.com:9000", "", false, true},
		{"ftp://x", "", false, true},
		{"http://", "", false, true},
		{"http://host/path", "", false, true},
	}
	for _, tt := range tests {
		host, secure, err := parseEndpoint(tt.in)
		if (err != nil) != tt.wantErr || host != tt.host || secure != tt.secure {
			t.Errorf("parseEndpoint(%q) = %q, %v, %v; want %q, %v, error %v", tt.in, host, secure, err, tt.host, tt.secure, tt.wantErr)
		}
	}
}

func TestKeyMapping(t *testing.T) {
	for _, prefix := range []string{"", "some/prefix"} {
		s := &Store{bucket: "b", prefix: prefix}
		for _, key := range []string{"a", "a/b.parquet", "x/y/z"} {
			name, err := s.objectName(key)
			if err != nil {
				t.Fatalf("prefix %q: objectName(%q): %v", prefix, key, err)
			}
			want := key
			if prefix != "" {
				want = prefix + "/" + key
			}
			if name != want {
				t.Errorf("prefix %q: objectName(%q) = %q, want %q", prefix, key, name, want)
			}
			if back, ok := s.keyOf(name); !ok || back != key {
				t.Errorf("prefix %q: keyOf(%q) = %q, %v; want %q", prefix, name, back, ok, key)
			}
		}
		for _, bad := range []string{"", "/a", "a/", "a//b", "../a", "a/./b", "a/.prevoir-tmp", "a\\b"} {
			if _, err := s.objectName(bad); !errors.Is(err, datasets.ErrInvalidKey) {
				t.Errorf("prefix %q: objectName(%q) error = %v, want ErrInvalidKey", prefix, bad, err)
			}
		}
	}
	s := &Store{bucket: "b", prefix: "p"}
	for _, name := range []string{"p", "pq/a", "other/a", "p/", "p/dir/", "p/.prevoir-tmp-1", "p/a/.prevoir-x/b"} {
		if key, ok := s.keyOf(name); ok {
			t.Errorf("keyOf(%q) = %q, want hidden", name, key)
		}
	}
}

func TestURL(t *testing.T) {
	if got := (&Store{bucket: "b"}).URL(); got != "s3://b" {
		t.Errorf("URL = %q", got)
	}
	if got := (&Store{bucket: "b", prefix: "p/q"}).URL(); got != "s3://b/p/q" {
		t.Errorf("URL = %q", got)
	}
}
