package main

import (
	"time"

	"github.com/monban-idp/monban/storage/postgres/pgproc"
)

// cpuMeter measures the server's and the database's CPU over a scenario.
type cpuMeter struct {
	pid, pgPid int
	srv, pg    time.Duration
}

func startCPU(pid, pgPid int) cpuMeter {
	return cpuMeter{pid: pid, pgPid: pgPid, srv: pgproc.CPU(pid, false), pg: pgproc.TreeCPU(pgPid)}
}

// since returns the CPU time the server and PostgreSQL spent since the
// meter started (0 for what is not measured).
func (m cpuMeter) since() (srv, pg time.Duration) {
	if m.pid > 0 {
		srv = pgproc.CPU(m.pid, false) - m.srv
	}
	if m.pgPid > 0 {
		pg = pgproc.TreeCPU(m.pgPid) - m.pg
	}
	return srv, pg
}

// perIteration is d per iteration in milliseconds (0 without iterations).
func perIteration(d time.Duration, iterations int) float64 {
	if iterations == 0 {
		return 0
	}
	return float64(d) / float64(time.Millisecond) / float64(iterations)
}
