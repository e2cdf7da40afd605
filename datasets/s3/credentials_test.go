package s3

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadProfile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config")
	body := `# an AWS config file
[default]
region = eu-west-1

[profile minio]
region = us-east-1
endpoint_url = http://127.0.0.1:9000

[profile svc]
region = eu-west-3
endpoint_url = http://global:1
services = local-s3

[services local-s3]
s3 =
  endpoint_url = http://s3-only:9000

[profile nested]
s3 =
  endpoint_url = http://nested:9000
  addressing_style = path
`
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		profile, endpoint, region string
	}{
		{"", "", "eu-west-1"},
		{"default", "", "eu-west-1"},
		{"minio", "http://127.0.0.1:9000", "us-east-1"},
		{"svc", "http://s3-only:9000", "eu-west-3"},
		{"nested", "http://nested:9000", ""},
		{"absent", "", ""},
	} {
		p, err := readProfile(path, tc.profile)
		if err != nil || p["endpoint_url"] != tc.endpoint || p["region"] != tc.region {
			t.Errorf("profile %q: %v, %v; want endpoint %q region %q", tc.profile, p, err, tc.endpoint, tc.region)
		}
	}
	if p, err := readProfile(filepath.Join(dir, "missing"), "x"); err != nil || len(p) != 0 {
		t.Errorf("missing file: %v %v", p, err)
	}
	bad := filepath.Join(dir, "bad")
	os.WriteFile(bad, []byte("[default\nregion = x\n"), 0o600)
	if _, err := readProfile(bad, ""); err == nil || !strings.Contains(err.Error(), bad+":1") {
		t.Errorf("malformed section: %v", err)
	}
}

func TestConfigFromEnvFiles(t *testing.T) {
	env := map[string]string{"HOME": "/home/u", "AWS_EC2_METADATA_DISABLED": "true", "AWS_WEB_IDENTITY_TOKEN_FILE": "/var/run/token"}
	c := ConfigFromEnv(func(k string) string { return env[k] })
	if c.ConfigFile != "/home/u/.aws/config" || !c.NoInstanceMetadata || !c.ContainerRole {
		t.Errorf("ConfigFromEnv = %+v", c)
	}
	env["AWS_CONFIG_FILE"] = "/etc/aws/config"
	if c := ConfigFromEnv(func(k string) string { return env[k] }); c.ConfigFile != "/etc/aws/config" {
		t.Errorf("AWS_CONFIG_FILE: %q", c.ConfigFile)
	}
}

func TestNoCredentialsSaysWhatWasTried(t *testing.T) {
	_, err := resolveCredentials(Config{CredentialsFile: "/nonexistent/credentials", Profile: "p", NoInstanceMetadata: true})
	if err == nil || !strings.Contains(err.Error(), `profile "p" of /nonexistent/credentials`) || !strings.Contains(err.Error(), "AWS_EC2_METADATA_DISABLED") {
		t.Errorf("resolveCredentials = %v", err)
	}
}
