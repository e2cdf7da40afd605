package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestProfileFlags: --cpuprofile and --memprofile, anywhere on the line,
// write pprof profiles (gzip-compressed protocol buffers) when the
// command ends; a profile that cannot be created is an error.
func TestProfileFlags(t *testing.T) {
	dir := t.TempDir()
	cpu, mem := filepath.Join(dir, "cpu.pprof"), filepath.Join(dir, "mem.pprof")
	if code, _, errOut := runCLI(t, "--store", dir, "status", "--cpuprofile", cpu, "--memprofile", mem); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, f := range []string{cpu, mem} {
		b, err := os.ReadFile(f)
		if err != nil || !bytes.HasPrefix(b, []byte{0x1f, 0x8b}) {
			t.Errorf("%s: %d bytes, %v: want a gzip-compressed profile", f, len(b), err)
		}
	}
	if code, _, _ := runCLI(t, "--cpuprofile", filepath.Join(dir, "no", "such", "dir", "p"), "version"); code == 0 {
		t.Error("an uncreatable --cpuprofile was accepted")
	}
}
