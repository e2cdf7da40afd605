package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prevoir/prevoir/datasets/datatest"
)

// chromium finds Debian's chromium; without it the test is skipped with a
// message outside CI and failed in CI (.ci/run installs it).
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	datatest.Missing(t, "chromium is not installed (apt-get install chromium): the reports are not checked in a browser")
	return ""
}

// recordingProxy is an HTTP proxy on 127.0.0.1 that answers nothing and
// records the first line of every request: the browser is pointed at it,
// so any network request the page makes shows up here.
type recordingProxy struct {
	ln   net.Listener
	mu   sync.Mutex
	seen []string
}

func newRecordingProxy(t *testing.T) *recordingProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &recordingProxy{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				line, _ := bufio.NewReader(c).ReadString('\n')
				p.mu.Lock()
				p.seen = append(p.seen, strings.TrimSpace(line))
				p.mu.Unlock()
				fmt.Fprint(c, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
			}()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return p
}

// browserOwn are the hosts of chromium's own update and sign-in services,
// which it calls whatever page it shows (even with background networking
// off): a request to one of them is not the page's. The page itself is
// also checked to refer to nothing outside itself.
var browserOwn = []string{"update.googleapis.com", "accounts.google.com", "clients2.google.com"}

// requests returns the requests seen, except the browser's own.
func (p *recordingProxy) requests() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, r := range p.seen {
		f := strings.Fields(r)
		host := ""
		if len(f) > 1 {
			host = strings.TrimPrefix(strings.TrimPrefix(f[1], "http://"), "https://")
			host, _, _ = strings.Cut(host, "/")
			host, _, _ = strings.Cut(host, ":")
		}
		if !slices.Contains(browserOwn, host) {
			out = append(out, r)
		}
	}
	return out
}

// browse runs headless chromium on a file with a fresh profile, every
// request sent to the recording proxy, and returns stdout and stderr
// (console messages are logged there).
func browse(t *testing.T, bin string, proxy *recordingProxy, args ...string) (string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-extensions",
		"--user-data-dir=" + t.TempDir(), "--proxy-server=http://" + proxy.ln.Addr().String(), "--proxy-bypass-list=<-loopback>",
		"--enable-logging=stderr", "--v=0", "--hide-scrollbars",
		// The browser's own services stay quiet: only the page may ask for the network.
		"--disable-client-side-phishing-detection", "--disable-domain-reliability", "--no-pings", "--disable-breakpad",
		"--safebrowsing-disable-auto-update", "--metrics-recording-only", "--disable-default-apps",
		"--disable-features=Translate,OptimizationHints,MediaRouter,DialMediaRouteProvider,CertificateTransparencyComponentUpdater,AutofillServerCommunication,InterestFeedContentSuggestions,SigninInterceptBubble,ChromeSignin,NetworkTimeServiceQuerying,PrivacySandboxSettings4"}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), stderr.String()
}

// externalRE finds a reference the page would load: src, href (other
// than an anchor) or a CSS url().
var externalRE = regexp.MustCompile(`(?:\bsrc=|\bhref=|url\()["']?([^"'#)][^"')]*)`)

var consoleRE = regexp.MustCompile(`(?m)^.*(:CONSOLE|Uncaught|Failed to load resource).*$`)

// checkPage loads a report in chromium: the DOM has every expected id,
// no console message or network request, and the screenshot is not
// blank. It returns the screenshot's path.
func checkPage(t *testing.T, bin string, file string, ids []string, svgs int) string {
	t.Helper()
	proxy := newRecordingProxy(t)
	url := "file://" + file
	page, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range externalRE.FindAllSubmatch(page, -1) {
		t.Errorf("%s refers to %s", filepath.Base(file), m[1])
	}
	dom, errOut := browse(t, bin, proxy, "--dump-dom", url)
	for _, id := range ids {
		if !strings.Contains(dom, `id="`+id+`"`) {
			t.Errorf("%s: the DOM has no element %q", filepath.Base(file), id)
		}
	}
	if n := strings.Count(dom, "<svg"); n < svgs {
		t.Errorf("%s: %d plots in the DOM, want at least %d", filepath.Base(file), n, svgs)
	}
	for _, m := range consoleRE.FindAllString(errOut, -1) {
		t.Errorf("%s: browser console: %s", filepath.Base(file), m)
	}
	shot := filepath.Join(t.TempDir(), strings.TrimSuffix(filepath.Base(file), ".html")+".png")
	browse(t, bin, proxy, "--window-size=1280,2400", "--screenshot="+shot, url)
	if r := proxy.requests(); len(r) > 0 {
		t.Errorf("%s: the page made network requests: %q", filepath.Base(file), r)
	}
	checkNotBlank(t, shot)
	return shot
}

