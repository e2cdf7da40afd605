package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/prevoir/prevoir/serve"
)

// serveArgs are the flags of `prevoir serve`.
type serveArgs struct {
	addr, tokens, maxAge                string
	metricsOpen                         bool
	poll                                time.Duration
	maxBody                             int64
	maxPredictRows, maxPage, maxStreams int
}

func serveCommand() *cli.Command {
	a := &serveArgs{}
	return &cli.Command{
		Name:  "serve",
		Usage: "serve published scores, customer and product lookups and online predictions over HTTP",
		Description: "Serves the latest publications of --dataset from memory (reloaded when the store changes: polled every\n" +
			"--poll, or on POST /v1/admin/reload) and the registry's models. Every endpoint but /healthz, /readyz and\n" +
			"/openapi.json needs a bearer token: --tokens FILE (one 'TOKEN SCOPE[,SCOPE...]' a line, mode 600) or\n" +
			"PREVOIR_TOKENS (the same lines separated by ';'). Stops gracefully on SIGTERM. See docs/SERVING.md.",
		Flags: []cli.Flag{
			datasetFlag(),
			&cli.StringFlag{Name: "addr", Value: "127.0.0.1:8080", Usage: "`HOST:PORT` to listen on (loopback by default)", Destination: &a.addr},
			&cli.StringFlag{Name: "tokens", Usage: "`FILE` of bearer tokens and scopes (" + strings.Join(serve.Scopes, ", ") + ")", Destination: &a.tokens},
			&cli.BoolFlag{Name: "metrics-open", Usage: "serve /metrics without a token (else the admin scope)", Destination: &a.metricsOpen},
			&cli.StringFlag{Name: "max-age", Usage: "`AGE` (48h, 2d) from which a publication is reported stale (default: never)", Destination: &a.maxAge},
			&cli.DurationFlag{Name: "poll", Value: 5 * time.Second, Usage: "how often to check the store for new publications and alias moves (0: never)", Destination: &a.poll},
			&cli.Int64Flag{Name: "max-body", Value: 1 << 20, Usage: "largest request body, in `BYTES`", Destination: &a.maxBody},
			&cli.IntFlag{Name: "max-predict-rows", Value: 1000, Usage: "most rows in one prediction request", Destination: &a.maxPredictRows},
			&cli.IntFlag{Name: "max-page", Value: 100_000, Usage: "largest ?limit= of a scores page", Destination: &a.maxPage},
			&cli.IntFlag{Name: "max-streams", Value: 8, Usage: "scores streams served at once", Destination: &a.maxStreams},
		},
		Action: a.run,
	}
}

