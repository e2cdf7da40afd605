package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"time"
)

// sample is one run of a timed command.
type sample struct {
	wall, cpu, peakMiB float64
	rc                 int
}

// stats is the min, median and max of one figure over the timed runs.
type stats struct {
	Min    float64 `json:"min"`
	Median float64 `json:"median"`
	Max    float64 `json:"max"`
}

// timing is what `kit timeit` prints: one JSON line.
type timing struct {
	Label   string `json:"label"`
	N       int    `json:"n"`
	RC      []int  `json:"rc"`
	Wall    stats  `json:"wall"`
	CPU     stats  `json:"cpu"`
	PeakMiB stats  `json:"peak_mib"`
}

// timeitCmd runs a command -warmup times untimed, then -n times, and
// prints wall seconds, CPU seconds (user + system) and peak resident
// memory (the largest of the process and the descendants it waited for,
// as wait4's rusage reports it), each as min, median and max.
func timeitCmd(args []string) error {
	fs := flag.NewFlagSet("timeit", flag.ContinueOnError)
	n := fs.Int("n", 3, "timed runs")
	warmup := fs.Int("warmup", 1, "untimed runs first")
	label := fs.String("label", "", "label in the output (default: the command)")
	logPath := fs.String("log", "", "append the command's stdout and stderr here (default: discard)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cmd := fs.Args()
	if len(cmd) == 0 {
		return fmt.Errorf("timeit: no command")
	}
	if *n < 1 || *warmup < 0 {
		return fmt.Errorf("timeit: -n must be at least 1 and -warmup at least 0")
	}
	t, err := timeit(cmd, *n, *warmup, *logPath)
	if err != nil {
		return err
	}
	t.Label = *label
	if t.Label == "" {
		t.Label = fmt.Sprint(cmd)
	}
	b, err := json.Marshal(t)
	if err != nil {
		return err
	}
	fmt.Println(string(b))
	return nil
}

func timeit(cmd []string, n, warmup int, logPath string) (timing, error) {
	var out io.Writer
	if logPath != "" {
		f, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			return timing{}, err
		}
		defer f.Close()
		out = f
	}
	var runs []sample
	for i := range warmup + n {
		s, err := runOnce(cmd, out)
		if err != nil {
			return timing{}, err
		}
		if i >= warmup {
			runs = append(runs, s)
		}
	}
	t := timing{N: n}
	pick := func(f func(sample) float64) stats {
		v := make([]float64, len(runs))
		for i, r := range runs {
			v[i] = f(r)
		}
		return summarize(v)
	}
	t.Wall = pick(func(s sample) float64 { return s.wall })
	t.CPU = pick(func(s sample) float64 { return s.cpu })
	t.PeakMiB = pick(func(s sample) float64 { return s.peakMiB })
	for _, r := range runs {
		if !slices.Contains(t.RC, r.rc) {
			t.RC = append(t.RC, r.rc)
		}
	}
	slices.Sort(t.RC)
	return t, nil
}

// runOnce runs cmd with stdin from /dev/null and its output to out (nil:
// discarded). A command that runs and fails is a sample with its exit
// code; one that cannot start is an error.
func runOnce(cmd []string, out io.Writer) (sample, error) {
	c := exec.Command(cmd[0], cmd[1:]...)
	c.Stdout, c.Stderr = out, out
	start := time.Now()
	if err := c.Start(); err != nil {
		return sample{}, err
	}
	err := c.Wait()
	wall := time.Since(start).Seconds()
	if _, exit := err.(*exec.ExitError); err != nil && !exit {
		return sample{}, err
	}
	s := sample{wall: wall, rc: c.ProcessState.ExitCode()}
	if ru, ok := c.ProcessState.SysUsage().(*syscall.Rusage); ok {
		s.cpu = tv(ru.Utime) + tv(ru.Stime)
		s.peakMiB = float64(ru.Maxrss) / 1024 // Linux reports KiB
	}
	return s, nil
}

func tv(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }

// summarize gives min, median (the mean of the middle two for an even
// count) and max, rounded to milliseconds.
func summarize(v []float64) stats {
	s := slices.Clone(v)
	slices.Sort(s)
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	r := func(x float64) float64 { return math.Round(x*1000) / 1000 }
	return stats{Min: r(s[0]), Median: r(m), Max: r(s[len(s)-1])}
}

// fieldCmd prints one value of a JSON object: `kit field '{"wall":{"median":1}}' wall.median`.
func fieldCmd(args []string) error {
	if len(args) != 2 {
		return fmt.Errorf("usage: kit field JSON KEY[.KEY...]")
	}
	var v any
	if err := json.Unmarshal([]byte(args[0]), &v); err != nil {
		return fmt.Errorf("field: %w", err)
	}
	for _, k := range strings.Split(args[1], ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("field: %q: not an object at %q", args[1], k)
		}
		if v, ok = m[k]; !ok {
			return fmt.Errorf("field: no key %q", k)
		}
	}
	switch x := v.(type) {
	case string:
		fmt.Println(x)
	default:
		b, _ := json.Marshal(x)
		fmt.Println(string(b))
	}
	return nil
}