// checkNotBlank: the screenshot has dark text and colour, not one flat
// colour.
func checkNotBlank(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	b := img.Bounds()
	var dark, coloured, total int
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, _ := img.At(x, y).RGBA()
			r, g, bl = r>>8, g>>8, bl>>8
			total++
			if r < 90 && g < 90 && bl < 90 {
				dark++
			}
			if max(r, g, bl)-min(r, g, bl) > 60 {
				coloured++
			}
		}
	}
	if dark*200 < total || coloured*1000 < total {
		t.Errorf("%s looks blank: %d dark and %d coloured pixels of %d sampled", path, dark, coloured, total)
	}
}

// TestReportsInChromium makes both reports from a generated history (two
// churn models, two publications) and checks them in headless chromium.
// With PREVOIR_REPORT_SCREENSHOTS=DIR it also copies the screenshots
// there (how docs/img/*-report.png are made).
func TestReportsInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("generates a history and runs a browser; skipped under -short")
	}
	bin := chromium(t)
	dir := t.TempDir()
	store := filepath.Join(dir, "store")
	cli := cliIn(t, store)
	cli("datasets", "generate", "--name", "demo", "--customers", "3000", "--seed", "7", "--end", "2025-01-01", "--days", "700")
	cli("train", "--task", "churn", "--as-of", "2024-10-01", "--cutoffs", "3", "--step", "120d", "--name", "churn", "--c", "0.1,1", "--promote", "champion")
	cli("train", "--task", "churn", "--as-of", "2024-10-01", "--cutoffs", "3", "--step", "120d", "--name", "churn", "--c", "0.01", "--drop", "recency_days")
	cli("score", "--task", "churn", "--model", "churn@champion", "--as-of", "2024-10-01")
	cli("score", "--task", "churn", "--model", "churn@champion", "--as-of", "2025-01-01")

	models := filepath.Join(dir, "models-report.html")
	var res struct {
		File     string   `json:"file"`
		Sections []string `json:"sections"`
	}
	if err := json.Unmarshal([]byte(cli("--json", "models", "report", "churn@1", "churn@2", "-o", models)), &res); err != nil || res.File != models || len(res.Sections) < 10 {
		t.Fatalf("models report --json: %+v, %v", res, err)
	}
	single := filepath.Join(dir, "model-report.html")
	cli("models", "report", "churn@champion", "-o", single)
	scores := filepath.Join(dir, "scores-report.html")
	if out := cli("scores", "report", "churn", "-o", scores); !strings.Contains(out, "wrote "+scores) {
		t.Errorf("scores report said %q", out)
	}

	// A customer-value model's report: parameters, calibration/holdout.
	cli("train", "--task", "clv", "--as-of", "2024-10-01", "--horizon", "13w", "--name", "value")
	clvReport := filepath.Join(dir, "clv-report.html")
	cli("models", "report", "value@1", "-o", clvReport)

	// The nightly run's report (the churn champion's task).
	runReport := filepath.Join(dir, "run-report.html")
	cli("run", "--as-of", "2025-01-01", "--report", runReport)

	// A demand count model's and a propensity model's reports (the
	// flags of make run; trained after the run, not promoted, so the run
	// above publishes churn only).
	cli("train", "--task", "demand", "--as-of", "2024-12-01", "--cutoffs", "4", "--step", "4w", "--top-products", "200", "--name", "demand")
	demandReport := filepath.Join(dir, "demand-model-report.html")
	cli("models", "report", "demand@1", "-o", demandReport)
	cli("train", "--task", "propensity", "--as-of", "2024-12-01", "--cutoffs", "3", "--step", "30d", "--name", "offers")
	offersReport := filepath.Join(dir, "propensity-model-report.html")
	cli("models", "report", "offers@1", "-o", offersReport)

	var shots []string
	modelIDs := []string{"comparison", "comparison-roc", "comparison-gains", "diff-churn-2"}
	for _, m := range []string{"churn-1", "churn-2"} {
		modelIDs = append(modelIDs, "model-"+m, m+"-metrics", m+"-roc", m+"-pr", m+"-calibration", m+"-gains", m+"-lift", m+"-distribution", m+"-coefficients")
	}
	shots = append(shots, checkPage(t, bin, models, modelIDs, 2+2*7))
	shots = append(shots, checkPage(t, bin, single, modelIDs[4:13], 7))
	shots = append(shots, checkPage(t, bin, scores, []string{"publication", "distribution", "churn-distribution", "bands", "churn-bands", "top", "changes"}, 2))
	shots = append(shots, checkPage(t, bin, clvReport, []string{"model-value-1", "value-1-parameters", "value-1-holdout", "value-1-calibration-holdout"}, 1))
	shots = append(shots, checkPage(t, bin, demandReport, []string{"model-demand-1", "demand-1-backtest", "demand-1-steps", "demand-1-wape-steps", "demand-1-coverage-steps", "demand-1-forecast", "demand-1-forecast-1", "demand-1-forecast-3", "demand-1-fit"}, 5))
	shots = append(shots, checkPage(t, bin, offersReport, []string{"model-offers-1", "offers-1-metrics", "offers-1-roc", "offers-1-calibration", "offers-1-ranking", "offers-1-ranking-bars"}, 7))
	shots = append(shots, checkPage(t, bin, runReport, []string{"outcome", "stages", "run-stages", "tasks"}, 1))

	if out := os.Getenv("PREVOIR_REPORT_SCREENSHOTS"); out != "" {
		for _, s := range shots {
			b, err := os.ReadFile(s)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(out, filepath.Base(s)), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestBrowserChecksCatchLeaks: the recording proxy sees a page's request
// for an external image and the console check sees a script's error, so
// both checks of TestReportsInChromium can fail.
func TestBrowserChecksCatchLeaks(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a browser; skipped under -short")
	}
	bin := chromium(t)
	page := filepath.Join(t.TempDir(), "leak.html")
	if err := os.WriteFile(page, []byte(`<!DOCTYPE html><html><body><p>x</p><img src="http://reports.example/x.png"><script>console.error("boom")</script></body></html>`), 0o644); err != nil {
		t.Fatal(err)
	}
	if !externalRE.MatchString(`<img src="http://reports.example/x.png">`) {
		t.Error("the static check does not see an external image")
	}
	proxy := newRecordingProxy(t)
	_, errOut := browse(t, bin, proxy, "--dump-dom", "file://"+page)
	if m := consoleRE.FindString(errOut); !strings.Contains(m, "boom") {
		t.Errorf("the console check found %q, not the script's error", m)
	}
	found := false
	for _, r := range proxy.requests() {
		found = found || strings.Contains(r, "reports.example")
	}
	if !found {
		t.Errorf("the proxy saw %q, not the page's image request", proxy.requests())
	}
}

// TestCurvesOnlyWhereAsked: the curve points train now records are
// plotted by `models report` (also for a --table model, which has no
// baseline) and stay out of `models show` and `models diff` unless --all.
func TestCurvesOnlyWhereAsked(t *testing.T) {
	store := t.TempDir()
	cli := cliIn(t, store)
	for _, c := range []string{"1", "0.1"} {
		cli("train", "--table", "../../testdata/train/small.csv", "--label", "churned", "--positive", "yes", "--id", "customer_id",
			"--categorical", "code", "--drop", "w", "--min-class", "10", "-c", c, "--name", "small")
	}
	if out := cli("models", "show", "small@1"); strings.Contains(out, "fpr") || strings.Contains(out, "curves") {
		t.Errorf("models show prints curve points:\n%s", out)
	}
	if out := cli("models", "show", "small@1", "--all"); !strings.Contains(out, "fpr") {
		t.Errorf("models show --all has no curve points:\n%s", out)
	}
	if out := cli("models", "diff", "small@1", "small@2"); strings.Contains(out, "curves") || !strings.Contains(out, "curve points; --all shows them") {
		t.Errorf("models diff lists curve points:\n%s", out)
	}
	if out := cli("models", "diff", "small@1", "small@2", "--all"); !strings.Contains(out, "metrics.holdout.curves.fpr") {
		t.Errorf("models diff --all does not list curve points:\n%s", out)
	}
	html := filepath.Join(t.TempDir(), "r.html")
	cli("models", "report", "small@1", "small@2", "-o", html)
	b, err := os.ReadFile(html)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"comparison-roc", "small-1-roc", "small-2-calibration", "small-1-coefficients"} {
		if !strings.Contains(string(b), `id="`+id+`"`) {
			t.Errorf("the report has no %s", id)
		}
	}
	if strings.Contains(string(b), "Baseline, holdout") {
		t.Error("a --table model's report shows a baseline it does not have")
	}
	if code, _, errOut := runCLI(t, "--store", store, "models", "report", "small@1"); code != 2 || !strings.Contains(errOut, "output") {
		t.Errorf("models report without -o: exit %d, %s", code, errOut)
	}
}