func (a *serveArgs) run(c *cli.Context) error {
	if err := needArgs(c, 0, 0, "[--addr HOST:PORT] [--tokens FILE]"); err != nil {
		return err
	}
	maxAge, err := parseAge(a.maxAge)
	if err != nil {
		return usageErrorf("--max-age %q: %v", a.maxAge, err)
	}
	tokens, err := loadTokens(a.tokens, os.Getenv("PREVOIR_TOKENS"))
	if err != nil {
		return err
	}
	for name, v := range map[string]int64{"--max-body": a.maxBody, "--max-predict-rows": int64(a.maxPredictRows), "--max-page": int64(a.maxPage), "--max-streams": int64(a.maxStreams)} {
		if v < 1 {
			return usageErrorf("%s %d: want 1 or more", name, v)
		}
	}
	poll := a.poll
	if poll <= 0 {
		poll = -1
	}
	st, ds, err := openDataset(c)
	if err != nil {
		return err
	}
	srv, err := serve.New(st, serve.Options{
		Dataset: ds, Tokens: tokens, MetricsOpen: a.metricsOpen, MaxAge: maxAge, Poll: poll,
		MaxBodyBytes: a.maxBody, MaxPredictRows: a.maxPredictRows, MaxPageRows: a.maxPage, MaxStreams: a.maxStreams,
		Kinds: modelKinds(), Logger: slog.Default(),
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", a.addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	fmt.Fprintf(c.App.ErrWriter, "serving %s of %s on http://%s (%d tokens)\n", ds, st.URL(), ln.Addr(), len(tokens))
	return srv.Run(c.Context, ln)
}

// loadTokens reads the tokens of --tokens FILE and of PREVOIR_TOKENS
// (lines separated by ';'). A server needs at least one.
func loadTokens(file, env string) ([]serve.Token, error) {
	var tokens []serve.Token
	if file != "" {
		t, err := serve.ReadTokenFile(file)
		if err != nil {
			return nil, usageErrorf("--tokens: %v", err)
		}
		tokens = append(tokens, t...)
	}
	if env != "" {
		t, err := serve.ParseTokens(strings.NewReader(strings.ReplaceAll(env, ";", "\n")), "PREVOIR_TOKENS")
		if err != nil {
			return nil, usageErrorf("%v", err)
		}
		tokens = append(tokens, t...)
	}
	if len(tokens) == 0 {
		return nil, usageErrorf("serve: no token: pass --tokens FILE or set PREVOIR_TOKENS (one 'TOKEN SCOPE[,SCOPE...]' a line; scopes %s)", strings.Join(serve.Scopes, ", "))
	}
	return tokens, nil
}

// parseAge parses a Go duration or a number of days ("2d"); "" is 0.
func parseAge(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseFloat(d, 64)
		if err != nil || n <= 0 {
			return 0, errors.New("want a duration such as 36h or 2d")
		}
		return time.Duration(n * float64(24*time.Hour)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, errors.New("want a duration such as 36h or 2d")
	}
	return d, nil
}

// pullArgs are the flags of `prevoir scores pull`.
type pullArgs struct {
	from, tokenFile, sinceETag, output, table string
}

// scoresPullCommand is `prevoir scores pull`, a subcommand of scores.
func scoresPullCommand() *cli.Command {
	a := &pullArgs{}
	return &cli.Command{
		Name:      "pull",
		Usage:     "download a publication from a prevoir server as CSV, resuming after a broken connection",
		ArgsUsage: "TASK",
		Description: "Writes exactly the bytes `prevoir scores export TASK --format csv` writes. A broken connection is\n" +
			"resumed where it stopped, on the same publication. With --since-etag, nothing is written when the\n" +
			"publication has not changed. The ETag to pass next time is printed.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "from", Usage: "the server's `URL` (http://host:port)", Required: true, Destination: &a.from},
			&cli.StringFlag{Name: "token-file", Usage: "`FILE` holding the bearer token (else PREVOIR_TOKEN)", Destination: &a.tokenFile},
			&cli.StringFlag{Name: "since-etag", Usage: "the `ETAG` of the last pull: write nothing if unchanged", Destination: &a.sinceETag},
			&cli.StringFlag{Name: "table", Usage: "the publication's `TABLE` (default: its main one)", Destination: &a.table},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "`FILE` to write (written whole or not at all)", Required: true, Destination: &a.output},
		},
		Action: a.run,
	}
}

func (a *pullArgs) run(c *cli.Context) error {
	if err := needArgs(c, 1, 1, "TASK --from URL -o FILE"); err != nil {
		return err
	}
	token := os.Getenv("PREVOIR_TOKEN")
	if a.tokenFile != "" {
		b, err := os.ReadFile(a.tokenFile)
		if err != nil {
			return usageErrorf("--token-file: %v", err)
		}
		token = strings.TrimSpace(string(b))
	}
	tmp, err := os.CreateTemp(filepath.Dir(a.output), "."+filepath.Base(a.output)+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	res, err := serve.Pull(c.Context, serve.PullOptions{URL: a.from, Task: c.Args().First(), Table: a.table, Token: token,
		SinceETag: a.sinceETag, Client: &http.Client{}}, tmp)
	if err == nil {
		err = tmp.Chmod(0o644)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if wantJSON(c) {
		defer printJSON(c, res)
	}
	if res.NotModified {
		if !wantJSON(c) {
			fmt.Fprintf(out(c), "not modified since %s: %s left as it was\n", a.sinceETag, a.output)
		}
		return nil
	}
	if err := os.Rename(tmp.Name(), a.output); err != nil {
		return err
	}
	if !wantJSON(c) {
		fmt.Fprintf(out(c), "pulled %s as of %s: %d rows, %s, %d resumes, etag %s\n", a.output, res.AsOf, res.Rows, humanBytes(res.Bytes), res.Resume, res.ETag)
	}
	return nil
}
