package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prevoir/prevoir/datasets/s3/s3test"
)

func TestMain(m *testing.M) {
	// A child process of TestConditionalPutProcesses runs the CLI itself.
	if args := os.Getenv("PREVOIR_TEST_CLI_ARGS"); args != "" {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), append([]string{"prevoir"}, strings.Split(args, "\x1f")...), &stdout, &stderr)
		os.Stdout.Write(stdout.Bytes())
		os.Stderr.Write(stderr.Bytes())
		os.Exit(code)
	}
	s3test.Main(m)
}

// cliProcess returns a command that runs the CLI with args in a child
// process (this test binary, re-executed).
func cliProcess(t *testing.T, env []string, args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), env...), "PREVOIR_TEST_CLI_ARGS="+strings.Join(args, "\x1f"))
	return cmd
}

// s3Env returns the environment that points the CLI at the test MinIO.
func s3Env(srv *s3test.Server) []string {
	return []string{
		"AWS_ENDPOINT_URL=" + srv.Endpoint,
		"AWS_ACCESS_KEY_ID=" + srv.AccessKey,
		"AWS_SECRET_ACCESS_KEY=" + srv.SecretKey,
		"AWS_REGION=" + s3test.Region,
	}
}

// TestConditionalPutProcesses races 8 processes putting one key with
// --if-absent: exactly one succeeds, on the local store and on S3.
func TestConditionalPutProcesses(t *testing.T) {
	src := filepath.Join(t.TempDir(), "payload")
	os.WriteFile(src, []byte("payload"), 0o644)
	race := func(t *testing.T, store string, env []string) {
		const n = 8
		cmds := make([]*exec.Cmd, n)
		outs := make([]*bytes.Buffer, n)
		for i := range cmds {
			cmds[i] = cliProcess(t, env, "--store", store, "store", "put", "race/key", src, "--if-absent")
			outs[i] = &bytes.Buffer{}
			cmds[i].Stdout, cmds[i].Stderr = outs[i], outs[i]
		}
		for _, c := range cmds {
			if err := c.Start(); err != nil {
				t.Fatal(err)
			}
		}
		wins := 0
		for i, c := range cmds {
			err := c.Wait()
			if err == nil {
				wins++
				continue
			}
			if !strings.Contains(outs[i].String(), "precondition failed") {
				t.Errorf("process %d failed otherwise: %v: %s", i, err, outs[i])
			}
		}
		if wins != 1 {
			t.Fatalf("%d processes won the conditional put, want exactly 1", wins)
		}
	}
	t.Run("local", func(t *testing.T) { race(t, filepath.Join(t.TempDir(), "store"), nil) })
	t.Run("s3", func(t *testing.T) {
		srv := s3test.Start(t)
		race(t, "s3://"+srv.NewBucket(t)+"/prefix", s3Env(srv))
	})
}

// TestS3Errors checks that S3 misconfigurations are a one-line error
// naming the problem, a non-zero exit, within seconds.
func TestS3Errors(t *testing.T) {
	srv := s3test.Start(t)
	bucket := srv.NewBucket(t)
	for _, tc := range []struct {
		name  string
		store string
		env   []string
		want  string
	}{
		{"missing bucket", "s3://no-such-bucket-here/p", s3Env(srv), "no-such-bucket-here"},
		{"wrong credentials", "s3://" + bucket, append(s3Env(srv), "AWS_SECRET_ACCESS_KEY=wrong-secret"), "credentials"},
		{"unreachable endpoint", "s3://" + bucket, append(s3Env(srv), "AWS_ENDPOINT_URL=http://127.0.0.1:1"), "127.0.0.1:1"},
		{"key with dot-dot", "s3://" + bucket, s3Env(srv), "invalid key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"--store", tc.store, "store", "ls"}
			if tc.name == "key with dot-dot" {
				args = []string{"--store", tc.store, "store", "cat", "a/../b"}
			}
			cmd := cliProcess(t, tc.env, args...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			start := time.Now()
			err := cmd.Run()
			took := time.Since(start)
			msg := strings.TrimSpace(stderr.String())
			if err == nil {
				t.Fatalf("succeeded; want an error")
			}
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
				t.Errorf("exit: %v, want code 1", err)
			}
			if !strings.Contains(msg, tc.want) || strings.Count(msg, "\n") != 0 {
				t.Errorf("stderr %q: want one line naming %q", msg, tc.want)
			}
			if took > 10*time.Second {
				t.Errorf("took %v, want seconds", took)
			}
			fmt.Fprintf(os.Stderr, "%s: %s (%v)\n", tc.name, msg, took.Round(time.Millisecond))
		})
	}
}
