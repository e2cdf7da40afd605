package main

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"

	"github.com/urfave/cli/v2"
)

// profileFlags let a user who reports a slow or large run send what it
// spent: Go's pprof profiles, read with `go tool pprof`.
func profileFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "cpuprofile", EnvVars: []string{"PREVOIR_CPUPROFILE"}, Usage: "write a CPU profile of the command to `FILE` (go tool pprof)"},
		&cli.StringFlag{Name: "memprofile", EnvVars: []string{"PREVOIR_MEMPROFILE"}, Usage: "write a heap profile (allocations and what is live at the end) to `FILE` when the command ends"},
	}
}

// profiler is the profiling a command line asked for.
type profiler struct {
	cpu *os.File
}

// start begins the CPU profile, if asked.
func (p *profiler) start(c *cli.Context) error {
	name := c.String("cpuprofile")
	if name == "" {
		return nil
	}
	f, err := os.Create(name)
	if err != nil {
		return fmt.Errorf("--cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return fmt.Errorf("--cpuprofile: %w", err)
	}
	p.cpu = f
	return nil
}

// stop ends the CPU profile and writes the heap profile, if asked.
func (p *profiler) stop(c *cli.Context) error {
	var errs []error
	if p.cpu != nil {
		pprof.StopCPUProfile()
		errs = append(errs, p.cpu.Close())
		p.cpu = nil
	}
	if name := c.String("memprofile"); name != "" {
		f, err := os.Create(name)
		if err != nil {
			return fmt.Errorf("--memprofile: %w", err)
		}
		runtime.GC() // the live heap as of the end
		errs = append(errs, pprof.Lookup("allocs").WriteTo(f, 0), f.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("profile: %w", err)
	}
	return nil
}
