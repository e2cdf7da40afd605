package s3

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/minio/minio-go/v7/pkg/credentials"
)

// roleTimeout bounds asking a container or instance metadata endpoint
// for a role's credentials: off AWS, the instance endpoint does not
// answer, and waiting long for it would hide the real error.
const roleTimeout = 2 * time.Second

// resolveCredentials finds credentials in AWS's order, through minio-go's
// providers:
//
//  1. static keys in cfg (from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
//     AWS_SESSION_TOKEN);
//  2. the profile (cfg.Profile, else "default") of the shared files:
//     cfg.CredentialsFile alone when set, else the AWS config file merged
//     with ~/.aws/credentials (keys, credential_process, SSO);
//  3. a role: web identity (Kubernetes IRSA), then the ECS container
//     endpoint, then the EC2 instance metadata (IMDSv2), unless
//     cfg.NoInstanceMetadata and no container role is named.
//
// When none gives credentials, the error says what each step found.
func resolveCredentials(cfg Config) (*credentials.Credentials, error) {
	switch {
	case cfg.AccessKeyID != "" && cfg.SecretAccessKey != "":
		return credentials.NewStaticV4(cfg.AccessKeyID, cfg.SecretAccessKey, cfg.SessionToken), nil
	case cfg.AccessKeyID != "" || cfg.SecretAccessKey != "":
		return nil, errors.New("give both an access key id and a secret access key, or neither")
	}
	profile := cfg.Profile
	if profile == "" {
		profile = "default" // not minio-go's fallback to $AWS_PROFILE
	}
	file := credentials.NewFileAWSCredentials(cfg.CredentialsFile, profile)
	_, ferr := file.GetWithContext(&credentials.CredContext{})
	if ferr == nil {
		return file, nil
	}
	where := cfg.CredentialsFile
	if where == "" {
		where = "the default AWS files"
	}
	fileMsg := fmt.Sprintf("profile %q of %s: %v", profile, where, oneLine(ferr))
	if cfg.NoInstanceMetadata && !cfg.ContainerRole {
		return nil, fmt.Errorf("no access key given, and %s (no role tried: AWS_EC2_METADATA_DISABLED)", fileMsg)
	}
	client := &http.Client{Timeout: roleTimeout, Transport: defaultTransport()}
	role := credentials.New(&credentials.IAM{Client: client})
	v, rerr := role.GetWithContext(&credentials.CredContext{Client: client})
	if rerr == nil && v.AccessKeyID != "" {
		return role, nil
	}
	if rerr == nil {
		rerr = errors.New("no credentials returned")
	}
	return nil, fmt.Errorf("no access key given, and %s; no container or instance role: %v", fileMsg, oneLine(rerr))
}

// readProfile returns the settings of profile (empty: "default") in an
// AWS config file: "[default]" or "[profile NAME]" sections of
// "key = value" lines, nested blocks (an indented "key = value" under a
// "key =" line) read as "key.sub". The S3 endpoint is the profile's
// services section's "s3 = endpoint_url = ..." when the profile names one
// ("services = NAME"), else the profile's own endpoint_url. A missing
// file or profile is an empty map.
func readProfile(path, profile string) (map[string]string, error) {
	if path == "" {
		return map[string]string{}, nil
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("AWS config %s: %w", path, err)
	}
	sections := map[string]map[string]string{}
	var cur map[string]string
	nest := ""
	for n, raw := range strings.Split(string(data), "\n") {
		raw = strings.TrimRight(raw, "\r")
		line := strings.TrimSpace(raw)
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if line[0] == '[' {
			if !strings.HasSuffix(line, "]") {
				return nil, fmt.Errorf("AWS config %s:%d: malformed section %q", path, n+1, line)
			}
			name := strings.Join(strings.Fields(line[1:len(line)-1]), " ")
			if sections[name] == nil {
				sections[name] = map[string]string{}
			}
			cur, nest = sections[name], ""
			continue
		}
		if cur == nil {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("AWS config %s:%d: want key = value", path, n+1)
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		indented := raw[0] == ' ' || raw[0] == '\t'
		switch {
		case indented && nest != "":
			cur[nest+"."+k] = v
		case v == "":
			nest = k
		default:
			nest = ""
			cur[k] = v
		}
	}
	if profile == "" {
		profile = "default"
	}
	out := sections["profile "+profile]
	if out == nil && profile == "default" {
		out = sections["default"]
	}
	if out == nil {
		return map[string]string{}, nil
	}
	if svc := out["services"]; svc != "" {
		if e := sections["services "+svc]["s3.endpoint_url"]; e != "" {
			out["endpoint_url"] = e
		}
	}
	if e := out["s3.endpoint_url"]; e != "" {
		out["endpoint_url"] = e
	}
	return out, nil
}
