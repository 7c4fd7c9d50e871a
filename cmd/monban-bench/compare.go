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
//
// Sides written LABEL=FILES (and any list of more than two) print the
// first side against the fastest of the others instead (compareMany).
func compare(arg string, stdout io.Writer) error {
	specs, err := parseSides(arg)
	if err != nil {
		return err
	}
	sides := make([]side, len(specs))
	for i, sp := range specs {
		if sides[i], err = readSide(sp); err != nil {
			return err
		}
	}
	if len(sides) > 2 || sides[0].label != "" {
		compareMany(sides, stdout)
		return nil
	}
	fmt.Fprintf(stdout, "%-19s %10s %10s %7s %11s %9s %11s %9s\n", "scenario", "first /s", "second /s", "ratio",
		"1st CPU ms", "+ PG ms", "2nd CPU ms", "+ PG ms")
	for _, m := range sides[0].results {
		for _, r := range sides[1].results {
			if r.Scenario != m.Scenario || r.PerSecond == 0 {
				continue
			}
			fmt.Fprintf(stdout, "%-19s %10.0f %10.0f %7.2f %11.3f %9.3f %11.3f %9.3f\n", m.Scenario, m.PerSecond, r.PerSecond,
				m.PerSecond/r.PerSecond, m.CPUms, m.PGCPUms, r.CPUms, r.PGCPUms)
		}
	}
	return nil
}

// side is one column of a comparison: a label (empty for the plain
// two-file form) and the results of the files its pattern matched.
type side struct {
	label, pattern string
	results        []Result
}

// parseSides splits --compare's argument: comma-separated sides, each
// FILES or LABEL=FILES. Either every side is labelled or none is, and
// more than two sides need labels (the table names its columns by them).
func parseSides(arg string) ([]side, error) {
	parts := strings.Split(arg, ",")
	if len(parts) < 2 {
		return nil, fmt.Errorf("--compare wants two files separated by a comma, got %q", arg)
	}
	sides := make([]side, len(parts))
	labelled := 0
	for i, p := range parts {
		label, pattern, ok := strings.Cut(p, "=")
		if !ok {
			label, pattern = "", p
		} else if label == "" {
			return nil, fmt.Errorf("--compare: empty label in %q", p)
		} else {
			labelled++
		}
		if pattern == "" {
			return nil, fmt.Errorf("--compare: no files in %q", p)
		}
		sides[i] = side{label: label, pattern: pattern}
	}
	if labelled != 0 && labelled != len(sides) || labelled == 0 && len(sides) > 2 {
		return nil, fmt.Errorf("--compare %q: label every side (LABEL=FILES) or none, and more than two sides need labels", arg)
	}
	return sides, nil
}

// readSide reads the results of every file sp's pattern matches.
func readSide(sp side) (side, error) {
	names, err := filepath.Glob(sp.pattern)
	if err != nil || len(names) == 0 {
		return sp, fmt.Errorf("--compare: no file matches %q", sp.pattern)
	}
	for _, name := range names {
		f, err := readRuns(name)
		if err != nil {
			return sp, err
		}
		sp.results = append(sp.results, f.Results...)
	}
	return sp, nil
}

// find returns the side's result of scenario.
func (s side) find(scenario string) (Result, bool) {
	for _, r := range s.results {
		if r.Scenario == scenario {
			return r, true
		}
	}
	return Result{}, false
}

// fastest returns the index in refs of the reference that ran scenario
// at the highest rate without errors (a run of failures is fast and
// proves nothing), or -1 when none did.
func fastest(refs []side, scenario string) int {
	best := -1
	var rate float64
	for i, s := range refs {
		if r, ok := s.find(scenario); ok && r.Errors == 0 && r.PerSecond > rate {
			best, rate = i, r.PerSecond
		}
	}
	return best
}

// compareMany prints, for each scenario of the first side (monban), every
// side's rate, which reference was the faster, monban's ratio to it and
// every side's CPU per iteration (+ PostgreSQL's where measured). A rate
// marked ! had errors and is not counted as the faster; - is not run.
func compareMany(sides []side, stdout io.Writer) {
	first, refs := sides[0], sides[1:]
	width := func(label string) int { return max(len(label), 9) }
	longest := 7
	fmt.Fprintf(stdout, "%-19s", "scenario")
	for _, s := range sides {
		fmt.Fprintf(stdout, " %*s", width(s.label)+1, s.label)
		longest = max(longest, len(s.label))
	}
	fmt.Fprintf(stdout, "  %-*s %6s   CPU ms per iteration:", longest, "faster", "ratio")
	for _, s := range sides {
		fmt.Fprintf(stdout, " %*s", width(s.label)+6, s.label)
	}
	fmt.Fprintln(stdout)
	for _, m := range first.results {
		fmt.Fprintf(stdout, "%-19s", m.Scenario)
		for _, s := range sides {
			r, ok := s.find(m.Scenario)
			switch {
			case !ok:
				fmt.Fprintf(stdout, " %*s", width(s.label)+1, "-")
			case r.Errors > 0:
				fmt.Fprintf(stdout, " %*.0f!", width(s.label), r.PerSecond)
			default:
				fmt.Fprintf(stdout, " %*.0f", width(s.label)+1, r.PerSecond)
			}
		}
		if i := fastest(refs, m.Scenario); i >= 0 {
			r, _ := refs[i].find(m.Scenario)
			fmt.Fprintf(stdout, "  %-*s %6.2f", longest, refs[i].label, m.PerSecond/r.PerSecond)
		} else {
			fmt.Fprintf(stdout, "  %-*s %6s", longest, "none", "-")
		}
		fmt.Fprintf(stdout, "   %21s", "")
		for _, s := range sides {
			cpu := "-"
			if r, ok := s.find(m.Scenario); ok && r.PGCPUms > 0 {
				cpu = fmt.Sprintf("%.3f + %.3f", r.CPUms, r.PGCPUms)
			} else if ok {
				cpu = fmt.Sprintf("%.3f", r.CPUms)
			}
			fmt.Fprintf(stdout, " %*s", width(s.label)+6, cpu)
		}
		fmt.Fprintln(stdout)
	}
	fmt.Fprintf(stdout, "ratio: %s / the faster reference; ! had errors (never the faster); - not run\n", first.label)
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
