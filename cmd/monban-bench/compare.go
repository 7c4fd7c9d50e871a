package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// runFile is what --json writes.
type runFile struct {
	URL     string   `json:"url"`
	Results []Result `json:"results"`
}

// compare prints, for each scenario both runs measured, the rates, their
// ratio (first / second) and the CPU per iteration of each side, the
// server's and PostgreSQL's (--compare FIRST.json,SECOND.json: monban
// and a reference provider, or two runs of monban). Each side may be a
// glob: the results of every file it matches are read.
func compare(arg string, stdout io.Writer) error {
	a, b, ok := strings.Cut(arg, ",")
	if !ok {
		return fmt.Errorf("--compare wants two files separated by a comma, got %q", arg)
	}
	var runs [2]runFile
	for i, pattern := range []string{a, b} {
		names, err := filepath.Glob(pattern)
		if err != nil || len(names) == 0 {
			return fmt.Errorf("--compare: no file matches %q", pattern)
		}
		for _, name := range names {
			f, err := readRuns(name)
			if err != nil {
				return err
			}
			runs[i].Results = append(runs[i].Results, f.Results...)
		}
	}
	fmt.Fprintf(stdout, "%-19s %10s %10s %7s %11s %9s %11s %9s\n", "scenario", "first /s", "second /s", "ratio",
		"1st CPU ms", "+ PG ms", "2nd CPU ms", "+ PG ms")
	for _, m := range runs[0].Results {
		for _, r := range runs[1].Results {
			if r.Scenario != m.Scenario || r.PerSecond == 0 {
				continue
			}
			fmt.Fprintf(stdout, "%-19s %10.0f %10.0f %7.2f %11.3f %9.3f %11.3f %9.3f\n", m.Scenario, m.PerSecond, r.PerSecond,
				m.PerSecond/r.PerSecond, m.CPUms, m.PGCPUms, r.CPUms, r.PGCPUms)
		}
	}
	return nil
}

// readRuns reads one --json file.
func readRuns(name string) (runFile, error) {
	var f runFile
	raw, err := os.ReadFile(name)
	if err != nil {
		return f, err
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		return f, fmt.Errorf("%s: %w", name, err)
	}
	return f, nil
}
