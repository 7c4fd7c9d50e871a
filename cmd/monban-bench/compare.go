package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

// runFile is what --json writes.
type runFile struct {
	URL     string   `json:"url"`
	Results []Result `json:"results"`
}

// compare prints, for each scenario both runs measured, the rates, their
// ratio (monban / reference) and the CPU per iteration of each side
// (--compare MONBAN.json,REFERENCE.json).
func compare(arg string, stdout io.Writer) error {
	a, b, ok := strings.Cut(arg, ",")
	if !ok {
		return fmt.Errorf("--compare wants two files separated by a comma, got %q", arg)
	}
	var runs [2]runFile
	for i, name := range []string{a, b} {
		raw, err := os.ReadFile(name)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(raw, &runs[i]); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	fmt.Fprintf(stdout, "%-19s %10s %10s %7s %14s %12s %12s\n", "scenario", "first /s", "second /s", "ratio", "1st CPU ms", "+ PG CPU ms", "2nd CPU ms")
	for _, m := range runs[0].Results {
		for _, r := range runs[1].Results {
			if r.Scenario != m.Scenario || r.PerSecond == 0 {
				continue
			}
			fmt.Fprintf(stdout, "%-19s %10.0f %10.0f %7.2f %14.3f %12.3f %12.3f\n", m.Scenario, m.PerSecond, r.PerSecond,
				m.PerSecond/r.PerSecond, m.CPUms, m.PGCPUms, r.CPUms)
		}
	}
	return nil
}
