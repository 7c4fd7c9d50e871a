package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// revocationCost prints, for each scenario measured both quiet and under
// --revoke-rate (--revocation-cost QUIET.json,REVOKING.json), the CPU per
// iteration of the server and of PostgreSQL: quiet, while revoking, and
// while revoking without the revocations' own cost. That cost (the
// revoker's transactions in PostgreSQL, the server's sweeping of the
// sessions it ended) is not the measured requests' doing; it comes from
// the idle scenario of both files (nothing but the revocations and
// background jobs), per revocation, times the revocations during the
// scenario, spread over its iterations.
func revocationCost(arg string, stdout io.Writer) error {
	q, r, ok := strings.Cut(arg, ",")
	if !ok {
		return fmt.Errorf("--revocation-cost wants two files separated by a comma, got %q", arg)
	}
	var runs [2]runFile
	for i, name := range []string{q, r} {
		f, err := readRuns(name)
		if err != nil {
			return err
		}
		runs[i] = f
	}
	quiet, revoking := runs[0].Results, runs[1].Results
	iq, iqOK := find(quiet, idleScenario)
	ir, irOK := find(revoking, idleScenario)
	if !iqOK || !irOK || ir.Revocations == 0 || ir.Seconds == 0 || iq.Seconds == 0 {
		return errors.New("--revocation-cost: both files need an idle scenario, the second with revocations")
	}
	// CPU (ms) per second of each side while idle; the difference per
	// revocation is the revocations' own cost.
	perRev := func(cpu func(Result) float64) float64 {
		busy := cpu(ir) * float64(ir.Iterations) / ir.Seconds
		still := cpu(iq) * float64(iq.Iterations) / iq.Seconds
		return (busy - still) / (float64(ir.Revocations) / ir.Seconds)
	}
	srvRev, pgRev := perRev(func(x Result) float64 { return x.CPUms }), perRev(func(x Result) float64 { return x.PGCPUms })
	fmt.Fprintf(stdout, "own cost of one revocation: server %.3f ms, PostgreSQL %.3f ms (idle: %d revocations in %.1f s)\n",
		srvRev, pgRev, ir.Revocations, ir.Seconds)
	fmt.Fprintf(stdout, "%-19s %7s %9s %7s %9s %9s %9s %9s %9s\n", "scenario", "rev/s", "CPU quiet", "+ PG", "revoking", "+ PG",
		"net", "+ PG", "net/quiet")
	for _, m := range quiet {
		x, ok := find(revoking, m.Scenario)
		if m.Scenario == idleScenario || !ok || x.Iterations == 0 || m.CPUms == 0 {
			continue
		}
		own := float64(x.Revocations) / float64(x.Iterations)
		netSrv, netPG := x.CPUms-own*srvRev, x.PGCPUms-own*pgRev
		fmt.Fprintf(stdout, "%-19s %7.0f %9.3f %7.3f %9.3f %9.3f %9.3f %9.3f %9.2f\n", m.Scenario, float64(x.Revocations)/x.Seconds,
			m.CPUms, m.PGCPUms, x.CPUms, x.PGCPUms, netSrv, netPG, (netSrv+netPG)/(m.CPUms+m.PGCPUms))
	}
	return nil
}

// find returns the result of scenario name.
func find(rs []Result, name string) (Result, bool) {
	for _, r := range rs {
		if r.Scenario == name {
			return r, true
		}
	}
	return Result{}, false
}
